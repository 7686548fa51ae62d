"""Bulk actions of the lead and deal lists (engine: crm.bulk), and the follow-up activity
action the customer list shares."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.bulk import (
    BulkAction,
    BulkKind,
    bulk_kind_register,
    list_request,
    owner_field,
    team_field,
)
from crm.roles import MANAGER, SALES_REP
from sales.models import Activity, Lead
from sales.services import (
    LEAD_SETTABLE_STATUSES,
    activity_log,
    lead_set_status,
    lead_update,
    opportunity_update,
)
from sales.views import (
    LEAD_EXPORT_COLUMNS,
    OPPORTUNITY_EXPORT_COLUMNS,
    _filtered_opportunities,
    _lead_filter,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A follow-up due on a day is due at this local hour.
FOLLOW_UP_HOUR = 9


def _follow_up_fields(user: User) -> dict[str, forms.Field]:
    return {
        "activity_kind": forms.ChoiceField(
            choices=Activity.Kind.choices, initial=Activity.Kind.TASK, label=_("Kind")
        ),
        "subject": forms.CharField(max_length=200, label=_("Subject")),
        "due_on": forms.DateField(
            label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"})
        ),
    }


def follow_up_action(target: str) -> BulkAction:
    """ "Add a follow-up activity" on the record (`target`: customer, lead or opportunity),
    owned by the person acting, through activity_log."""

    def apply(record: Any, values: dict[str, Any], actor: User) -> None:
        due_at = timezone.make_aware(dt.datetime.combine(values["due_on"], dt.time(FOLLOW_UP_HOUR)))
        activity_log(
            kind=values["activity_kind"],
            subject=values["subject"],
            owner=actor,
            due_at=due_at,
            is_bulk=True,
            **{target: record},
        )

    return BulkAction("add_activity", _("Add a follow-up activity"), apply, _follow_up_fields)


def assign_owner_action(update: Any, record_arg: str, reassign: Any = None) -> BulkAction:
    """Hand the records to another owner through their update service, or a chunk at a time
    through `reassign(<plural record_arg>=..., owner=..., actor=...)` where the app has one."""
    return BulkAction(
        "assign_owner",
        _("Assign owner"),
        lambda record, values, actor: update(
            **{record_arg: record}, owner=values["owner"], actor=actor
        ),
        owner_field,
        _chunk_call(reassign, record_arg, "owner"),
    )


def assign_team_action(update: Any, record_arg: str, reassign: Any = None) -> BulkAction:
    return BulkAction(
        "assign_team",
        _("Assign team"),
        lambda record, values, actor: update(
            **{record_arg: record}, team=values["team"], actor=actor
        ),
        team_field,
        _chunk_call(reassign, record_arg, "team"),
    )


def _chunk_call(reassign: Any, record_arg: str, name: str) -> Any:
    if reassign is None:
        return None
    return lambda records, values, actor: reassign(
        **{f"{record_arg}s": records, name: values[name]}, actor=actor
    )


# --- leads -------------------------------------------------------------------------------------


def lead_selection(user: Any, query: QueryDict) -> Any:
    return _lead_filter(list_request(user, query)).qs


def _lead_status_fields(user: User) -> dict[str, forms.Field]:
    choices = [(status.value, status.label) for status in LEAD_SETTABLE_STATUSES]
    return {"status": forms.ChoiceField(choices=choices, label=_("Status"))}


def _lead_status_apply(record: Lead, values: dict[str, Any], actor: User) -> None:
    lead_set_status(lead=record, status=values["status"], actor=actor)


bulk_kind_register(
    BulkKind(
        key="leads",
        label=_("Leads"),
        roles=(SALES_REP, MANAGER),
        list_url_name="sales:lead_list",
        selection=lead_selection,
        export_columns=LEAD_EXPORT_COLUMNS,
        export_filename="leads",
        actions=(
            assign_owner_action(lead_update, "lead"),
            assign_team_action(lead_update, "lead"),
            BulkAction(
                "change_status", _("Change status"), _lead_status_apply, _lead_status_fields
            ),
            follow_up_action("lead"),
        ),
    )
)


# --- deals -------------------------------------------------------------------------------------


def deal_selection(user: Any, query: QueryDict) -> Any:
    return _filtered_opportunities(list_request(user, query))[0]


bulk_kind_register(
    BulkKind(
        key="deals",
        label=_("Deals"),
        roles=(SALES_REP, MANAGER),
        list_url_name="sales:index",
        selection=deal_selection,
        export_columns=OPPORTUNITY_EXPORT_COLUMNS,
        export_filename="deals",
        # activity_log reads the deal's customer.
        related=("customer",),
        actions=(
            assign_owner_action(opportunity_update, "opportunity"),
            assign_team_action(opportunity_update, "opportunity"),
            follow_up_action("opportunity"),
        ),
    )
)

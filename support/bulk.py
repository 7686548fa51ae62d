"""Bulk actions of the ticket queue (engine: crm.bulk)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from crm.bulk import BulkAction, BulkKind, bulk_kind_register, list_request, team_field
from crm.roles import MANAGER, SUPPORT_AGENT
from support.forms import ticket_assignees
from support.models import Ticket
from support.services import ticket_assign, ticket_status_change
from support.views import EXPORT_COLUMNS, _queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def ticket_selection(user: Any, query: QueryDict) -> Any:
    return _queue(list_request(user, query))["tickets"]


def _assignee_fields(user: User) -> dict[str, forms.Field]:
    return {"assignee": forms.ModelChoiceField(queryset=ticket_assignees(), label=_("Assignee"))}


def _status_fields(user: User) -> dict[str, forms.Field]:
    return {"status": forms.ChoiceField(choices=Ticket.Status.choices, label=_("Status"))}


bulk_kind_register(
    BulkKind(
        key="tickets",
        label=_("Tickets"),
        roles=(SUPPORT_AGENT, MANAGER),
        list_url_name="support:index",
        selection=ticket_selection,
        export_columns=EXPORT_COLUMNS,
        export_filename="tickets",
        related=("assignee",),
        actions=(
            BulkAction(
                "assign_owner",
                _("Assign to"),
                lambda record, values, actor: ticket_assign(
                    ticket=record, assignee=values["assignee"], actor=actor
                ),
                _assignee_fields,
            ),
            BulkAction(
                "assign_team",
                _("Assign team"),
                # The assignee stays: ticket_assign sets both, so pass the current one.
                lambda record, values, actor: ticket_assign(
                    ticket=record, assignee=record.assignee, team=values["team"], actor=actor
                ),
                team_field,
            ),
            BulkAction(
                "change_status",
                _("Change status"),
                lambda record, values, actor: ticket_status_change(
                    ticket=record, to_status=values["status"], actor=actor
                ),
                _status_fields,
            ),
        ),
    )
)

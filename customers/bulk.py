"""Bulk actions of the customer list (engine: crm.bulk)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.bulk import BulkAction, BulkKind, bulk_kind_register, list_request
from crm.roles import MANAGER, SALES_REP
from customers.models import Customer, Segment
from customers.services import customer_update, customers_reassign
from customers.views import EXPORT_COLUMNS, _filtered_customers
from sales.bulk import assign_owner_action, assign_team_action, follow_up_action
from sales.models import RetentionCase
from sales.services import retention_case_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def customer_selection(user: Any, query: QueryDict) -> Any:
    return _filtered_customers(list_request(user, query), with_menus=False)[2]


def _segment_fields(user: User) -> dict[str, forms.Field]:
    return {
        "segment": forms.ModelChoiceField(
            queryset=Segment.objects.order_by("name"), label=gettext_lazy("Segment")
        )
    }


def _status_fields(user: User) -> dict[str, forms.Field]:
    return {
        "status": forms.ChoiceField(choices=Customer.Status.choices, label=gettext_lazy("Status"))
    }


def _retention_fields(user: User) -> dict[str, forms.Field]:
    return {"reason": forms.CharField(max_length=200, label=gettext_lazy("Reason"))}


def _retention_open(record: Customer, values: dict[str, Any], actor: User) -> None:
    # A mass action must not stack a second open case on a customer someone already works on.
    if RetentionCase.objects.filter(
        customer_id=record.pk, status=RetentionCase.Status.OPEN
    ).exists():
        raise ValidationError(_("This customer already has an open retention case."))
    retention_case_open(customer=record, owner=actor, reason=values["reason"])


# Also offered on the other lists of customers (kpis.bulk: a cell of the segment movement).
OPEN_RETENTION_CASE = BulkAction(
    "open_retention_case",
    gettext_lazy("Open retention cases"),
    _retention_open,
    _retention_fields,
)


bulk_kind_register(
    BulkKind(
        key="customers",
        label=gettext_lazy("Customers"),
        roles=(SALES_REP, MANAGER),
        list_url_name="customers:list",
        selection=customer_selection,
        export_columns=EXPORT_COLUMNS,
        export_filename="customers",
        actions=(
            assign_owner_action(customer_update, "customer", customers_reassign),
            assign_team_action(customer_update, "customer", customers_reassign),
            BulkAction(
                "change_segment",
                gettext_lazy("Change segment"),
                lambda record, values, actor: customer_update(
                    customer=record, segment=values["segment"], actor=actor
                ),
                _segment_fields,
            ),
            BulkAction(
                "change_status",
                gettext_lazy("Change status"),
                lambda record, values, actor: customer_update(
                    customer=record, status=values["status"], actor=actor
                ),
                _status_fields,
            ),
            OPEN_RETENTION_CASE,
            follow_up_action("customer"),
        ),
    )
)

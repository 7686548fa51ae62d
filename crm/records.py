"""The records a URL can name by kind ("customer", "deal" …): their model, the rule of who may see
them and their page. Shared by the pages that hang off any record (attachments, history)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.selectors import customers_visible_to
from sales.models import Lead, Opportunity, Order
from sales.selectors import leads_visible_to, opportunities_visible_to, orders_visible_to
from support.models import Ticket
from support.selectors import tickets_visible_to

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class RecordKind:
    kind: str
    model: type[models.Model]
    label: Promise
    visible_to: Callable[[User], QuerySet[Any]]
    # The record's page; None where a kind has no page of its own (its customer's page instead).
    url_name: str | None

    def url(self, record: models.Model) -> str:
        if self.url_name is None:
            customer_id = getattr(record, "customer_id", None)
            return reverse("customers:detail", args=[customer_id]) if customer_id else ""
        return reverse(self.url_name, args=[record.pk])


RECORD_KINDS: dict[str, RecordKind] = {
    kind.kind: kind
    for kind in (
        RecordKind("customer", Customer, _("Customer"), customers_visible_to, "customers:detail"),
        RecordKind("lead", Lead, _("Lead"), leads_visible_to, "sales:lead_detail"),
        RecordKind(
            "deal", Opportunity, _("Deal"), opportunities_visible_to, "sales:opportunity_detail"
        ),
        RecordKind("order", Order, _("Order"), orders_visible_to, "sales:order_detail"),
        RecordKind("ticket", Ticket, _("Ticket"), tickets_visible_to, "support:ticket_detail"),
    )
}


def record_kind_of(record: models.Model) -> RecordKind:
    for kind in RECORD_KINDS.values():
        if isinstance(record, kind.model):
            return kind
    raise LookupError(f"{record._meta.label} is not a record kind")


def visible_record(user: User, kind: str, pk: int) -> tuple[RecordKind, models.Model]:
    """The record of `kind` and `pk` if the user may see it; 404 for an unknown kind, a missing
    record and a record of another team alike (the answer must not reveal which)."""
    record_kind = RECORD_KINDS.get(kind)
    if record_kind is None:
        raise Http404
    record = record_kind.visible_to(user).filter(pk=pk).first()
    if record is None:
        raise Http404
    return record_kind, record

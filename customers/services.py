"""Writes on customers and their contacts. Every change with a rule goes through these functions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import actor_context
from customers.models import Channel, Contact, Customer, Segment, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from sales.models import Campaign

# Fields a person may edit through customer_update. The rfm_* / health_* columns are written by the
# KPI run, acquired_at by the order and lead services, churn by customer_mark_churned.
CUSTOMER_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "kind",
        "email",
        "phone",
        "language",
        "owner",
        "team",
        "segment",
        "channel",
        "campaign",
        "referred_by",
        "external_id",
        "status",
        "contract_end_date",
        "created_at",
    }
)


def _require_aware(value: dt.datetime | None, field: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ValidationError({field: _("A timezone-aware date and time is required.")})


@actor_context
@transaction.atomic
def customer_create(
    *,
    name: str,
    kind: str = Customer.Kind.COMPANY,
    email: str = "",
    phone: str = "",
    owner: User | None = None,
    team: Team | None = None,
    segment: Segment | None = None,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    referred_by: Customer | None = None,
    external_id: str | None = None,
    created_at: dt.datetime | None = None,
    language: str = "en",
    actor: User | None = None,
) -> Customer:
    _require_aware(created_at, "created_at")
    customer = Customer(
        name=(name or "").strip(),
        kind=kind,
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        owner=owner,
        team=team,
        segment=segment,
        channel=channel,
        campaign=campaign,
        referred_by=referred_by,
        external_id=external_id or None,
        created_at=created_at or timezone.now(),
        language=language or "en",
    )
    customer.full_clean()
    customer.save()
    return customer


@actor_context
@transaction.atomic
def customer_update(*, customer: Customer, actor: User | None = None, **fields: Any) -> Customer:
    unknown = sorted(set(fields) - CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed here; it is derived.") for name in unknown}
        )
    if "created_at" in fields:
        _require_aware(fields["created_at"], "created_at")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    if "external_id" in fields and not locked.external_id:
        locked.external_id = None
    now = timezone.now()
    # A manual status change to "active" counts as acquisition (catalogue §1).
    if fields.get("status") == Customer.Status.ACTIVE:
        if locked.acquired_at is None or locked.acquired_at > now:
            locked.acquired_at = now
    # Churn set by hand is an explicit churn, today unless a date is already recorded.
    if fields.get("status") == Customer.Status.CHURNED and locked.churned_at is None:
        if locked.acquired_at is None:
            raise ValidationError({"status": _("A customer who was never acquired cannot churn.")})
        locked.churned_at = max(now, locked.acquired_at)
    locked.full_clean()
    locked.save()
    return locked


@actor_context
@transaction.atomic
def customer_mark_churned(
    *, customer: Customer, churned_at: dt.datetime, actor: User | None = None
) -> Customer:
    _require_aware(churned_at, "churned_at")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.acquired_at is not None and churned_at < locked.acquired_at:
        raise ValidationError({"churned_at": _("A customer cannot churn before being acquired.")})
    locked.churned_at = churned_at
    locked.status = Customer.Status.CHURNED
    locked.save(update_fields=["churned_at", "status", "updated_at"])
    return locked


@transaction.atomic
def contact_create(
    *,
    customer: Customer,
    first_name: str,
    last_name: str = "",
    email: str = "",
    phone: str = "",
    job_title: str = "",
    is_primary: bool = False,
    external_id: str | None = None,
) -> Contact:
    contact = Contact(
        customer=customer,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        job_title=job_title,
        is_primary=is_primary,
        external_id=external_id or None,
    )
    # The unique primary constraint would reject the new one; the newest primary wins instead.
    contact.full_clean(validate_constraints=False)
    if is_primary:
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact.save()
    return contact


# Fields a contact edit may change; the customer it belongs to is fixed.
CONTACT_EDITABLE = frozenset(
    {"first_name", "last_name", "email", "phone", "job_title", "is_primary", "external_id"}
)


@transaction.atomic
def contact_update(*, contact: Contact, **fields: Any) -> Contact:
    """Change a contact; made primary, it takes over from the customer's current primary
    contact (the same rule as contact_create)."""
    customer = fields.pop("customer", None)
    if customer is not None and getattr(customer, "pk", customer) != contact.customer_id:
        raise ValidationError({"customer": _("A contact cannot move to another customer.")})
    unknown = set(fields) - CONTACT_EDITABLE
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed on a contact.") for name in sorted(unknown)}
        )
    # Lock the customer first, as contact_create does, so two edits cannot both be primary.
    Customer.objects.select_for_update().filter(pk=contact.customer_id).first()
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    for name, value in fields.items():
        if isinstance(value, str) and name != "external_id":
            value = value.strip()
        setattr(locked, name, value)
    if "external_id" in fields:
        locked.external_id = fields["external_id"] or None
    locked.full_clean(validate_constraints=False)
    if fields.get("is_primary"):
        Contact.objects.filter(customer_id=locked.customer_id, is_primary=True).exclude(
            pk=locked.pk
        ).update(is_primary=False)
    locked.save()
    return locked

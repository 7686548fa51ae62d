"""Writes on customers and their contacts. Every change with a rule goes through these functions."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attachments.services import move_attachments
from audit.context import actor_context
from crm.concurrency import edit_conflict_check, stale_edit_error
from crm.outbox import task_send_on_commit
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
    contract_end_date: dt.date | None = None,
    first_contact: dict[str, Any] | None = None,
    actor: User | None = None,
) -> Customer:
    """A new customer; `first_contact` (contact_create's fields) adds its primary contact in the
    same transaction, so a bad contact saves neither."""
    _require_aware(created_at, "created_at")
    if referred_by is not None and referred_by.merged_into_id is not None:
        raise ValidationError(
            {"referred_by": _("This customer was merged; choose the customer it was merged into.")}
        )
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
        contract_end_date=contract_end_date,
    )
    customer.full_clean()
    customer.save()
    if first_contact is not None:
        try:
            contact_create(customer=customer, **{"is_primary": True, **first_contact})
        except ValidationError as error:
            # The page shows the contact's fields with a prefix; so does the message.
            raise ValidationError(
                {f"contact_{name}": messages for name, messages in error.message_dict.items()}
            ) from error
    return customer


# A merged customer is read-only: its changes go to the survivor (customer_update and the bulk
# reassign refuse it with the same words).
MERGED_CUSTOMER_REFUSAL = gettext_lazy(
    "This customer was merged; edit the customer it was merged into."
)


@actor_context
@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    seen_version: str | None = None,
    actor: User | None = None,
    **fields: Any,
) -> Customer:
    """Change a person-editable field of a customer. `seen_version` (crm.concurrency) is the
    version the form showed: a save over someone else's newer one is refused."""
    unknown = sorted(set(fields) - CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed here; it is derived.") for name in unknown}
        )
    if "created_at" in fields:
        _require_aware(fields["created_at"], "created_at")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    edit_conflict_check(locked, seen_version)
    if locked.merged_into_id is not None:
        raise ValidationError(MERGED_CUSTOMER_REFUSAL)
    referrer = fields.get("referred_by")
    if referrer is not None and referrer.pk == locked.pk:
        raise ValidationError({"referred_by": _("A customer cannot refer itself.")})
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


# What a chunk of customers may be handed over as a whole (the bulk list's assign actions).
CUSTOMER_REASSIGN_FIELDS = frozenset({"owner", "team"})


@actor_context
@transaction.atomic
def customers_reassign(
    *, customers: Iterable[Customer], actor: User | None = None, **fields: Any
) -> dict[int, ValidationError]:
    """Give many customers one owner and/or team in one statement; the refusals by customer id.

    The same rule as `customer_update` for these two fields (a merged customer is refused, the
    rest change), set-based so a bulk assign over 100,000 rows takes a statement per chunk
    rather than a dozen queries a row. The audit trail still gets a row-level event per customer
    (the triggers fire on the UPDATE), under the actor's context.
    """
    unknown = sorted(set(fields) - CUSTOMER_REASSIGN_FIELDS)
    if unknown or not fields:
        raise ValidationError(
            {name: _("This field cannot be changed here; it is derived.") for name in unknown}
            or _("Nothing to change.")
        )
    ids = [customer.pk for customer in customers]
    # Lock the chunk (in key order, as every bulk walk does) so a merge cannot slip between
    # reading which customers were merged and the update.
    locked = Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    rows = list(locked.values_list("pk", "merged_into_id"))
    merged = {pk for pk, survivor in rows if survivor is not None}
    Customer.objects.filter(pk__in=[pk for pk, _ in rows if pk not in merged]).update(
        **fields, updated_at=timezone.now()
    )
    return {pk: ValidationError(MERGED_CUSTOMER_REFUSAL) for pk in merged}


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


def contact_version(contact: Contact) -> str:
    """The version a contact's edit form carries: a digest of the fields a person edits (a
    contact has no edit stamp of its own, so its content is compared instead)."""
    values = [str(getattr(contact, name) or "") for name in sorted(CONTACT_EDITABLE)]
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:32]


def _contact_conflict_check(contact: Contact, seen_version: str | None) -> None:
    """Refuse a save over a contact changed since the form showed `seen_version`."""
    if seen_version and seen_version != contact_version(contact):
        raise stale_edit_error(contact)


@actor_context
@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    seen_version: str | None = None,
    actor: User | None = None,
    **fields: Any,
) -> Contact:
    """Change a contact; made primary, it takes over from the customer's current primary
    contact (the same rule as contact_create). `seen_version` (contact_version when the form
    opened) refuses a save over someone else's newer change."""
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
    _contact_conflict_check(locked, seen_version)
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


# --- merge --------------------------------------------------------------------------------------

# Fields whose surviving value a person picks on the merge page (the target's unless named in
# `take_from_source`). Lifecycle dates and derived scores are worked out, not picked.
MERGE_FIELDS = (
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
    "contract_end_date",
)
# Every relation to Customer, as "app_label.Model.field", by what a merge does with it. A relation
# in none of these sets stops the merge: a new foreign key must be classified here first.
MERGE_MOVED_RELATIONS = frozenset(
    {
        "customers.Contact.customer",
        "customers.Customer.referred_by",
        # Records merged into the source earlier point to the new survivor: no chains.
        "customers.Customer.merged_into",
        "sales.Lead.converted_customer",
        "sales.Opportunity.customer",
        "sales.Order.customer",
        "sales.Activity.customer",
        "sales.RetentionCase.customer",
        "support.Ticket.customer",
        "surveys.SurveyInvitation.customer",
        "surveys.SurveyResponse.customer",
    }
)
# Figures derived for the source as it was (RFM and health snapshots, the audit trail): they stay
# with it as history; the next KPI run computes the survivor's from the moved orders.
MERGE_KEPT_RELATIONS = frozenset(
    {
        "kpis.CustomerSegmentSnapshot.customer",
        "kpis.CustomerHealthSnapshot.customer",
        "audit.CustomerEvent.pgh_obj",
    }
)
# The source's prediction describes a customer that no longer exists apart; the next scoring run
# predicts the survivor from the moved orders.
MERGE_DELETED_RELATIONS = frozenset({"predictions.CustomerPrediction.customer"})
# Status of the survivor: the "most alive" of the two (an order on either side makes it active).
_STATUS_RANK = {Customer.Status.PROSPECT: 0, Customer.Status.CHURNED: 1, Customer.Status.ACTIVE: 2}
KPI_RECOMPUTE_TASK = "kpis.tasks.compute_periods_since"


def relation_label(relation: Any) -> str:
    return f"{relation.related_model._meta.label}.{relation.field.name}"


@dataclass(frozen=True)
class MergeResult:
    """The survivor, how many rows each relation moved, and the instant from which KPI periods
    were queued for recomputation (None when nothing dated changed)."""

    target: Customer
    moved: dict[str, int]
    recompute_since: dt.datetime | None


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


@actor_context
@transaction.atomic
def customer_merge(
    *,
    source: Customer,
    target: Customer,
    take_from_source: Iterable[str] = (),
    actor: User | None = None,
) -> MergeResult:
    """Merge `source` into `target` in one transaction; `target` survives.

    Every related record (MERGE_MOVED_RELATIONS) moves to the target; the fields named in
    `take_from_source` take the source's value; the target is acquired at the earlier of the two
    acquisitions. The source keeps a pointer to the target (`merged_into`) and loses its lifecycle
    dates and scores, so no list or KPI counts it again. The KPI periods from the earliest moved
    order (or changed acquisition) on are recomputed by a task queued at commit.
    """
    if source.pk == target.pk:
        raise ValidationError(_("A customer cannot be merged with itself."))
    chosen = set(take_from_source)
    unknown = sorted(chosen - set(MERGE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be taken over in a merge.") for name in unknown}
        )
    relations = Customer._meta.related_objects
    unclassified = sorted(
        label
        for label in map(relation_label, relations)
        if label not in MERGE_MOVED_RELATIONS | MERGE_KEPT_RELATIONS | MERGE_DELETED_RELATIONS
    )
    if unclassified:
        raise ImproperlyConfigured(
            f"customer_merge does not know what to do with {', '.join(unclassified)}."
        )
    # Lock in primary-key order so two opposite merges cannot deadlock.
    locked = {
        row.pk: row
        for row in Customer.objects.select_for_update(of=("self",))
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None:
        raise ValidationError(_("This customer was already merged into another customer."))
    if target.merged_into_id is not None:
        raise ValidationError(
            _("The customer to keep was itself merged; merge into customer #%s instead.")
            % target.merged_into_id
        )

    orders = next(r for r in relations if relation_label(r) == "sales.Order.customer")
    first_order = (
        cast("type[models.Model]", orders.related_model)
        ._base_manager.filter(customer_id=source.pk)
        .order_by("ordered_at")
        .values_list("ordered_at", flat=True)
        .first()
    )
    # A second primary contact would break the one-primary rule: the survivor's stays primary.
    if Contact.objects.filter(customer_id=target.pk, is_primary=True).exists():
        Contact.objects.filter(customer_id=source.pk, is_primary=True).update(is_primary=False)

    moved: dict[str, int] = {}
    for relation in relations:
        label = relation_label(relation)
        related = cast("type[models.Model]", relation.related_model)
        rows = related._base_manager.filter(**{relation.field.name: source.pk})
        if label in MERGE_MOVED_RELATIONS:
            moved[label] = rows.update(**{relation.field.name: target.pk})
        elif label in MERGE_DELETED_RELATIONS:
            rows.delete()
    # Attachments point at their record generically (no foreign key), so they move by hand.
    moved["attachments"] = move_attachments(source=source, target=target)

    taken = {name: getattr(source, name) for name in chosen}
    old_acquired_at = target.acquired_at
    source_acquired_at = source.acquired_at
    # The source gives up what makes a customer count: its lifecycle dates, status and scores.
    # Its unique external id goes first, in case the target takes it over.
    Customer.objects.filter(pk=source.pk).update(
        merged_into=target.pk,
        external_id=None,
        status=Customer.Status.PROSPECT,
        acquired_at=None,
        churned_at=None,
        contract_end_date=None,
        rfm_segment="",
        rfm_recency=None,
        rfm_frequency=None,
        rfm_monetary=None,
        health_score=None,
        health_band="",
        updated_at=timezone.now(),
    )
    for name, value in taken.items():
        setattr(target, name, value)
    if target.referred_by_id in (source.pk, target.pk):
        target.referred_by = None
    target.acquired_at = _earliest(target.acquired_at, source_acquired_at)
    if _STATUS_RANK[Customer.Status(source.status)] > _STATUS_RANK[Customer.Status(target.status)]:
        target.status = source.status
    # Still churned only if both were: either side active keeps the survivor active.
    if source.churned_at is None or target.churned_at is None:
        target.churned_at = None
    else:
        target.churned_at = max(source.churned_at, target.churned_at)
    target.full_clean()
    target.save()

    recompute_since = _earliest(
        first_order,
        source_acquired_at,
        old_acquired_at if old_acquired_at != target.acquired_at else None,
    )
    if recompute_since is not None:
        task_send_on_commit(KPI_RECOMPUTE_TASK, since_iso=recompute_since.isoformat())
    target.refresh_from_db()
    return MergeResult(target=target, moved=moved, recompute_since=recompute_since)

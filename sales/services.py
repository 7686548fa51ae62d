"""Writes of the sales domain: leads, opportunities and their stages, orders, activities, costs.

Every function refuses bad input with a ValidationError (field-keyed where a field is at fault)
before writing anything, and runs in one transaction so a refusal leaves no partial rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.concurrency import edit_conflict_check
from customers.models import Channel, Customer, Team
from customers.services import customer_create
from kpis.periods import current_period
from sales.models import (
    Activity,
    Campaign,
    CloseReason,
    ForecastSnapshot,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    PipelineStage,
    Product,
    Refund,
    RetentionCase,
    SalesCost,
)
from sales.selectors import FORECAST_DIMENSIONS, forecast_figures

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CENT = Decimal("0.01")
ZERO = Decimal("0")


def _require_aware(value: dt.datetime | None, field: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ValidationError({field: _("A timezone-aware date and time is required.")})


def _money(value: Any, field: str, *, allow_zero: bool = True) -> Decimal:
    """A money amount as Decimal; floats go through str() so 0.1 stays 0.1."""
    if isinstance(value, bool) or value is None:
        raise ValidationError({field: _("Enter an amount.")})
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Enter a valid amount.")}) from exc
    if not amount.is_finite():
        raise ValidationError({field: _("Enter a valid amount.")})
    if amount < 0 or (amount == 0 and not allow_zero):
        message = (
            _("The amount cannot be negative.")
            if allow_zero
            else _("The amount must be greater than zero.")
        )
        raise ValidationError({field: message})
    return amount


EditedRecord = TypeVar("EditedRecord", bound=models.Model)


def _only_fields(fields: Mapping[str, Any], editable: frozenset[str]) -> None:
    """Refuse fields an edit may not touch (they move through their own service)."""
    fixed = sorted(set(fields) - editable)
    if fixed:
        raise ValidationError(
            {name: _("This field cannot be changed by an edit.") for name in fixed}
        )


def _strip(fields: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        if name in fields:
            fields[name] = (fields[name] or "").strip()


def _save_edit(locked: EditedRecord, fields: dict[str, Any]) -> EditedRecord:
    """Write an edit's fields onto the locked record, check the model's rules, save only those
    columns. An empty external id means none (the column is unique where set)."""
    if "external_id" in fields:
        fields["external_id"] = fields["external_id"] or None
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    if fields:
        locked.save(update_fields=list(fields))
    return locked


def order_net_amount(*, total: Decimal, refunded_total: Decimal, exchange_rate: Decimal) -> Decimal:
    """(total − refunded) × exchange rate in the organisation currency, to the cent."""
    return ((total - refunded_total) * exchange_rate).quantize(CENT, rounding=ROUND_HALF_UP)


# --- leads ---------------------------------------------------------------------------------------


@actor_context
@transaction.atomic
def lead_create(
    *,
    name: str,
    company: str = "",
    email: str = "",
    phone: str = "",
    source: str = Lead.Source.OTHER,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    owner: User | None = None,
    team: Team | None = None,
    external_id: str | None = None,
    created_at: dt.datetime | None = None,
    actor: User | None = None,
) -> Lead:
    _require_aware(created_at, "created_at")
    lead = Lead(
        name=(name or "").strip(),
        company=(company or "").strip(),
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        source=source,
        channel=channel,
        campaign=campaign,
        owner=owner,
        team=team,
        external_id=external_id or None,
        created_at=created_at or timezone.now(),
    )
    lead.full_clean()
    lead.save()
    return lead


def _customer_recompute_acquired_at(customer_id: int) -> dt.datetime | None:
    """Earliest of the first non-cancelled order and the earliest lead conversion (catalogue §1)."""
    first_order = (
        Order.objects.filter(customer_id=customer_id)
        .exclude(status=Order.Status.CANCELLED)
        .aggregate(first=Min("ordered_at"))["first"]
    )
    first_conversion = Lead.objects.filter(
        converted_customer_id=customer_id, status=Lead.Status.CONVERTED
    ).aggregate(first=Min("converted_at"))["first"]
    candidates = [when for when in (first_order, first_conversion) if when is not None]
    return min(candidates) if candidates else None


@actor_context
@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    actor: User | None = None,
    customer: Customer | None = None,
    converted_at: dt.datetime | None = None,
    create_opportunity: bool = True,
    opportunity_amount: Decimal | None = None,
) -> tuple[Customer, Opportunity | None]:
    _require_aware(converted_at, "converted_at")
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status == Lead.Status.CONVERTED or locked.converted_customer_id is not None:
        raise ValidationError({"lead": _("This lead has already been converted.")})
    if locked.status == Lead.Status.MERGED:
        raise ValidationError(
            {"lead": _("This lead was merged into another lead; convert that one instead.")}
        )
    if locked.status == Lead.Status.DISQUALIFIED:
        raise ValidationError({"lead": _("A disqualified lead cannot be converted.")})
    amount = (
        _money(opportunity_amount, "opportunity_amount") if opportunity_amount is not None else ZERO
    )
    converted_at = converted_at or timezone.now()
    if converted_at < locked.created_at:
        raise ValidationError({"converted_at": _("A lead cannot convert before it was created.")})

    if customer is None:
        customer = customer_create(
            name=locked.company or locked.name,
            kind=Customer.Kind.COMPANY if locked.company else Customer.Kind.PERSON,
            email=locked.email,
            phone=locked.phone,
            owner=locked.owner,
            team=locked.team,
            channel=locked.channel,
            campaign=locked.campaign,
            created_at=converted_at,
            actor=actor,
        )
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.acquired_at is None or converted_at < customer.acquired_at:
        customer.acquired_at = converted_at
    if customer.status == Customer.Status.PROSPECT:
        customer.status = Customer.Status.ACTIVE
    customer.save(update_fields=["acquired_at", "status", "updated_at"])

    locked.status = Lead.Status.CONVERTED
    locked.converted_at = converted_at
    locked.converted_customer = customer
    locked.save(update_fields=["status", "converted_at", "converted_customer"])

    opportunity = None
    if create_opportunity:
        opportunity = opportunity_create(
            customer=customer,
            name=locked.name,
            amount=amount,
            owner=locked.owner,
            team=locked.team or customer.team,
            lead=locked,
            created_at=converted_at,
            actor=actor,
        )
    return customer, opportunity


# Fields whose surviving value a person picks when merging leads; status, conversion and the
# audit stamps are worked out, not picked.
LEAD_MERGE_FIELDS = (
    "name",
    "company",
    "email",
    "phone",
    "source",
    "channel",
    "campaign",
    "owner",
    "team",
)


def lead_merge_defaults(*, survivor: Lead, duplicate: Lead) -> frozenset[str]:
    """The fields the survivor takes without a choice: what the duplicate knew that it does
    not (a blank of the survivor's against a value of the duplicate's)."""
    return frozenset(
        name
        for name in LEAD_MERGE_FIELDS
        # serializable_value reads a foreign key's id without loading the related row.
        if survivor.serializable_value(name) in (None, "")
        and duplicate.serializable_value(name) not in (None, "")
    )


@actor_context
@transaction.atomic
def lead_merge(
    *,
    duplicate: Lead,
    into: Lead,
    take_from_duplicate: Iterable[str] | None = None,
    actor: User | None = None,
) -> Lead:
    """Fold a duplicate lead into the surviving one; returns the surviving lead.

    `take_from_duplicate` names the fields (LEAD_MERGE_FIELDS) whose value the survivor takes
    from the duplicate; None takes lead_merge_defaults (the survivor's blanks filled).
    """
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("A lead cannot be merged into itself.")})
    if take_from_duplicate is None:
        chosen = None
    else:
        chosen = set(take_from_duplicate)
        unknown = sorted(chosen - set(LEAD_MERGE_FIELDS))
        if unknown:
            raise ValidationError(
                {name: _("This field cannot be taken over in a merge.") for name in unknown}
            )
    # Lock in primary-key order so two opposite merges cannot deadlock.
    locked = {
        each.pk: each
        for each in Lead.objects.select_for_update()
        .filter(pk__in=[duplicate.pk, into.pk])
        .order_by("pk")
    }
    dup, survivor = locked[duplicate.pk], locked[into.pk]
    if dup.status in (Lead.Status.MERGED, Lead.Status.CONVERTED):
        raise ValidationError(
            {"duplicate": _("A lead already merged or converted cannot be merged.")}
        )
    if survivor.status == Lead.Status.MERGED:
        raise ValidationError({"into": _("Cannot merge into a lead that was itself merged.")})
    if chosen is None:
        chosen = set(lead_merge_defaults(survivor=survivor, duplicate=dup))
    taken = [field for field in LEAD_MERGE_FIELDS if field in chosen]
    for field in taken:
        setattr(survivor, field, getattr(dup, field))
    if taken:
        # The values come from a saved lead, so they are valid as they are.
        survivor.save(update_fields=taken)
    Activity.objects.filter(lead=dup).update(lead=survivor)
    Opportunity.objects.filter(lead=dup).update(lead=survivor)
    dup.status = Lead.Status.MERGED
    dup.merged_into = survivor
    dup.save(update_fields=["status", "merged_into"])
    return survivor


# Work states a lead moves through by hand; converted and merged are final and come only from
# lead_convert / lead_merge. A disqualified lead may be re-opened when the prospect comes back.
LEAD_STATUS_MOVES: dict[str, frozenset[str]] = {
    Lead.Status.NEW: frozenset(
        {Lead.Status.CONTACTED, Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED}
    ),
    Lead.Status.CONTACTED: frozenset({Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED}),
    Lead.Status.QUALIFIED: frozenset({Lead.Status.CONTACTED, Lead.Status.DISQUALIFIED}),
    Lead.Status.DISQUALIFIED: frozenset({Lead.Status.CONTACTED}),
    Lead.Status.CONVERTED: frozenset(),
    Lead.Status.MERGED: frozenset(),
}
LEAD_SETTABLE_STATUSES = (Lead.Status.CONTACTED, Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED)


@actor_context
@transaction.atomic
def lead_set_status(*, lead: Lead, status: str, actor: User | None = None) -> Lead:
    """Mark a lead contacted, qualified or disqualified (LEAD_STATUS_MOVES says from where)."""
    if status not in LEAD_SETTABLE_STATUSES:
        raise ValidationError(
            {
                "status": _(
                    "A lead can be marked contacted, qualified or disqualified; converting and "
                    "merging have their own actions."
                )
            }
        )
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status in (Lead.Status.CONVERTED, Lead.Status.MERGED):
        raise ValidationError(
            {
                "status": _("This lead is %(status)s; its status can no longer change.")
                % {"status": locked.get_status_display()}
            }
        )
    if locked.status == status:
        raise ValidationError(
            {
                "status": _("The lead is already %(status)s.")
                % {"status": locked.get_status_display()}
            }
        )
    if status not in LEAD_STATUS_MOVES[locked.status]:
        raise ValidationError(
            {
                "status": _("A %(current)s lead cannot be marked %(status)s.")
                % {
                    "current": locked.get_status_display(),
                    "status": Lead.Status(status).label,
                }
            }
        )
    locked.status = status
    changed = ["status"]
    if locked.disqualified_reason and status != Lead.Status.DISQUALIFIED:
        # A re-opened lead is no longer disqualified for that reason.
        locked.disqualified_reason = ""
        changed.append("disqualified_reason")
    locked.save(update_fields=changed)
    return locked


def _close_reason_check(reason: CloseReason | None, *, kind: str, field: str) -> str:
    """The name of an offered reason of `kind`, or a refusal on `field`."""
    if reason is None:
        raise ValidationError({field: _("Choose a reason.")})
    if reason.kind != kind or not reason.is_active:
        raise ValidationError({field: _("This reason is not offered; choose another.")})
    return reason.name


@actor_context
@transaction.atomic
def lead_disqualify(*, lead: Lead, reason: CloseReason | None, actor: User | None = None) -> Lead:
    """Mark a lead disqualified, keeping the reason chosen from the admins' list."""
    name = _close_reason_check(
        reason, kind=CloseReason.Kind.LEAD_DISQUALIFIED, field="disqualified_reason"
    )
    disqualified = lead_set_status(lead=lead, status=Lead.Status.DISQUALIFIED, actor=actor)
    disqualified.disqualified_reason = name
    disqualified.save(update_fields=["disqualified_reason"])
    return disqualified


LEAD_EDITABLE = frozenset(
    {
        "name",
        "company",
        "email",
        "phone",
        "source",
        "channel",
        "campaign",
        "owner",
        "team",
        "external_id",
        "created_at",
    }
)


@actor_context
@transaction.atomic
def lead_update(
    *, lead: Lead, actor: User | None = None, seen_version: str | None = None, **fields: Any
) -> Lead:
    """Edit a lead's details and assignment; its status moves by lead_set_status/convert/merge.
    `seen_version` (crm.concurrency) refuses the edit when the lead changed since the form opened.
    """
    _only_fields(fields, LEAD_EDITABLE)
    _require_aware(fields.get("created_at"), "created_at")
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    edit_conflict_check(locked, seen_version)
    if locked.status == Lead.Status.MERGED:
        raise ValidationError(
            {"lead": _("A merged lead is kept as it was; edit the lead it was merged into.")}
        )
    created_at = fields.get("created_at")
    if created_at is not None and locked.converted_at and created_at > locked.converted_at:
        raise ValidationError({"created_at": _("A lead cannot be created after it was converted.")})
    if "created_at" in fields and created_at is None:
        fields.pop("created_at")
    _strip(fields, ("name", "company", "email", "phone"))
    return _save_edit(locked, fields)


@actor_context
@transaction.atomic
def lead_delete(*, lead: Lead, actor: User | None = None) -> None:
    """Remove a lead entered in error. A converted lead may have acquired its customer, whose
    acquisition date is then recomputed from what remains."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    customer_id = locked.converted_customer_id
    locked.delete()
    if customer_id is not None:
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        _customer_after_acquisition_lost(
            customer,
            refusal=_(
                "Deleting this lead would date the customer's acquisition after their recorded "
                "churn; correct the churn date first."
            ),
        )


# --- pipeline stages -----------------------------------------------------------------------------

PIPELINE_STAGE_FIELDS = frozenset(
    {"code", "name", "position", "probability", "is_won", "is_lost", "is_active"}
)


def _pipeline_stage_fill(stage: PipelineStage, fields: dict[str, Any]) -> PipelineStage:
    _only_fields(fields, PIPELINE_STAGE_FIELDS)
    _strip(fields, ("code", "name"))
    for name, value in fields.items():
        setattr(stage, name, value)
    if stage.is_won and stage.is_lost:
        raise ValidationError({"is_lost": _("A stage closes a deal as won or as lost, not both.")})
    stage.full_clean()
    return stage


@transaction.atomic
def pipeline_stage_create(**fields: Any) -> PipelineStage:
    stage = _pipeline_stage_fill(PipelineStage(), dict(fields))
    stage.save()
    return stage


@transaction.atomic
def pipeline_stage_update(*, stage: PipelineStage, **fields: Any) -> PipelineStage:
    """Rename, reorder or re-weight a stage.

    Whether a stage closes deals (won / lost) cannot change while deals are in it: their stored
    outcome would contradict their stage. A stage holding open deals stays active (the board
    would hide them); move them first.
    """
    locked = PipelineStage.objects.select_for_update().get(pk=stage.pk)
    fields = dict(fields)
    deals = Opportunity.objects.filter(stage=locked)
    for flag in ("is_won", "is_lost"):
        if flag in fields and fields[flag] != getattr(locked, flag) and deals.exists():
            raise ValidationError(
                {flag: _("Deals are in this stage; whether it closes them cannot change.")}
            )
    if (
        fields.get("is_active") is False
        and locked.is_active
        and deals.filter(outcome=Opportunity.Outcome.OPEN).exists()
    ):
        raise ValidationError(
            {"is_active": _("Open deals are in this stage; move them before retiring it.")}
        )
    _pipeline_stage_fill(locked, fields)
    if fields:
        locked.save(update_fields=list(fields))
    return locked


# --- opportunities -------------------------------------------------------------------------------


def _stage_resolve(stage: PipelineStage | str | None, field: str) -> PipelineStage:
    if isinstance(stage, PipelineStage):
        return stage
    if stage is None:
        first_open = (
            PipelineStage.objects.filter(is_active=True, is_won=False, is_lost=False)
            .order_by("position", "id")
            .first()
        )
        if first_open is None:
            raise ValidationError({field: _("No open pipeline stage is configured.")})
        return first_open
    found = PipelineStage.objects.filter(code=stage).first()
    if found is None:
        raise ValidationError({field: _("Unknown pipeline stage “%(stage)s”.") % {"stage": stage}})
    return found


def _stage_outcome(stage: PipelineStage) -> tuple[str, Decimal]:
    if stage.is_won:
        return Opportunity.Outcome.WON, Decimal("1")
    if stage.is_lost:
        return Opportunity.Outcome.LOST, ZERO
    return Opportunity.Outcome.OPEN, stage.probability


@actor_context
@transaction.atomic
def opportunity_create(
    *,
    customer: Customer,
    name: str,
    amount: Decimal,
    stage: PipelineStage | str | None = None,
    kind: str = Opportunity.Kind.NEW,
    owner: User | None = None,
    team: Team | None = None,
    expected_close_date: dt.date | None = None,
    forecast_category: str = Opportunity.ForecastCategory.PIPELINE,
    currency: str | None = None,
    lead: Lead | None = None,
    external_id: str | None = None,
    created_at: dt.datetime | None = None,
    actor: User | None = None,
) -> Opportunity:
    _require_aware(created_at, "created_at")
    amount = _money(amount, "amount")
    _forecast_category_check(forecast_category)
    resolved = _stage_resolve(stage, "stage")
    if not resolved.is_active:
        raise ValidationError({"stage": _("This pipeline stage is no longer in use.")})
    created_at = created_at or timezone.now()
    outcome, probability = _stage_outcome(resolved)
    opportunity = Opportunity(
        customer=customer,
        name=(name or "").strip(),
        amount=amount,
        stage=resolved,
        kind=kind,
        owner=owner,
        team=team if team is not None else customer.team,
        expected_close_date=expected_close_date,
        forecast_category=forecast_category,
        currency=(currency or settings.CRM_CURRENCY).upper(),
        lead=lead,
        external_id=external_id or None,
        created_at=created_at,
        probability=probability,
        outcome=outcome,
        closed_at=created_at if outcome != Opportunity.Outcome.OPEN else None,
    )
    opportunity.full_clean()
    opportunity.save()
    OpportunityStageChange.objects.create(
        opportunity=opportunity,
        from_stage=None,
        to_stage=resolved,
        changed_at=created_at,
        changed_by=actor,
    )
    return opportunity


def _forecast_category_check(category: Any) -> None:
    if category not in Opportunity.ForecastCategory.values:
        raise ValidationError(
            {"forecast_category": _("Choose a forecast category: pipeline, best case or commit.")}
        )


def opportunity_validate_move(
    *, opportunity: Opportunity, to_stage: PipelineStage | str
) -> PipelineStage:
    """The checks of a stage move without writing; the admin form calls it in clean()."""
    target = _stage_resolve(to_stage, "to_stage")
    if opportunity.outcome != Opportunity.Outcome.OPEN:
        raise ValidationError(
            {
                "stage": _("This deal is closed (%(outcome)s); it cannot move to another stage.")
                % {"outcome": opportunity.get_outcome_display()}
            }
        )
    if not target.is_active:
        raise ValidationError({"to_stage": _("This pipeline stage is no longer in use.")})
    if target.pk == opportunity.stage_id:
        raise ValidationError({"to_stage": _("The deal is already in this stage.")})
    return target


@actor_context
@transaction.atomic
def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    to_stage: PipelineStage | str,
    actor: User | None = None,
    at: dt.datetime | None = None,
    lost_reason: str = "",
) -> Opportunity:
    _require_aware(at, "at")
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    target = opportunity_validate_move(opportunity=locked, to_stage=to_stage)
    at = at or timezone.now()
    if at < locked.created_at:
        raise ValidationError({"at": _("A deal cannot move before it was created.")})
    from_stage_id = locked.stage_id
    outcome, probability = _stage_outcome(target)
    locked.stage = target
    locked.probability = probability
    locked.outcome = outcome
    locked.closed_at = at if outcome != Opportunity.Outcome.OPEN else None
    if outcome == Opportunity.Outcome.LOST:
        locked.lost_reason = lost_reason
    locked.save(update_fields=["stage", "probability", "outcome", "closed_at", "lost_reason"])
    OpportunityStageChange.objects.create(
        opportunity=locked,
        from_stage_id=from_stage_id,
        to_stage=target,
        changed_at=at,
        changed_by=actor,
    )
    return locked


OPPORTUNITY_EDITABLE = frozenset(
    {
        "name",
        "kind",
        "amount",
        "currency",
        "expected_close_date",
        "forecast_category",
        "probability",
        "next_step",
        "owner",
        "team",
        "external_id",
    }
)
# What a closed deal won or lost is history the pipeline KPIs count; it no longer changes.
OPPORTUNITY_FIXED_WHEN_CLOSED = frozenset(
    {"kind", "amount", "currency", "forecast_category", "probability"}
)


@actor_context
@transaction.atomic
def opportunity_update(
    *,
    opportunity: Opportunity,
    actor: User | None = None,
    seen_version: str | None = None,
    **fields: Any,
) -> Opportunity:
    """Edit a deal's details; its stage and outcome move only by opportunity_move_stage.

    The probability starts as the stage's; a rep may set their own for an open deal (the
    weighted pipeline uses it) until the next stage move sets the stage's again.
    `seen_version` (crm.concurrency) refuses the edit when the deal changed since the form opened.
    """
    _only_fields(fields, OPPORTUNITY_EDITABLE)
    if "forecast_category" in fields:
        _forecast_category_check(fields["forecast_category"])
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    edit_conflict_check(locked, seen_version)
    if "amount" in fields:
        fields["amount"] = _money(fields["amount"], "amount")
    if "probability" in fields:
        probability = fields["probability"]
        if not isinstance(probability, Decimal) or not Decimal("0") <= probability <= 1:
            raise ValidationError(
                {"probability": _("The probability is between 0 and 100 per cent.")}
            )
    if "currency" in fields:
        fields["currency"] = (fields["currency"] or settings.CRM_CURRENCY).upper()
    if locked.outcome != Opportunity.Outcome.OPEN:
        changed = sorted(
            name
            for name in OPPORTUNITY_FIXED_WHEN_CLOSED & set(fields)
            if fields[name] != getattr(locked, name)
        )
        if changed:
            raise ValidationError(
                {
                    name: _("This deal is closed (%(outcome)s); it can no longer change.")
                    % {"outcome": locked.get_outcome_display()}
                    for name in changed
                }
            )
    _strip(fields, ("name", "next_step"))
    return _save_edit(locked, fields)


def _closing_stage(*, won: bool) -> PipelineStage:
    stage = (
        PipelineStage.objects.filter(is_active=True, is_won=won, is_lost=not won)
        .order_by("position", "id")
        .first()
    )
    if stage is None:
        raise ValidationError(
            {"stage": _("No active won stage is configured.")}
            if won
            else {"stage": _("No active lost stage is configured.")}
        )
    return stage


@actor_context
@transaction.atomic
def opportunity_mark_won(*, opportunity: Opportunity, actor: User | None = None) -> Opportunity:
    """Close a deal as won: a move to the first active won stage (history recorded)."""
    return opportunity_move_stage(
        opportunity=opportunity, to_stage=_closing_stage(won=True), actor=actor
    )


@actor_context
@transaction.atomic
def opportunity_mark_lost(
    *, opportunity: Opportunity, reason: CloseReason | None, actor: User | None = None
) -> Opportunity:
    """Close a deal as lost with a reason from the admins' list (first active lost stage)."""
    name = _close_reason_check(reason, kind=CloseReason.Kind.DEAL_LOST, field="lost_reason")
    return opportunity_move_stage(
        opportunity=opportunity, to_stage=_closing_stage(won=False), actor=actor, lost_reason=name
    )


# --- orders --------------------------------------------------------------------------------------


def _order_lines_build(lines: Iterable[Mapping[str, Any]]) -> list[OrderLine]:
    """Validated, unsaved OrderLine rows; products given by id are fetched in one query."""
    raw = list(lines)
    product_ids = {
        line["product"] for line in raw if not isinstance(line.get("product"), Product)
    } - {None}
    products = Product.objects.in_bulk(product_ids) if product_ids else {}
    built = []
    for index, line in enumerate(raw):
        key = f"lines[{index}]"
        product = line.get("product")
        if not isinstance(product, Product):
            product = products.get(product)  # type: ignore[arg-type]
        if product is None:
            raise ValidationError({key: _("Unknown product.")})
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationError({key: _("The quantity must be a whole number above zero.")})
        raw_price = line.get("unit_price")
        unit_price = product.unit_price if raw_price is None else _money(raw_price, key)
        if unit_price < 0:  # pragma: no cover - product prices are constrained >= 0
            raise ValidationError({key: _("The unit price cannot be negative.")})
        built.append(
            OrderLine(
                product=product,
                quantity=quantity,
                unit_price=unit_price,
                line_total=(unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP),
            )
        )
    return built


def order_currency_validate(currency: str | None, exchange_rate: Any) -> tuple[str, Decimal]:
    """The order currency and its rate: the organisation currency is rate 1, others need a rate."""
    home = settings.CRM_CURRENCY
    code = (currency or home).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError({"currency": _("Enter a three-letter ISO 4217 currency code.")})
    if code == home:
        if exchange_rate is not None and _money(exchange_rate, "exchange_rate") != 1:
            raise ValidationError(
                {"exchange_rate": _("An order in the organisation currency has a rate of 1.")}
            )
        return code, Decimal("1")
    if exchange_rate is None:
        raise ValidationError(
            {"exchange_rate": _("An order in a foreign currency needs an exchange rate.")}
        )
    rate = _money(exchange_rate, "exchange_rate", allow_zero=False)
    return code, rate


def _customer_after_order(customer_id: int, ordered_at: dt.datetime) -> None:
    """A non-cancelled order acquires the customer (earliest date) and makes them active."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.acquired_at is None or ordered_at < customer.acquired_at:
        customer.acquired_at = ordered_at
    # An order after an explicit churn is a reactivation; an older imported order is not.
    if customer.churned_at is None or ordered_at >= customer.churned_at:
        customer.status = Customer.Status.ACTIVE
    customer.save(update_fields=["acquired_at", "status", "updated_at"])


@actor_context
@transaction.atomic
def order_create(
    *,
    customer: Customer,
    ordered_at: dt.datetime,
    lines: list[dict[str, Any]] | None = None,
    total: Decimal | None = None,
    currency: str | None = None,
    exchange_rate: Decimal | None = None,
    status: str = Order.Status.COMPLETED,
    channel: Channel | None = None,
    owner: User | None = None,
    external_id: str | None = None,
    actor: User | None = None,
) -> Order:
    if ordered_at is None:
        raise ValidationError({"ordered_at": _("The order date is required.")})
    _require_aware(ordered_at, "ordered_at")
    if status not in Order.Status.values:
        raise ValidationError({"status": _("Unknown order status.")})
    code, rate = order_currency_validate(currency, exchange_rate)
    built = _order_lines_build(lines) if lines is not None else []
    if lines is not None and not built:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    if built:
        lines_total = sum((line.line_total for line in built), ZERO)
        if total is not None and _money(total, "total") != lines_total:
            raise ValidationError(
                {
                    "total": _("The total %(total)s differs from the sum of the lines %(sum)s.")
                    % {"total": total, "sum": lines_total}
                }
            )
        order_total = lines_total
    elif total is not None:
        order_total = _money(total, "total")
    else:
        raise ValidationError({"total": _("Give the order lines or a total.")})
    order = Order(
        customer=customer,
        ordered_at=ordered_at,
        status=status,
        currency=code,
        exchange_rate=rate,
        total=order_total,
        refunded_total=ZERO,
        net_amount=order_net_amount(total=order_total, refunded_total=ZERO, exchange_rate=rate),
        channel=channel,
        owner=owner,
        external_id=external_id or None,
        delivered_at=ordered_at if status == Order.Status.DELIVERED else None,
        cancelled_at=ordered_at if status == Order.Status.CANCELLED else None,
    )
    order.full_clean()
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    if status != Order.Status.CANCELLED:
        _customer_after_order(customer.pk, ordered_at)
    return order


@actor_context
@transaction.atomic
def order_cancel(
    *, order: Order, actor: User | None = None, at: dt.datetime | None = None
) -> Order:
    _require_aware(at, "at")
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == Order.Status.CANCELLED:
        raise ValidationError({"status": _("This order is already cancelled.")})
    customer = Customer.objects.select_for_update().get(pk=locked.customer_id)
    locked.status = Order.Status.CANCELLED
    locked.cancelled_at = at or timezone.now()
    locked.save(update_fields=["status", "cancelled_at"])
    # The cancelled order may have been the one that acquired the customer.
    _customer_after_acquisition_lost(
        customer,
        refusal=_(
            "Cancelling this order would date the customer's acquisition after their "
            "recorded churn; correct the churn date first."
        ),
    )
    return locked


def _customer_after_acquisition_lost(customer: Customer, *, refusal: str) -> None:
    """Recompute the (locked) customer's acquisition after an order or conversion went away."""
    customer.acquired_at = _customer_recompute_acquired_at(customer.pk)
    if (
        customer.churned_at is not None
        and customer.acquired_at is not None
        and customer.acquired_at > customer.churned_at
    ):
        raise ValidationError({"status": refusal})
    if customer.acquired_at is None and customer.status == Customer.Status.ACTIVE:
        customer.status = Customer.Status.PROSPECT
    customer.save(update_fields=["acquired_at", "status", "updated_at"])


@actor_context
@transaction.atomic
def order_delete(*, order: Order, actor: User | None = None) -> None:
    """Remove an order booked in error (lines and refunds go with it); the customer's
    acquisition is recomputed as for a cancellation. A real cancellation is order_cancel."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    customer = Customer.objects.select_for_update().get(pk=locked.customer_id)
    locked.delete()
    _customer_after_acquisition_lost(
        customer,
        refusal=_(
            "Deleting this order would date the customer's acquisition after their recorded "
            "churn; correct the churn date first."
        ),
    )


@actor_context
@transaction.atomic
def order_refund(
    *,
    order: Order,
    amount: Decimal,
    actor: User | None = None,
    at: dt.datetime | None = None,
    reason: str = "",
) -> Refund:
    _require_aware(at, "at")
    amount = _money(amount, "amount", allow_zero=False)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == Order.Status.CANCELLED:
        raise ValidationError({"amount": _("A cancelled order cannot be refunded.")})
    refunded = locked.refunded_total + amount
    if refunded > locked.total:
        raise ValidationError(
            {
                "amount": _("Refunds (%(refunded)s) cannot exceed the order total (%(total)s).")
                % {"refunded": refunded, "total": locked.total}
            }
        )
    refund = Refund.objects.create(
        order=locked, amount=amount, refunded_at=at or timezone.now(), reason=reason[:200]
    )
    locked.refunded_total = refunded
    locked.net_amount = order_net_amount(
        total=locked.total, refunded_total=refunded, exchange_rate=locked.exchange_rate
    )
    locked.save(update_fields=["refunded_total", "net_amount"])
    return refund


@transaction.atomic
def order_mark_delivered(*, order: Order, at: dt.datetime | None = None) -> Order:
    _require_aware(at, "at")
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == Order.Status.CANCELLED:
        raise ValidationError({"status": _("A cancelled order cannot be delivered.")})
    if locked.status == Order.Status.DELIVERED:
        return locked  # delivering twice is a retry, not an error
    at = at or timezone.now()
    if at < locked.ordered_at:
        raise ValidationError({"at": _("An order cannot be delivered before it was placed.")})
    locked.status = Order.Status.DELIVERED
    locked.delivered_at = at
    locked.save(update_fields=["status", "delivered_at"])
    return locked


@transaction.atomic
def order_recompute_totals(*, order: Order) -> Order:
    """Total from the saved lines and net amount from it; the admin calls this after line edits."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    lines = list(OrderLine.objects.filter(order=locked))
    for line in lines:
        line.line_total = (line.unit_price * line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    OrderLine.objects.bulk_update(lines, ["line_total"])
    if lines:
        locked.total = sum((line.line_total for line in lines), ZERO)
    if locked.refunded_total > locked.total:
        raise ValidationError(
            {
                "total": _("The lines total %(total)s is below what was already refunded (%(r)s).")
                % {"total": locked.total, "r": locked.refunded_total}
            }
        )
    locked.net_amount = order_net_amount(
        total=locked.total,
        refunded_total=locked.refunded_total,
        exchange_rate=locked.exchange_rate,
    )
    locked.save(update_fields=["total", "net_amount"])
    return locked


ORDER_EDITABLE = frozenset({"channel", "owner", "external_id"})


@actor_context
@transaction.atomic
def order_update(
    *, order: Order, actor: User | None = None, seen_version: str | None = None, **fields: Any
) -> Order:
    """Edit an order's attribution; amounts, lines, dates and status move by their actions.
    `seen_version` (crm.concurrency) refuses the edit when the order changed since it opened."""
    _only_fields(fields, ORDER_EDITABLE)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    edit_conflict_check(locked, seen_version)
    return _save_edit(locked, fields)


# --- activities ----------------------------------------------------------------------------------


@transaction.atomic
def activity_log(
    *,
    kind: str,
    subject: str,
    owner: User | None,
    customer: Customer | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    notes: str = "",
    due_at: dt.datetime | None = None,
    done_at: dt.datetime | None = None,
    is_bulk: bool = False,
    created_at: dt.datetime | None = None,
    external_id: str | None = None,
) -> Activity:
    if customer is None and lead is None and opportunity is None:
        raise ValidationError(
            {"customer": _("An activity must concern a customer, a lead or an opportunity.")}
        )
    for value, field in ((due_at, "due_at"), (done_at, "done_at"), (created_at, "created_at")):
        _require_aware(value, field)
    if customer is None and opportunity is not None:
        customer = opportunity.customer
    record_team_id = next(
        (
            record.team_id
            for record in (customer, opportunity, lead)
            if record is not None and record.team_id is not None
        ),
        None,
    )
    # The owner's team counts the work; among several, the one owning the record wins.
    owner_team_ids = list(owner.teams.values_list("pk", flat=True)) if owner is not None else []
    team_id: int | None = record_team_id
    if owner_team_ids and record_team_id not in owner_team_ids:
        team_id = owner_team_ids[0]
    activity = Activity(
        kind=kind,
        subject=(subject or "").strip(),
        owner=owner,
        customer=customer,
        lead=lead,
        opportunity=opportunity,
        team_id=team_id,
        notes=notes,
        due_at=due_at,
        done_at=done_at,
        is_bulk=is_bulk,
        created_at=created_at or timezone.now(),
        external_id=external_id or None,
    )
    activity.full_clean()
    activity.save()
    return activity


@transaction.atomic
def activity_complete(*, activity: Activity, at: dt.datetime | None = None) -> Activity:
    _require_aware(at, "at")
    locked = Activity.objects.select_for_update().get(pk=activity.pk)
    if locked.done_at is not None:
        raise ValidationError({"done_at": _("This activity is already done.")})
    locked.done_at = at or timezone.now()
    locked.save(update_fields=["done_at"])
    return locked


ACTIVITY_EDITABLE = frozenset({"kind", "subject", "notes", "is_bulk", "due_at", "external_id"})


@actor_context
@transaction.atomic
def activity_update(*, activity: Activity, actor: User | None = None, **fields: Any) -> Activity:
    """Edit what an activity says; its record, owner and team stay, done_at is activity_complete."""
    _only_fields(fields, ACTIVITY_EDITABLE)
    _require_aware(fields.get("due_at"), "due_at")
    locked = Activity.objects.select_for_update().get(pk=activity.pk)
    _strip(fields, ("subject",))
    return _save_edit(locked, fields)


# --- retention -----------------------------------------------------------------------------------


@transaction.atomic
def retention_case_open(
    *,
    customer: Customer,
    owner: User | None = None,
    reason: str = "",
    outreach: str = "",
    cost: Decimal = ZERO,
    opened_at: dt.datetime | None = None,
) -> RetentionCase:
    _require_aware(opened_at, "opened_at")
    case = RetentionCase(
        customer=customer,
        owner=owner,
        reason=reason,
        outreach=outreach,
        cost=_money(cost, "cost"),
        opened_at=opened_at or timezone.now(),
    )
    case.full_clean()
    case.save()
    return case


@transaction.atomic
def retention_case_close(
    *,
    case: RetentionCase,
    outcome: str,
    closed_at: dt.datetime | None = None,
    cost: Decimal | None = None,
) -> RetentionCase:
    _require_aware(closed_at, "closed_at")
    if outcome not in (RetentionCase.Outcome.RETAINED, RetentionCase.Outcome.LOST):
        raise ValidationError({"outcome": _("A case closes as retained or lost.")})
    new_cost = _money(cost, "cost") if cost is not None else None
    locked = RetentionCase.objects.select_for_update().get(pk=case.pk)
    if locked.status == RetentionCase.Status.CLOSED:
        raise ValidationError({"status": _("This retention case is already closed.")})
    closed_at = closed_at or timezone.now()
    if closed_at < locked.opened_at:
        raise ValidationError({"closed_at": _("A case cannot close before it was opened.")})
    locked.status = RetentionCase.Status.CLOSED
    locked.outcome = outcome
    locked.closed_at = closed_at
    if new_cost is not None:
        locked.cost = new_cost
    locked.save(update_fields=["status", "outcome", "closed_at", "cost"])
    return locked


RETENTION_CASE_EDITABLE = frozenset({"owner", "reason", "outreach", "cost"})


@actor_context
@transaction.atomic
def retention_case_update(
    *, case: RetentionCase, actor: User | None = None, **fields: Any
) -> RetentionCase:
    """Edit an open case; a closed case is the win-back history (outcome and cost) and stays."""
    _only_fields(fields, RETENTION_CASE_EDITABLE)
    if "cost" in fields:
        fields["cost"] = _money(fields["cost"], "cost")
    locked = RetentionCase.objects.select_for_update().get(pk=case.pk)
    if locked.status == RetentionCase.Status.CLOSED:
        raise ValidationError({"status": _("This retention case is closed; it cannot change.")})
    return _save_edit(locked, fields)


# --- costs ---------------------------------------------------------------------------------------


def _period_check(period_start: dt.date, period_end: dt.date) -> None:
    if period_end <= period_start:
        raise ValidationError(
            {"period_end": _("The period end (exclusive) must be after its start.")}
        )


@transaction.atomic
def marketing_spend_record(
    *,
    period_start: dt.date,
    period_end: dt.date,
    amount: Decimal,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    external_id: str | None = None,
) -> MarketingSpend:
    """Record spend; with an external id a re-import updates the same row (idempotent)."""
    amount = _money(amount, "amount")
    _period_check(period_start, period_end)
    values = {
        "period_start": period_start,
        "period_end": period_end,
        "amount": amount,
        "channel": channel,
        "campaign": campaign,
    }
    if external_id:
        spend, _created = MarketingSpend.objects.update_or_create(
            external_id=external_id, defaults=values
        )
        return spend
    return MarketingSpend.objects.create(**values)


@transaction.atomic
def sales_cost_record(
    *,
    period_start: dt.date,
    period_end: dt.date,
    amount: Decimal,
    team: Team | None = None,
    description: str = "",
    external_id: str | None = None,
) -> SalesCost:
    """Record a sales cost; with an external id a re-import updates the same row (idempotent)."""
    amount = _money(amount, "amount")
    _period_check(period_start, period_end)
    values = {
        "period_start": period_start,
        "period_end": period_end,
        "amount": amount,
        "team": team,
        "description": description[:200],
    }
    if external_id:
        cost, _created = SalesCost.objects.update_or_create(
            external_id=external_id, defaults=values
        )
        return cost
    return SalesCost.objects.create(**values)


SPEND_EDITABLE = frozenset(
    {"period_start", "period_end", "amount", "channel", "campaign", "external_id"}
)
SALES_COST_EDITABLE = frozenset(
    {"period_start", "period_end", "amount", "team", "description", "external_id"}
)


def _cost_row_update(
    model: type[MarketingSpend] | type[SalesCost],
    row: MarketingSpend | SalesCost,
    editable: frozenset[str],
    fields: dict[str, Any],
) -> Any:
    _only_fields(fields, editable)
    if "amount" in fields:
        fields["amount"] = _money(fields["amount"], "amount")
    locked = model.objects.select_for_update().get(pk=row.pk)
    _period_check(
        fields.get("period_start", locked.period_start), fields.get("period_end", locked.period_end)
    )
    if "description" in fields:
        fields["description"] = (fields["description"] or "")[:200]
    return _save_edit(locked, fields)


@transaction.atomic
def marketing_spend_update(*, spend: MarketingSpend, **fields: Any) -> MarketingSpend:
    """Correct a spend row (same rules as marketing_spend_record)."""
    updated: MarketingSpend = _cost_row_update(MarketingSpend, spend, SPEND_EDITABLE, fields)
    return updated


@transaction.atomic
def sales_cost_update(*, cost: SalesCost, **fields: Any) -> SalesCost:
    """Correct a sales cost row (same rules as sales_cost_record)."""
    updated: SalesCost = _cost_row_update(SalesCost, cost, SALES_COST_EDITABLE, fields)
    return updated


# --- campaigns -----------------------------------------------------------------------------------

CAMPAIGN_FIELDS = frozenset({"name", "channel", "starts_on", "ends_on", "budget", "external_id"})


def _campaign_fill(campaign: Campaign, fields: dict[str, Any]) -> Campaign:
    _only_fields(fields, CAMPAIGN_FIELDS)
    if "budget" in fields:
        fields["budget"] = _money(fields["budget"], "budget")
    _strip(fields, ("name",))
    if "external_id" in fields:
        fields["external_id"] = fields["external_id"] or None
    for name, value in fields.items():
        setattr(campaign, name, value)
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise ValidationError({"ends_on": _("A campaign cannot end before it starts.")})
    campaign.full_clean()
    return campaign


@actor_context
@transaction.atomic
def campaign_create(*, actor: User | None = None, **fields: Any) -> Campaign:
    campaign = _campaign_fill(Campaign(), dict(fields))
    campaign.save()
    return campaign


@actor_context
@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: User | None = None, **fields: Any) -> Campaign:
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    fields = dict(fields)
    _campaign_fill(locked, fields)
    if fields:
        locked.save(update_fields=list(fields))
    return locked


# --- sales forecast ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastTaking:
    """What forecast_snapshot_take did: `taken` False when the period already had its snapshot."""

    granularity: str
    period_start: dt.date
    period_end: dt.date
    taken: bool
    rows: int


def _scope_labels(dimension: str, keys: Iterable[str]) -> dict[str, str]:
    ids = [int(key) for key in keys if key]
    if dimension == "team":
        return {
            str(pk): name for pk, name in Team.objects.filter(pk__in=ids).values_list("pk", "name")
        }
    if dimension == "owner":
        people = get_user_model()._default_manager.filter(pk__in=ids)
        return {
            str(person.pk): person.get_full_name() or person.get_username() for person in people
        }
    return {}


def forecast_snapshot_take(
    *,
    granularity: str,
    now: dt.datetime | None = None,
    retake: bool = False,
    actor: User | None = None,
) -> ForecastTaking:
    """Store the forecast of the current period of `granularity` per organisation, team and rep.

    Meant for the start of the period (the beat runs it daily, so a missed day is caught up the
    next; `taken_at` says when). Idempotent: once the period has its snapshot a re-run changes
    nothing and returns taken=False; `retake=True` replaces the period's rows on purpose (an
    admin correcting a snapshot taken from wrong data). Only the current period can be taken:
    the figures come from the deals open now.
    """
    if granularity not in ForecastSnapshot.Granularity.values:
        raise ValidationError({"granularity": _("A forecast is taken per month, quarter or year.")})
    _require_aware(now, "now")
    now = now or timezone.now()
    period_start, period_end = current_period(granularity, now)
    existing = ForecastSnapshot.objects.filter(granularity=granularity, period_start=period_start)
    try:
        with transaction.atomic():
            if existing.exists():
                if not retake:
                    return ForecastTaking(
                        granularity, period_start, period_end, False, existing.count()
                    )
                existing.delete()
            rows = []
            for dimension in FORECAST_DIMENSIONS:
                figures = forecast_figures(
                    period_start=period_start, period_end=period_end, dimension=dimension
                )
                labels = _scope_labels(dimension, figures)
                rows += [
                    ForecastSnapshot(
                        granularity=granularity,
                        period_start=period_start,
                        period_end=period_end,
                        dimension=dimension,
                        dimension_value=key,
                        dimension_label=labels.get(key, "")[:200],
                        taken_at=now,
                        taken_by=actor,
                        **values,
                    )
                    for key, values in sorted(figures.items())
                ]
            ForecastSnapshot.objects.bulk_create(rows)
    except IntegrityError:
        # A concurrent take of the same period stored it first (unique per period and scope).
        return ForecastTaking(granularity, period_start, period_end, False, existing.count())
    return ForecastTaking(granularity, period_start, period_end, True, len(rows))

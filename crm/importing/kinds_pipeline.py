"""Import kinds of the pipeline and its costs: contacts, leads, opportunities, products,
activities, marketing spend and sales costs (set-based, like kinds.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing import values as parse
from crm.importing.base import (
    Column,
    ImportContext,
    ImportKind,
    Row,
    by_external_id,
    reference_table,
    resolve_reference,
)
from crm.importing.kinds import _load_users, _text, _update_fields
from crm.importing.upsert import upsert
from customers.models import Channel, Contact, Customer, Team
from sales.models import (
    Activity,
    Campaign,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    PipelineStage,
    Product,
    ProductLine,
    SalesCost,
)


def _customer(row: Row, customers: dict[str, dict[str, Any]], *, required: bool = True) -> Any:
    if not row.has("customer"):
        if required:
            row.require("customer")
        return None
    found = customers.get(row.raw("customer"))
    if found is None:
        row.error("customer", _("unknown customer “%(id)s”") % {"id": row.raw("customer")})
    return found


def _reference(row: Row, column: str, ctx: ImportContext, table: str, what: str) -> int | None:
    found = resolve_reference(row, column, ctx.cache[table], what)
    return found["pk"] if found else None


# --- contacts ----------------------------------------------------------------------------------


class ContactKind(ImportKind):
    key = "contacts"
    label = gettext_lazy("Contacts")
    model = Contact
    columns = (
        Column("external_id", required=True, aliases=("id", "contact_id")),
        Column("customer", required=True, aliases=("customer_id",)),
        Column("first_name", required=True),
        Column("last_name"),
        Column("email"),
        Column("phone"),
        Column("job_title"),
        Column("is_primary", aliases=("primary",)),
    )
    FIELDS = {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "phone": "phone",
        "job_title": "job_title",
        "is_primary": "is_primary",
    }

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(Customer, (row.raw("customer") for row in rows))
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            customer = _customer(row, customers)
            if row.require("first_name"):
                _text(row, self, "first_name")
            for name in ("last_name", "phone", "job_title"):
                _text(row, self, name)
            row.parse("email", parse.email, "")
            row.parse("is_primary", parse.boolean, False)
            if customer is not None:
                row.values["customer"] = customer["pk"]

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        # contact_create: the newest primary contact wins, per customer.
        primary: dict[int, str] = {}
        for row in rows:
            if row.values["is_primary"]:
                primary[row.values["customer"]] = row.raw("external_id")
        if primary:
            Contact.objects.filter(customer_id__in=list(primary), is_primary=True).exclude(
                external_id__in=list(primary.values())
            ).update(is_primary=False)
        records = []
        for row in rows:
            record = {
                "external_id": row.raw("external_id"),
                "customer_id": row.values["customer"],
                **{f: row.values[c] for c, f in self.FIELDS.items() if c in ctx.columns},
            }
            if record.get("is_primary"):
                record["is_primary"] = primary.get(row.values["customer"]) == row.raw("external_id")
            records.append(record)
        upsert(Contact, records, update_fields=_update_fields(ctx, self.FIELDS, ["customer"]))


# --- leads -------------------------------------------------------------------------------------


class LeadKind(ImportKind):
    key = "leads"
    label = gettext_lazy("Leads")
    model = Lead
    columns = (
        Column("external_id", required=True, aliases=("id", "lead_id")),
        Column("name", required=True),
        Column("company"),
        Column("email"),
        Column("phone"),
        Column("source"),
        Column("status", help="new, contacted, qualified or disqualified"),
        Column("channel"),
        Column("campaign"),
        Column("owner"),
        Column("team"),
        Column("created_at"),
    )
    existing_fields = ("pk", "status", "created_at")
    FIELDS = {
        "name": "name",
        "company": "company",
        "email": "email",
        "phone": "phone",
        "source": "source",
        "status": "status",
        "channel": "channel_id",
        "campaign": "campaign_id",
        "owner": "owner_id",
        "team": "team_id",
        "created_at": "created_at",
    }
    SOURCES = parse.choice_map(Lead.Source.choices)
    # Conversion and merging have their own services (lead_convert, lead_merge).
    STATUSES = parse.choice_map(
        [
            (value, label)
            for value, label in Lead.Status.choices
            if value not in (Lead.Status.CONVERTED, Lead.Status.MERGED)
        ]
    )

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["teams"] = reference_table(Team, "name")
        ctx.cache["channels"] = reference_table(Channel, "code", "name")
        ctx.cache["campaigns"] = reference_table(Campaign, "external_id", "name")

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        users = _load_users(ctx, rows, "owner")
        now = timezone.now()
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            if row.require("name"):
                _text(row, self, "name")
            for name in ("company", "phone"):
                _text(row, self, name)
            row.parse("email", parse.email, "")
            row.parse("source", lambda raw: parse.choice(raw, choices=self.SOURCES), "other")
            status = row.parse(
                "status", lambda raw: parse.choice(raw, choices=self.STATUSES), "new"
            )
            existing = row.existing or {}
            if (
                row.has("status")
                and existing.get("status") in (Lead.Status.CONVERTED, Lead.Status.MERGED)
                and status != existing["status"]
            ):
                row.error("status", _("the lead was converted or merged; its status is final"))
            row.values["channel"] = _reference(row, "channel", ctx, "channels", _("channel"))
            row.values["campaign"] = _reference(row, "campaign", ctx, "campaigns", _("campaign"))
            row.values["team"] = _reference(row, "team", ctx, "teams", _("team"))
            row.values["owner"] = users.resolve(row, "owner")
            created = row.parse("created_at", parse.moment)
            row.values["created_at"] = created or existing.get("created_at") or now

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"],)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        records = [
            {
                "external_id": row.raw("external_id"),
                **{
                    f: row.values[c]
                    for c, f in self.FIELDS.items()
                    if c in ctx.columns or c == "created_at"
                },
            }
            for row in rows
        ]
        upsert(Lead, records, update_fields=_update_fields(ctx, self.FIELDS, ["created_at"]))


# --- opportunities -----------------------------------------------------------------------------


class OpportunityKind(ImportKind):
    key = "opportunities"
    label = gettext_lazy("Opportunities")
    model = Opportunity
    columns = (
        Column("external_id", required=True, aliases=("id", "opportunity_id")),
        Column("customer", required=True, aliases=("customer_id",)),
        Column("name", required=True),
        Column("amount", required=True),
        Column("stage", help="pipeline stage code or name (default: first open stage)"),
        Column("kind", help="new, cross_sell, upsell or renewal"),
        Column("owner"),
        Column("team"),
        Column("expected_close_date"),
        Column("forecast_category", help="pipeline, best_case or commit (default: pipeline)"),
        Column("currency"),
        Column("lead", help="lead external id"),
        Column("created_at"),
        Column("closed_at", help="when a won/lost stage was reached (default: created_at)"),
        Column("lost_reason"),
    )
    existing_fields = (
        "pk",
        "stage_id",
        "outcome",
        "created_at",
        "closed_at",
        "probability",
        "forecast_category",
    )
    KINDS = parse.choice_map(Opportunity.Kind.choices)
    FORECAST_CATEGORIES = parse.choice_map(Opportunity.ForecastCategory.choices)

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["teams"] = reference_table(Team, "name")
        ctx.cache["stages"] = reference_table(
            PipelineStage,
            "code",
            "name",
            extra=("is_won", "is_lost", "is_active", "probability", "position"),
        )
        first_open = (
            PipelineStage.objects.filter(is_active=True, is_won=False, is_lost=False)
            .order_by("position", "id")
            .values("pk", "is_won", "is_lost", "is_active", "probability")
            .first()
        )
        ctx.cache["first_open"] = first_open

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(Customer, (row.raw("customer") for row in rows), "team_id")
        leads = by_external_id(Lead, (row.raw("lead") for row in rows))
        users = _load_users(ctx, rows, "owner")
        now = timezone.now()
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            customer = _customer(row, customers)
            if row.require("name"):
                _text(row, self, "name")
            amount = row.parse("amount", parse.decimal) if row.require("amount") else None
            row.parse("kind", lambda raw: parse.choice(raw, choices=self.KINDS), "new")
            row.parse("expected_close_date", parse.date)
            category = row.parse(
                "forecast_category",
                lambda raw: parse.choice(raw, choices=self.FORECAST_CATEGORIES),
                Opportunity.ForecastCategory.PIPELINE,
            )
            currency = row.parse("currency", lambda raw: parse.text(raw, max_length=3).upper(), "")
            if currency and not (len(currency) == 3 and currency.isalpha()):
                row.error("currency", _("Enter a three-letter ISO 4217 currency code."))
            _text(row, self, "lost_reason")
            row.values["owner"] = users.resolve(row, "owner")
            team = _reference(row, "team", ctx, "teams", _("team"))
            lead = None
            if row.has("lead"):
                lead = leads.get(row.raw("lead"))
                if lead is None:
                    row.error("lead", _("unknown lead “%(id)s”") % {"id": row.raw("lead")})
            existing = row.existing
            if (
                existing is not None
                and row.has("forecast_category")
                and existing["outcome"] != Opportunity.Outcome.OPEN
                and category != existing["forecast_category"]
            ):
                # opportunity_update: the call made on a closed deal is history.
                row.error(
                    "forecast_category",
                    _("This deal is closed (%(outcome)s); it can no longer change.")
                    % {"outcome": existing["outcome"]},
                )
            stage = (
                resolve_reference(row, "stage", ctx.cache["stages"], _("pipeline stage"))
                if row.has("stage")
                else None
            )
            if stage is None and not row.has("stage"):
                stage = ctx.cache["first_open"] if existing is None else None
                if existing is None and stage is None:
                    row.error("stage", _("No open pipeline stage is configured."))
            created = row.parse("created_at", parse.moment)
            closed = row.parse("closed_at", parse.moment)
            created_at = created or (existing or {}).get("created_at") or now
            move = None
            if stage is not None and (existing is None or existing["stage_id"] != stage["pk"]):
                # opportunity_create / opportunity_validate_move rules.
                if not stage["is_active"]:
                    row.error("stage", _("This pipeline stage is no longer in use."))
                if existing is not None and existing["outcome"] != Opportunity.Outcome.OPEN:
                    row.error(
                        "stage",
                        _("This deal is closed (%(outcome)s); it cannot move to another stage.")
                        % {"outcome": existing["outcome"]},
                    )
                move = stage
            if row.errors:
                continue
            values = row.values
            values.update(
                customer=customer["pk"],
                team=team if team is not None else customer["team_id"],
                lead=lead["pk"] if lead else None,
                amount=amount,
                currency=currency or settings.CRM_CURRENCY,
                created_at=created_at,
                move=move,
                from_stage=existing["stage_id"] if existing else None,
            )
            if move is not None:
                outcome = (
                    Opportunity.Outcome.WON
                    if move["is_won"]
                    else Opportunity.Outcome.LOST
                    if move["is_lost"]
                    else Opportunity.Outcome.OPEN
                )
                values["outcome"] = outcome
                values["probability"] = (
                    1 if move["is_won"] else 0 if move["is_lost"] else move["probability"]
                )
                values["closed_at"] = (
                    None if outcome == Opportunity.Outcome.OPEN else closed or created_at
                )
                values["moved_at"] = (
                    created_at if existing is None else values["closed_at"] or closed or now
                )

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"], row.values.get("closed_at"))

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        always = ["customer", "name", "amount", "team", "created_at", "currency"]
        mapping = {
            "kind": "kind",
            "owner": "owner_id",
            "expected_close_date": "expected_close_date",
            "forecast_category": "forecast_category",
            "lead": "lead_id",
            "lost_reason": "lost_reason",
        }
        moved = [row for row in rows if row.values["move"] is not None]
        records = []
        for row in rows:
            values = row.values
            record = {
                "external_id": row.raw("external_id"),
                "customer_id": values["customer"],
                "name": values["name"],
                "amount": values["amount"],
                "team_id": values["team"],
                "created_at": values["created_at"],
                "currency": values["currency"],
                **{f: values[c] for c, f in mapping.items() if c in ctx.columns},
            }
            if values["move"] is not None:
                record.update(
                    stage_id=values["move"]["pk"],
                    outcome=values["outcome"],
                    probability=values["probability"],
                    closed_at=values["closed_at"],
                )
            else:
                # A known deal staying in its stage: the stored stage fields, left unchanged
                # (present only because an INSERT attempt needs every NOT NULL column).
                existing = row.existing or {}
                record.update(
                    stage_id=existing["stage_id"],
                    outcome=existing["outcome"],
                    probability=existing["probability"],
                    closed_at=existing["closed_at"],
                )
            records.append(record)
        # Rows with and without a stage move rewrite different fields: two upserts.
        stay = [r for r, row in zip(records, rows, strict=True) if row.values["move"] is None]
        go = [r for r, row in zip(records, rows, strict=True) if row.values["move"] is not None]
        upsert(Opportunity, stay, update_fields=_update_fields(ctx, mapping, always))
        upsert(
            Opportunity,
            go,
            update_fields=_update_fields(
                ctx, mapping, [*always, "stage", "outcome", "probability", "closed_at"]
            ),
        )
        if moved:
            pks = by_external_id(Opportunity, (row.raw("external_id") for row in moved))
            # The stage history the funnel is built from (from_stage None = creation).
            OpportunityStageChange.objects.bulk_create(
                [
                    OpportunityStageChange(
                        opportunity_id=pks[row.raw("external_id")]["pk"],
                        from_stage_id=row.values["from_stage"],
                        to_stage_id=row.values["move"]["pk"],
                        changed_at=row.values["moved_at"],
                    )
                    for row in moved
                ]
            )


# --- products ----------------------------------------------------------------------------------


class ProductKind(ImportKind):
    key = "products"
    label = gettext_lazy("Products")
    model = Product
    columns = (
        Column("external_id", required=True, aliases=("id", "product_id")),
        Column("sku", required=True),
        Column("name", required=True),
        Column("product_line", required=True, help="product line code or name"),
        Column("unit_price", aliases=("price",)),
        Column("is_active", aliases=("active",)),
    )
    FIELDS = {
        "sku": "sku",
        "name": "name",
        "product_line": "product_line_id",
        "unit_price": "unit_price",
        "is_active": "is_active",
    }

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["lines"] = reference_table(ProductLine, "code", "name")
        ctx.cache["skus"] = {}

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        skus = {row.raw("sku") for row in rows if row.has("sku")}
        owners = dict(Product.objects.filter(sku__in=skus).values_list("sku", "external_id"))
        seen: dict[str, int] = ctx.cache["skus"]
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            if row.require("sku"):
                sku = _text(row, self, "sku")
                owner = owners.get(sku)
                if sku in owners and owner != row.raw("external_id"):
                    row.error(
                        "sku",
                        _("SKU “%(sku)s” belongs to another product (%(owner)s)")
                        % {"sku": sku, "owner": owner or "—"},
                    )
                elif sku in seen:
                    row.error(
                        "sku",
                        _("duplicate SKU “%(sku)s” (already on line %(line)s)")
                        % {"sku": sku, "line": seen[sku]},
                    )
                else:
                    seen[sku] = row.line
            if row.require("name"):
                _text(row, self, "name")
            if row.require("product_line"):
                row.values["product_line"] = _reference(
                    row, "product_line", ctx, "lines", _("product line")
                )
            row.parse("unit_price", parse.decimal, 0)
            row.parse("is_active", parse.boolean, True)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        records = [
            {
                "external_id": row.raw("external_id"),
                **{f: row.values[c] for c, f in self.FIELDS.items() if c in ctx.columns},
            }
            for row in rows
        ]
        upsert(Product, records, update_fields=_update_fields(ctx, self.FIELDS, []))


# --- activities --------------------------------------------------------------------------------


class ActivityKind(ImportKind):
    key = "activities"
    label = gettext_lazy("Activities")
    model = Activity
    columns = (
        Column("external_id", required=True, aliases=("id", "activity_id")),
        Column("kind", required=True, help="call, email, meeting, chat, note or task"),
        Column("subject", required=True),
        Column("customer", help="customer external id"),
        Column("lead", help="lead external id"),
        Column("opportunity", help="opportunity external id"),
        Column("owner"),
        Column("notes"),
        Column("due_at"),
        Column("done_at"),
        Column("is_bulk", help="mass mailing (not an interaction)"),
        Column("created_at"),
    )
    existing_fields = ("pk", "created_at")
    KINDS = parse.choice_map(Activity.Kind.choices)

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(Customer, (row.raw("customer") for row in rows), "team_id")
        leads = by_external_id(Lead, (row.raw("lead") for row in rows), "team_id")
        opportunities = by_external_id(
            Opportunity, (row.raw("opportunity") for row in rows), "team_id", "customer_id"
        )
        users = _load_users(ctx, rows, "owner")
        users.load_teams()
        now = timezone.now()
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            row.parse("kind", lambda raw: parse.choice(raw, choices=self.KINDS))
            row.require("kind")
            if row.require("subject"):
                _text(row, self, "subject")
            row.parse("notes", str.strip, "")
            row.parse("is_bulk", parse.boolean, False)
            due = row.parse("due_at", parse.moment)
            done = row.parse("done_at", parse.moment)
            created = row.parse("created_at", parse.moment)
            owner = users.resolve(row, "owner")
            records: dict[str, dict[str, Any] | None] = {}
            for column, table in (
                ("customer", customers),
                ("lead", leads),
                ("opportunity", opportunities),
            ):
                records[column] = None
                if row.has(column):
                    records[column] = table.get(row.raw(column))
                    if records[column] is None:
                        row.error(
                            column,
                            _("unknown %(what)s “%(id)s”")
                            % {"what": column, "id": row.raw(column)},
                        )
            if not any(row.has(column) for column in records):
                row.error(
                    "customer",
                    _("An activity must concern a customer, a lead or an opportunity."),
                )
            if row.errors:
                continue
            customer_id = records["customer"]["pk"] if records["customer"] else None
            if customer_id is None and records["opportunity"] is not None:
                customer_id = records["opportunity"]["customer_id"]
            # activity_log: the record's team, unless the owner works in other teams.
            record_team = next(
                (
                    record["team_id"]
                    for record in (records["customer"], records["opportunity"], records["lead"])
                    if record is not None and record["team_id"] is not None
                ),
                None,
            )
            owner_teams = users.teams.get(owner, []) if owner else []
            team = record_team
            if owner_teams and record_team not in owner_teams:
                team = owner_teams[0]
            row.values.update(
                owner=owner,
                customer=customer_id,
                lead=records["lead"]["pk"] if records["lead"] else None,
                opportunity=records["opportunity"]["pk"] if records["opportunity"] else None,
                team=team,
                due_at=due,
                done_at=done,
                created_at=created or (row.existing or {}).get("created_at") or now,
            )

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"], row.values["done_at"])

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        fields = [
            "kind",
            "subject",
            "notes",
            "is_bulk",
            "owner",
            "customer",
            "lead",
            "opportunity",
            "team",
            "due_at",
            "done_at",
            "created_at",
        ]
        records = [
            {
                "external_id": row.raw("external_id"),
                **{
                    Activity._meta.get_field(name).attname: row.values[name]  # type: ignore[union-attr]
                    for name in fields
                },
            }
            for row in rows
        ]
        upsert(Activity, records, update_fields=fields)


# --- costs -------------------------------------------------------------------------------------


class _CostKind(ImportKind):
    """Shared by marketing spend and sales costs: a period [start, end) and an amount ≥ 0."""

    relation: str = ""

    def _period(self, row: Row) -> None:
        start = row.parse("period_start", parse.date) if row.require("period_start") else None
        end = row.parse("period_end", parse.date) if row.require("period_end") else None
        if row.require("amount"):
            row.parse("amount", parse.decimal)
        if start is not None and end is not None and end <= start:
            # sales.services._period_check
            row.error("period_end", _("The period end (exclusive) must be after its start."))

    def touched(self, row: Row) -> tuple[Any, ...]:
        start, end = row.values["period_start"], row.values["period_end"]
        # Every month the period overlaps (first day of each), plus its first and last day.
        days = [start, end - dt.timedelta(days=1)]
        month = start.replace(day=1)
        while month < end:
            days.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return tuple(days)


class MarketingSpendKind(_CostKind):
    key = "marketing_spend"
    label = gettext_lazy("Marketing spend")
    model = MarketingSpend
    columns = (
        Column("external_id", required=True, aliases=("id",)),
        Column("period_start", required=True, aliases=("start",)),
        Column("period_end", required=True, aliases=("end",), help="exclusive"),
        Column("amount", required=True),
        Column("channel"),
        Column("campaign"),
    )

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["channels"] = reference_table(Channel, "code", "name")
        ctx.cache["campaigns"] = reference_table(Campaign, "external_id", "name")

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            self._period(row)
            row.values["channel"] = _reference(row, "channel", ctx, "channels", _("channel"))
            row.values["campaign"] = _reference(row, "campaign", ctx, "campaigns", _("campaign"))

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        fields = ["period_start", "period_end", "amount", "channel", "campaign"]
        records = [
            {
                "external_id": row.raw("external_id"),
                "period_start": row.values["period_start"],
                "period_end": row.values["period_end"],
                "amount": row.values["amount"],
                "channel_id": row.values["channel"],
                "campaign_id": row.values["campaign"],
            }
            for row in rows
        ]
        upsert(MarketingSpend, records, update_fields=fields)


class SalesCostKind(_CostKind):
    key = "sales_costs"
    label = gettext_lazy("Sales costs")
    model = SalesCost
    columns = (
        Column("external_id", required=True, aliases=("id",)),
        Column("period_start", required=True, aliases=("start",)),
        Column("period_end", required=True, aliases=("end",), help="exclusive"),
        Column("amount", required=True),
        Column("team"),
        Column("description"),
    )

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["teams"] = reference_table(Team, "name")

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            self._period(row)
            row.values["team"] = _reference(row, "team", ctx, "teams", _("team"))
            _text(row, self, "description")

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        records = [
            {
                "external_id": row.raw("external_id"),
                "period_start": row.values["period_start"],
                "period_end": row.values["period_end"],
                "amount": row.values["amount"],
                "team_id": row.values["team"],
                "description": row.values["description"],
            }
            for row in rows
        ]
        upsert(
            SalesCost,
            records,
            update_fields=["period_start", "period_end", "amount", "team", "description"],
        )


__all__ = [
    "ActivityKind",
    "ContactKind",
    "LeadKind",
    "MarketingSpendKind",
    "OpportunityKind",
    "ProductKind",
    "SalesCostKind",
]

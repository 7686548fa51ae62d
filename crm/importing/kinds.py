"""The importable kinds: their columns (docs/import.md), validation and set-based upserts.

Why not call the per-row services: `order_create` for 100,000 rows is 100,000 transactions and
several queries each. Instead each kind validates a chunk with one query per relation and writes
it with one upsert (crm.importing.upsert: `bulk_create(update_conflicts=True)` semantics, via COPY
on PostgreSQL), applying the services' rules through the same
helpers they use (`order_currency_validate`, `order_net_amount`, `survey_score_check` …) and
repeating set-based what they do to other records (customer acquisition after orders, order
totals after lines). Rules only reachable through a private helper are restated here with the
same messages, and the tests pin them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing import values as parse
from crm.importing.base import (
    Column,
    ImportContext,
    ImportKind,
    Row,
    UserResolver,
    by_external_id,
    model_max_length,
    reference_table,
    resolve_reference,
)
from crm.importing.upsert import upsert
from customers.models import Channel, Customer, Segment, Team
from sales.models import Campaign, Order, OrderLine, Product
from sales.services import order_currency_validate, order_net_amount
from support.models import Ticket
from surveys.models import Survey, SurveyResponse
from surveys.services import survey_score_check

CENT = Decimal("0.01")
ZERO = Decimal("0")
BATCH_SIZE = 1000


def validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) pairs of a service's ValidationError."""
    if hasattr(exc, "error_dict"):
        return [
            (name, str(message)) for name, errors in exc.message_dict.items() for message in errors
        ]
    return [("", str(message)) for message in exc.messages]


def _users(ctx: ImportContext) -> UserResolver:
    resolver = ctx.cache.get("users")
    if resolver is None:
        resolver = ctx.cache["users"] = UserResolver()
    return resolver


def _load_users(ctx: ImportContext, rows: Iterable[Row], *columns: str) -> UserResolver:
    resolver = _users(ctx)
    resolver.load(row.raw(column) for row in rows for column in columns)
    return resolver


def _text(row: Row, kind: ImportKind, name: str, field: str | None = None) -> str:
    max_length = model_max_length(kind.model, field or name)
    return row.parse(name, lambda raw: parse.text(raw, max_length=max_length), "")


def _products(values: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Products by external id or SKU (lowercased SKU), in one query."""
    wanted = {value for value in values if value}
    if not wanted:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for record in Product.objects.filter(Q(external_id__in=wanted) | Q(sku__in=wanted)).values(
        "pk", "external_id", "sku", "unit_price"
    ):
        if record["external_id"]:
            found.setdefault(record["external_id"], dict(record))
        found.setdefault(record["sku"], dict(record))
    return found


def _update_fields(ctx: ImportContext, mapping: dict[str, str], always: Iterable[str]) -> list[str]:
    """Model fields an upsert rewrites: those whose column is in the file, plus derived ones."""
    fields = [field for column, field in mapping.items() if column in ctx.columns]
    fields += [field for field in always if field not in fields]
    return fields


# --- customers ---------------------------------------------------------------------------------


class CustomerKind(ImportKind):
    key = "customers"
    label = gettext_lazy("Customers")
    model = Customer
    columns = (
        Column("external_id", required=True, aliases=("id", "customer_id")),
        Column("name", required=True, aliases=("company", "customer_name")),
        Column("kind", help="person or company (default company)"),
        Column("email", aliases=("e-mail", "e_mail")),
        Column("phone"),
        Column("language"),
        Column("owner", help="username or e-mail of a user"),
        Column("team", help="team name"),
        Column("channel", help="acquisition channel code or name"),
        Column("segment", help="segment code or name"),
        Column("campaign", help="campaign external id or name"),
        Column("referred_by", help="external id of the referring customer"),
        Column("acquired_at", help="ISO date or date-time"),
        Column("created_at", help="ISO date or date-time (default: now)"),
        Column("contract_end_date", help="ISO date"),
    )
    existing_fields = ("pk", "created_at", "acquired_at", "churned_at", "status")
    FIELDS = {
        "name": "name",
        "kind": "kind",
        "email": "email",
        "phone": "phone",
        "language": "language",
        "owner": "owner_id",
        "team": "team_id",
        "channel": "channel_id",
        "segment": "segment_id",
        "campaign": "campaign_id",
        "created_at": "created_at",
        "contract_end_date": "contract_end_date",
    }
    KINDS = parse.choice_map(Customer.Kind.choices)

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["teams"] = reference_table(Team, "name")
        ctx.cache["channels"] = reference_table(Channel, "code", "name")
        ctx.cache["segments"] = reference_table(Segment, "code", "name")
        ctx.cache["campaigns"] = reference_table(Campaign, "external_id", "name")
        ctx.cache["valid_ids"] = set()

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        users = _load_users(ctx, rows, "owner")
        referrers = by_external_id(Customer, (row.raw("referred_by") for row in rows))
        valid_ids: set[str] = ctx.cache["valid_ids"]
        now = timezone.now()
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            if row.require("name"):
                _text(row, self, "name")
            row.parse("kind", lambda raw: parse.choice(raw, choices=self.KINDS), "company")
            row.parse("email", parse.email, "")
            _text(row, self, "phone")
            row.parse("language", lambda raw: parse.text(raw, max_length=10), "en")
            row.values["owner"] = users.resolve(row, "owner")
            for column, table, what in (
                ("team", "teams", _("team")),
                ("channel", "channels", _("channel")),
                ("segment", "segments", _("segment")),
                ("campaign", "campaigns", _("campaign")),
            ):
                found = resolve_reference(row, column, ctx.cache[table], what)
                row.values[column] = found["pk"] if found else None
            acquired = row.parse("acquired_at", parse.moment)
            created = row.parse("created_at", parse.moment)
            row.parse("contract_end_date", parse.date)
            referred = row.raw("referred_by")
            if referred:
                if referred == row.raw("external_id"):
                    row.error("referred_by", _("a customer cannot refer themselves"))
                elif referred not in referrers and referred not in valid_ids:
                    row.error(
                        "referred_by",
                        _(
                            "unknown customer “%(id)s” (the referrer must exist or be on an "
                            "earlier line)"
                        )
                        % {"id": referred},
                    )
            existing = row.existing or {}
            # Acquisition is the earliest known date (as lead_convert and order_create keep it).
            candidates = [m for m in (existing.get("acquired_at"), acquired) if m is not None]
            acquired_at = min(candidates) if candidates else None
            churned_at = existing.get("churned_at")
            if acquired_at is not None and churned_at is not None and acquired_at > churned_at:
                row.error(
                    "acquired_at",
                    _("the customer churned on %(date)s, before this acquisition date")
                    % {"date": churned_at.date().isoformat()},
                )
            status = existing.get("status", Customer.Status.PROSPECT)
            if acquired_at is not None and status == Customer.Status.PROSPECT:
                status = Customer.Status.ACTIVE
            row.values["acquired_at"] = acquired_at
            row.values["status"] = status
            row.values["created_at"] = created or existing.get("created_at") or now
            if not row.errors:
                valid_ids.add(row.raw("external_id"))

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"], row.values["acquired_at"])

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        customers = [
            {
                "external_id": row.raw("external_id"),
                "acquired_at": row.values["acquired_at"],
                "status": row.values["status"],
                **{
                    field: row.values[column]
                    for column, field in self.FIELDS.items()
                    if column in ctx.columns or column == "created_at"
                },
            }
            for row in rows
        ]
        upsert(
            Customer,
            customers,
            update_fields=_update_fields(
                ctx, self.FIELDS, ["created_at", "acquired_at", "status", "updated_at"]
            ),
        )
        referring = [row for row in rows if row.has("referred_by")]
        if referring:
            ids = {row.raw("external_id") for row in referring} | {
                row.raw("referred_by") for row in referring
            }
            pks = {key: record["pk"] for key, record in by_external_id(Customer, ids).items()}
            updates = [
                Customer(pk=pks[row.raw("external_id")], referred_by_id=pks[row.raw("referred_by")])
                for row in referring
            ]
            Customer.objects.bulk_update(updates, ["referred_by"], batch_size=BATCH_SIZE)


# --- orders ------------------------------------------------------------------------------------


def _line_total(unit_price: Decimal, quantity: int) -> Decimal:
    # The rounding of sales.services._order_lines_build.
    return (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)


class OrderKind(ImportKind):
    key = "orders"
    label = gettext_lazy("Orders")
    model = Order
    columns = (
        Column("external_id", required=True, aliases=("id", "order_id")),
        Column("customer", required=True, aliases=("customer_id", "customer_external_id")),
        Column("ordered_at", required=True, aliases=("order_date", "date")),
        Column("total", aliases=("amount",)),
        Column("currency"),
        Column("exchange_rate"),
        Column("status"),
        Column("channel"),
        Column("owner"),
        Column("product", help="one-line order: product external id or SKU"),
        Column("quantity"),
        Column("unit_price"),
    )
    existing_fields = (
        "pk",
        "total",
        "refunded_total",
        "customer_id",
        "status",
        "delivered_at",
        "cancelled_at",
    )
    STATUSES = parse.choice_map(Order.Status.choices)
    FIELDS = {"channel": "channel_id", "owner": "owner_id"}

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["channels"] = reference_table(Channel, "code", "name")
        # customer pk → [earliest, latest] non-cancelled order date in this import.
        ctx.cache["acquisitions"] = {}

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(
            Customer, (row.raw("customer") for row in rows), "acquired_at", "churned_at"
        )
        users = _load_users(ctx, rows, "owner")
        products = _products(row.raw("product") for row in rows) if "product" in ctx.columns else {}
        currencies: dict[tuple[str, Decimal | None], Any] = {}
        channel_word = _("channel")
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            customer = None
            if row.require("customer"):
                customer = customers.get(row.raw("customer"))
                if customer is None:
                    row.error(
                        "customer", _("unknown customer “%(id)s”") % {"id": row.raw("customer")}
                    )
            ordered_at = (
                row.parse("ordered_at", parse.moment) if row.require("ordered_at") else None
            )
            status = row.parse(
                "status", lambda raw: parse.choice(raw, choices=self.STATUSES), "completed"
            )
            total = row.parse("total", parse.decimal)
            rate = row.parse("exchange_rate", lambda raw: parse.decimal(raw, places=6))
            # The rule of order_create, memoised: a file holds few (currency, rate) pairs.
            pair = (row.raw("currency"), rate)
            checked = currencies.get(pair)
            if checked is None:
                try:
                    checked = order_currency_validate(pair[0] or None, rate)
                except ValidationError as exc:
                    checked = validation_messages(exc)
                currencies[pair] = checked
            if isinstance(checked, list):
                for field, message in checked:
                    row.error(field, message)
                currency, rate = "", Decimal("1")
            else:
                currency, rate = checked
            channel = resolve_reference(row, "channel", ctx.cache["channels"], channel_word)
            row.values["channel"] = channel["pk"] if channel else None
            row.values["owner"] = users.resolve(row, "owner")
            line = self._line(row, products)
            existing = row.existing or {}
            if line is not None:
                if total is not None and total != line["line_total"]:
                    # order_create: the total must equal the sum of the lines.
                    row.error(
                        "total",
                        _("the total %(total)s differs from the sum of the lines %(sum)s")
                        % {"total": total, "sum": line["line_total"]},
                    )
                total = line["line_total"]
            elif total is None:
                # Blank: kept on a known order, 0 on a new one until its lines are imported.
                total = existing.get("total", ZERO)
            refunded = existing.get("refunded_total", ZERO)
            if total < refunded:
                row.error(
                    "total",
                    _("the total %(total)s is below the refunded amount %(refunded)s")
                    % {"total": total, "refunded": refunded},
                )
            if (
                customer is not None
                and ordered_at is not None
                and status != Order.Status.CANCELLED
                and customer["acquired_at"] is None
                and customer["churned_at"] is not None
                and ordered_at > customer["churned_at"]
            ):
                row.error(
                    "ordered_at",
                    _(
                        "customer “%(id)s” is marked churned on %(date)s and was never "
                        "acquired; correct the churn date first"
                    )
                    % {"id": row.raw("customer"), "date": customer["churned_at"].date()},
                )
            if row.errors:
                continue
            assert customer is not None
            assert ordered_at is not None
            row.values.update(
                customer=customer["pk"],
                currency=currency,
                exchange_rate=rate,
                total=total,
                net_amount=order_net_amount(
                    total=total, refunded_total=refunded, exchange_rate=rate
                ),
                delivered_at=(
                    existing.get("delivered_at") or ordered_at
                    if status == Order.Status.DELIVERED
                    else None
                ),
                cancelled_at=(
                    existing.get("cancelled_at") or ordered_at
                    if status == Order.Status.CANCELLED
                    else None
                ),
                line=line,
            )

    def _line(self, row: Row, products: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        if not row.has("product"):
            for column in ("quantity", "unit_price"):
                if row.has(column):
                    row.error(column, _("needs a product in the same row"))
            return None
        product = products.get(row.raw("product"))
        if product is None:
            row.error("product", _("unknown product “%(id)s”") % {"id": row.raw("product")})
            return None
        quantity = row.parse("quantity", lambda raw: parse.whole_number(raw, minimum=1), 1)
        unit_price = row.parse("unit_price", parse.decimal, product["unit_price"])
        return {
            "product": product["pk"],
            "quantity": quantity,
            "unit_price": unit_price,
            "line_total": _line_total(unit_price, quantity),
        }

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["ordered_at"],)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        orders = []
        acquisitions: dict[int, list[dt.datetime]] = ctx.cache["acquisitions"]
        for row in rows:
            values = row.values
            orders.append(
                {
                    "external_id": row.raw("external_id"),
                    "customer_id": values["customer"],
                    "ordered_at": values["ordered_at"],
                    "status": values["status"],
                    "currency": values["currency"],
                    "exchange_rate": values["exchange_rate"],
                    "total": values["total"],
                    "net_amount": values["net_amount"],
                    "channel_id": values["channel"],
                    "owner_id": values["owner"],
                    "delivered_at": values["delivered_at"],
                    "cancelled_at": values["cancelled_at"],
                }
            )
            if values["status"] != Order.Status.CANCELLED:
                span = acquisitions.get(values["customer"])
                if span is None:
                    acquisitions[values["customer"]] = [values["ordered_at"], values["ordered_at"]]
                else:
                    span[0] = min(span[0], values["ordered_at"])
                    span[1] = max(span[1], values["ordered_at"])
        upsert(
            Order,
            orders,
            update_fields=_update_fields(
                ctx,
                self.FIELDS,
                [
                    "customer",
                    "ordered_at",
                    "status",
                    "currency",
                    "exchange_rate",
                    "total",
                    "net_amount",
                    "delivered_at",
                    "cancelled_at",
                ],
            ),
        )
        with_line = [row for row in rows if row.values["line"] is not None]
        if with_line:
            pks = by_external_id(Order, (row.raw("external_id") for row in with_line))
            order_lines_replace(
                {pks[row.raw("external_id")]["pk"]: [row.values["line"]] for row in with_line}
            )

    def finish(self, ctx: ImportContext) -> None:
        customers_after_orders(ctx.cache["acquisitions"])


def order_lines_replace(lines_by_order: dict[int, list[dict[str, Any]]]) -> None:
    """Replace the lines of these orders (a re-import must not add them twice)."""
    OrderLine.objects.filter(order_id__in=list(lines_by_order)).delete()
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order_id=order_id,
                product_id=line["product"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                line_total=line["line_total"],
            )
            for order_id, lines in lines_by_order.items()
            for line in lines
        ],
        batch_size=BATCH_SIZE,
    )


def customers_after_orders(acquisitions: dict[int, list[dt.datetime]]) -> None:
    """What order_create does to the customer, set-based: a non-cancelled order acquires the
    customer at the earliest order date and makes them active, unless every order predates an
    explicit churn (an older imported order is not a reactivation). Customers the imported
    orders change nothing for (a re-import) are left alone; the others get one UPDATE per batch.
    """
    live_orders = Order.objects.filter(customer=OuterRef("pk")).exclude(
        status=Order.Status.CANCELLED
    )
    earliest = Subquery(
        live_orders.order_by("ordered_at").values("ordered_at")[:1],
        output_field=models.DateTimeField(),
    )
    latest = Subquery(
        live_orders.order_by("-ordered_at").values("ordered_at")[:1],
        output_field=models.DateTimeField(),
    )
    customer_ids = list(acquisitions)
    now = timezone.now()
    step = 5 * BATCH_SIZE
    for start in range(0, len(customer_ids), step):
        stale = [
            pk
            for pk, acquired_at, churned_at, status in Customer.objects.filter(
                pk__in=customer_ids[start : start + step]
            ).values_list("pk", "acquired_at", "churned_at", "status")
            if acquired_at is None
            or acquisitions[pk][0] < acquired_at
            or (
                status != Customer.Status.ACTIVE
                and (churned_at is None or acquisitions[pk][1] >= churned_at)
            )
        ]
        if not stale:
            continue
        Customer.objects.filter(pk__in=stale).update(
            acquired_at=Least(Coalesce(F("acquired_at"), earliest), earliest),
            status=Case(
                When(
                    Q(churned_at__isnull=True) | Q(churned_at__lte=latest),
                    then=Value(Customer.Status.ACTIVE),
                ),
                default=F("status"),
            ),
            updated_at=now,
        )


# --- order lines -------------------------------------------------------------------------------


class OrderLineKind(ImportKind):
    key = "order_lines"
    label = gettext_lazy("Order lines")
    model = OrderLine
    identity = None
    columns = (
        Column("order", required=True, aliases=("order_id", "order_external_id")),
        Column("product", required=True, aliases=("sku", "product_id")),
        Column("quantity", aliases=("qty",)),
        Column("unit_price", aliases=("price",)),
    )

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["replaced"] = {}  # order pk → first line number in the file

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        orders = by_external_id(Order, (row.raw("order") for row in rows), "ordered_at")
        products = _products(row.raw("product") for row in rows)
        for row in rows:
            order = product = None
            if row.require("order"):
                order = orders.get(row.raw("order"))
                if order is None:
                    row.error("order", _("unknown order “%(id)s”") % {"id": row.raw("order")})
            if row.require("product"):
                product = products.get(row.raw("product"))
                if product is None:
                    row.error("product", _("unknown product “%(id)s”") % {"id": row.raw("product")})
            # sales.services._order_lines_build: a whole quantity above zero, price ≥ 0
            # defaulting to the product's price.
            quantity = row.parse("quantity", lambda raw: parse.whole_number(raw, minimum=1), 1)
            unit_price = row.parse(
                "unit_price", parse.decimal, product["unit_price"] if product else None
            )
            if row.errors or order is None or product is None:
                continue
            row.values.update(
                order=order["pk"],
                ordered_at=order["ordered_at"],
                line={
                    "product": product["pk"],
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "line_total": _line_total(unit_price, quantity),
                },
            )

    def count(self, rows: Iterable[Row], ctx: ImportContext) -> None:
        ctx.created += sum(1 for _row in rows)

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["ordered_at"],)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        replaced: dict[int, int] = ctx.cache["replaced"]
        fresh: dict[int, list[dict[str, Any]]] = {}
        appended: list[OrderLine] = []
        for row in rows:
            order_id = row.values["order"]
            if order_id not in replaced:
                replaced[order_id] = row.line
                fresh[order_id] = []
            if order_id in fresh:
                fresh[order_id].append(row.values["line"])
            else:  # lines of an order already replaced by an earlier chunk
                line = row.values["line"]
                appended.append(
                    OrderLine(
                        order_id=order_id,
                        product_id=line["product"],
                        quantity=line["quantity"],
                        unit_price=line["unit_price"],
                        line_total=line["line_total"],
                    )
                )
        if fresh:
            order_lines_replace(fresh)
        if appended:
            OrderLine.objects.bulk_create(appended, batch_size=BATCH_SIZE)

    def finish(self, ctx: ImportContext) -> None:
        """order_recompute_totals, set-based: total = Σ lines, net amount from it."""
        replaced: dict[int, int] = ctx.cache["replaced"]
        order_ids = list(replaced)
        for start in range(0, len(order_ids), BATCH_SIZE):
            batch = order_ids[start : start + BATCH_SIZE]
            changed = []
            for order in (
                Order.objects.filter(pk__in=batch)
                .annotate(lines_total=Sum("lines__line_total"))
                .only("pk", "external_id", "refunded_total", "exchange_rate", "total")
            ):
                total = order.lines_total or ZERO  # type: ignore[attr-defined]
                if total < order.refunded_total:
                    ctx.late_errors.append(
                        (
                            replaced[order.pk],
                            "unit_price",
                            _(
                                "the lines of order “%(id)s” total %(total)s, below what was "
                                "already refunded (%(refunded)s)"
                            )
                            % {
                                "id": order.external_id,
                                "total": total,
                                "refunded": order.refunded_total,
                            },
                        )
                    )
                    continue
                order.total = total
                order.net_amount = order_net_amount(
                    total=total,
                    refunded_total=order.refunded_total,
                    exchange_rate=order.exchange_rate,
                )
                changed.append(order)
            Order.objects.bulk_update(changed, ["total", "net_amount"])


# --- survey responses --------------------------------------------------------------------------


class SurveyResponseKind(ImportKind):
    key = "survey_responses"
    label = gettext_lazy("Survey responses")
    model = SurveyResponse
    columns = (
        Column("external_id", required=True, aliases=("id", "response_id")),
        Column("customer", required=True, aliases=("customer_id",)),
        Column("survey", required=True, help="nps, csat or a survey name"),
        Column("score", required=True),
        Column("responded_at", aliases=("date",)),
        Column("comment"),
        Column("ticket", help="ticket external id"),
        Column("order", help="order external id"),
    )
    existing_fields = ("pk", "survey_id", "customer_id", "responded_at")

    def prepare(self, ctx: ImportContext) -> None:
        surveys = reference_table(Survey, "name", extra=("kind", "is_active"))
        # A kind names its first active survey (alphabetically), e.g. the relationship NPS.
        for record in (
            Survey.objects.filter(is_active=True)
            .order_by("name")
            .values("pk", "name", "kind", "is_active")
        ):
            surveys.setdefault(record["kind"], dict(record))
        ctx.cache["surveys"] = surveys

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(Customer, (row.raw("customer") for row in rows))

        tickets = by_external_id(Ticket, (row.raw("ticket") for row in rows), "customer_id")
        orders = by_external_id(Order, (row.raw("order") for row in rows), "customer_id")
        now = timezone.now()
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            customer = survey = None
            if row.require("customer"):
                customer = customers.get(row.raw("customer"))
                if customer is None:
                    row.error(
                        "customer", _("unknown customer “%(id)s”") % {"id": row.raw("customer")}
                    )
            if row.require("survey"):
                survey = resolve_reference(row, "survey", ctx.cache["surveys"], _("survey"))
            score = None
            if row.require("score"):
                score = row.parse("score", parse.whole_number)
            if survey is not None and score is not None:
                try:
                    survey_score_check(kind=survey["kind"], score=score)
                except ValidationError as exc:
                    for _field, message in validation_messages(exc):
                        row.error("score", message)
            responded_at = row.parse("responded_at", parse.moment)
            row.parse("comment", str.strip, "")
            subjects = {}
            for column, table in (("ticket", tickets), ("order", orders)):
                subject = None
                if row.has(column):
                    subject = table.get(row.raw(column))
                    if subject is None:
                        row.error(
                            column,
                            _("unknown %(what)s “%(id)s”")
                            % {"what": column, "id": row.raw(column)},
                        )
                    elif customer is not None and subject["customer_id"] != customer["pk"]:
                        # surveys.services._check_subjects
                        row.error(
                            column,
                            _("The %(what)s belongs to another customer.") % {"what": column},
                        )
                subjects[column] = subject["pk"] if subject else None
            existing = row.existing
            if (
                existing is not None
                and survey is not None
                and customer is not None
                and (
                    existing["survey_id"] != survey["pk"]
                    or existing["customer_id"] != customer["pk"]
                )
            ):
                row.error("external_id", _("This external id belongs to another survey response."))
            if row.errors or survey is None or customer is None:
                continue
            row.values.update(
                survey=survey["pk"],
                kind=survey["kind"],
                customer=customer["pk"],
                responded_at=responded_at or (existing or {}).get("responded_at") or now,
                **subjects,
            )

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["responded_at"],)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        responses = []
        for row in rows:
            values = row.values
            responses.append(
                {
                    "external_id": row.raw("external_id"),
                    "survey_id": values["survey"],
                    "kind": values["kind"],
                    "customer_id": values["customer"],
                    "score": values["score"],
                    "comment": values["comment"],
                    "responded_at": values["responded_at"],
                    "ticket_id": values["ticket"],
                    "order_id": values["order"],
                }
            )
        upsert(
            SurveyResponse,
            responses,
            update_fields=_update_fields(
                ctx,
                {"ticket": "ticket", "order": "order"},
                ["score", "comment", "responded_at"],
            ),
        )

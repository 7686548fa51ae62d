"""Enhancement KPIs: revenue, orders, order value, customer concentration, lifetime value,
cross-sell and up-sell."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import active_at_q, countable_orders
from kpis.definitions.base import (
    KpiContext,
    KpiDefinition,
    KpiResult,
    RatioKpi,
    customer_paths,
    filter_dimension,
    group_key,
    grouped,
    in_period,
    ratio,
    to_decimal,
)
from kpis.definitions.maintenance import customers_ordering_in
from kpis.periods import to_datetime_range
from sales.models import Opportunity, OrderLine

ORDER_PATHS = customer_paths("customer__")
CLV_LIFESPAN_CAP_MONTHS = 60
CENT = Decimal("0.01")


def orders_in(ctx: KpiContext) -> QuerySet[Any]:
    return countable_orders().filter(in_period("ordered_at", ctx))


def shift_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clipped to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = index // 12, index % 12 + 1
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (first_next - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def _money(number: Any) -> Decimal:
    return Decimal(str(number or 0)).quantize(CENT)


class Revenue(RatioKpi):
    """revenue = Σ net_amount of non-cancelled orders dated in P (converted, refunds deducted).

    By product line: each order line's share of its order's net amount
    (line_total ÷ order total × net_amount).
    """

    key = "revenue"
    name = _("Revenue")
    description = _("Net revenue of the period's orders in the organisation currency.")
    stage = "enhancement"
    unit = "money"
    dimensions = ("all", "segment", "team", "owner", "channel", "product_line", "rfm_segment")
    dimension_paths = ORDER_PATHS | {"product_line": "product__product_line"}
    min_sample = 0
    formula = (
        "Σ Order.net_amount (= (total − refunded) × exchange rate) of non-cancelled orders with "
        "ordered_at in P; product_line: Σ line_total ÷ order total × order net_amount"
    )
    period_rule = "Order.ordered_at in P; a refund reduces the revenue of the order's period."
    edge_cases = "No orders → 0. Orders with a zero total have no product-line share."

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return orders_in(ctx)

    def numerator_aggregate(self) -> Any:
        return Sum("net_amount")

    def line_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return OrderLine.objects.filter(order__in=orders_in(ctx), order__total__gt=0)

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        if dimension == "product_line":
            return filter_dimension(self.line_queryset(ctx), self.path(dimension), value)
        return super().records(ctx, dimension, value, part)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        if dimension != "product_line":
            results = super().compute_dimension(ctx, dimension)
        else:
            share = ExpressionWrapper(
                F("line_total") * F("order__net_amount") / F("order__total"),
                output_field=DecimalField(max_digits=24, decimal_places=6),
            )
            rows = grouped(self.line_queryset(ctx), self.path(dimension), Sum(share), "order")
            results = [
                KpiResult(
                    dimension,
                    key,
                    numerator=to_decimal(_money(total)),
                    denominator=None,
                    value=to_decimal(_money(total)),
                    sample_size=count,
                )
                for key, (total, count) in sorted(rows.items())
            ]
        for result in results:
            if result.value is not None:
                result.value = result.numerator = to_decimal(_money(result.value))
        return results


class Orders(RatioKpi):
    """orders = count of non-cancelled orders dated in P."""

    key = "orders"
    name = _("Orders")
    description = _("Non-cancelled orders placed in the period.")
    stage = "enhancement"
    unit = "count"
    dimensions = ("all", "segment", "team", "owner", "channel", "rfm_segment")
    dimension_paths = ORDER_PATHS
    min_sample = 0
    formula = "count(non-cancelled orders with ordered_at in P)"
    period_rule = "Order.ordered_at in P."
    edge_cases = "No orders → 0."

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return orders_in(ctx)


class Aov(RatioKpi):
    """aov = revenue ÷ orders in P."""

    key = "aov"
    name = _("Average order value")
    description = _("Net revenue per non-cancelled order.")
    stage = "enhancement"
    unit = "money"
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = ORDER_PATHS
    formula = "Σ net_amount ÷ count of non-cancelled orders with ordered_at in P"
    period_rule = "Order.ordered_at in P."
    edge_cases = "No orders → n/a."

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return orders_in(ctx)

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return orders_in(ctx)

    def numerator_aggregate(self) -> Any:
        return Sum("net_amount")


class Top20RevenueShare(KpiDefinition):
    """top20_revenue_share = revenue in P of the top ceil(20%) ordering customers ÷ revenue in P.

    Customers are ranked by their revenue in P (ties broken by id) with a window function, per
    dimension value, in one SQL statement.
    """

    key = "top20_revenue_share"
    name = _("Top-20% revenue share")
    description = _("Share of revenue coming from the best fifth of ordering customers.")
    stage = "enhancement"
    unit = "percent"
    direction = "lower"
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    formula = (
        "Σ revenue in P of the ceil(0.2 × n) customers with the highest revenue in P ÷ revenue "
        "in P, n = customers with a non-cancelled order in P"
    )
    period_rule = "Order.ordered_at in P."
    edge_cases = "No revenue → n/a. With 1–5 customers the top 20% is one customer."

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        return filter_dimension(orders_in(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        path = self.path(dimension)
        per_customer = (
            orders_in(ctx)
            .order_by()
            .annotate(dim=F(path) if path else Value(""))
            .values("customer", "dim")
            .annotate(rev=Sum("net_amount"))
            .annotate(
                rn=Window(
                    RowNumber(),
                    partition_by=[F("dim")],
                    order_by=[F("rev").desc(), F("customer").asc()],
                ),
                cnt=Window(Count("customer"), partition_by=[F("dim")]),
            )
        )
        inner_sql, params = per_customer.query.sql_with_params()
        # ceil(cnt / 5) customers: rn <= ceil(cnt/5)  ⇔  5·rn <= cnt + 4 (integers).
        sql = (
            "SELECT ranked.dim, "
            "SUM(CASE WHEN 5 * ranked.rn <= ranked.cnt + 4 THEN ranked.rev ELSE 0 END), "
            "SUM(ranked.rev), COUNT(*) "
            f"FROM ({inner_sql}) ranked GROUP BY ranked.dim"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        results = []
        for dim, top, total, customers in rows:
            numerator = to_decimal(_money(top))
            denominator = to_decimal(_money(total))
            results.append(
                KpiResult(
                    dimension,
                    group_key(dim) if path else "",
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator),
                    sample_size=int(customers),
                    details={"top_customers": (int(customers) + 4) // 5},
                )
            )
        return results


class Clv(KpiDefinition):
    """clv = AOV × purchase frequency × expected lifespan, over the 12 months ending at P.end.

    AOV = revenue ÷ orders; frequency = orders ÷ distinct ordering customers ÷ 12; lifespan =
    1 ÷ (Σ churned ÷ Σ active at month start over the 12 months), capped at 60 months.
    """

    key = "clv"
    name = _("Customer lifetime value")
    description = _("Expected revenue of a customer over their lifetime (predictive, simple).")
    stage = "enhancement"
    unit = "money"
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    formula = (
        "AOV × frequency × lifespan over [P.end − 12 months, P.end): AOV = revenue ÷ orders; "
        "frequency = orders ÷ ordering customers ÷ 12; lifespan = min(1 ÷ (Σ churned in month ÷ "
        "Σ active at month start), 60) months; stored numerator = 12-month revenue, denominator "
        "= 12-month ordering customers"
    )
    period_rule = (
        "Trailing 12 calendar months ending at P.end (month boundaries at local midnight)."
    )
    edge_cases = (
        "No orders → n/a. No churn (or no active customers at month starts) → lifespan capped at "
        "60 months and details.lifespan_capped = true."
    )
    departures = (
        "The stored numerator/denominator (12-month revenue and customers) do not roll up to the "
        "value; re-aggregate from details instead."
    )

    def __init__(self) -> None:
        # Shared by the dimensions of one compute() call only (cleared before and after it).
        self._churn_cache: dict[KpiContext, list[tuple[dict[str, Any], int, int]]] = {}

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        self._churn_cache.clear()
        try:
            return super().compute(ctx)
        finally:
            self._churn_cache.clear()

    def trailing_range(self, ctx: KpiContext) -> tuple[dt.datetime, dt.datetime]:
        return to_datetime_range(shift_months(ctx.period_end, -12), ctx.period_end)

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        start, end = self.trailing_range(ctx)
        orders = countable_orders().filter(ordered_at__gte=start, ordered_at__lt=end)
        return filter_dimension(orders, self.path(dimension), value)

    CHURN_COLUMNS: ClassVar[tuple[str, ...]] = ("segment", "team", "channel")

    def churn_table(self, ctx: KpiContext) -> list[tuple[dict[str, Any], int, int]]:
        """(dimension values, Σ active at month start, Σ churned in month) per combination of
        segment, team and channel over the 12 trailing months: one grouped query per month
        serves every dimension (the Python sums run over these few groups, not customers)."""
        cached = self._churn_cache.get(ctx)
        if cached is not None:
            return cached
        totals: dict[tuple[Any, ...], list[int]] = {}
        for months_back in range(12, 0, -1):
            month_start, month_end = to_datetime_range(
                shift_months(ctx.period_end, -months_back),
                shift_months(ctx.period_end, -months_back + 1),
            )
            gone_at_month_end = ~active_at_q(month_end, ctx.rules)
            rows = (
                Customer.objects.filter(active_at_q(month_start, ctx.rules))
                .order_by()
                .values(*self.CHURN_COLUMNS)
                .annotate(active=Count("pk"), churned=Count("pk", filter=gone_at_month_end))
            )
            for row in rows:
                key = tuple(row[column] for column in self.CHURN_COLUMNS)
                sums = totals.setdefault(key, [0, 0])
                sums[0] += row["active"]
                sums[1] += row["churned"]
        table = [
            (dict(zip(self.CHURN_COLUMNS, key, strict=True)), active, churned)
            for key, (active, churned) in totals.items()
        ]
        self._churn_cache[ctx] = table
        return table

    def churn_counts(self, ctx: KpiContext, dimension: str) -> dict[str, tuple[int, int]]:
        """{value: (Σ active at month start, Σ churned in month)} over the 12 trailing months."""
        counts: dict[str, tuple[int, int]] = {}
        for values, active, churned in self.churn_table(ctx):
            key = "" if dimension == "all" else group_key(values[dimension])
            active_sum, churned_sum = counts.get(key, (0, 0))
            counts[key] = (active_sum + active, churned_sum + churned)
        return counts

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        path = self.path(dimension)
        # `records` returns a lazy queryset; test for None only — `qs or …` would evaluate it
        # and load every order of the trailing 12 months into memory.
        queryset = self.records(ctx, "all")
        if queryset is None:
            queryset = countable_orders().none()
        aggregates = {
            "revenue": Sum("net_amount"),
            "orders": Count("pk"),
            "customers": Count("customer", distinct=True),
        }
        if path is None:
            rows = [queryset.aggregate(**aggregates) | {"key": None}]
        else:
            rows = [
                row | {"key": row[path]}
                for row in queryset.order_by().values(path).annotate(**aggregates)
            ]
        churn = self.churn_counts(ctx, dimension)
        results = []
        for row in rows:
            key = group_key(row["key"])
            orders, customers = row["orders"] or 0, row["customers"] or 0
            revenue = _money(row["revenue"])
            active_sum, churned_sum = churn.get(key, (0, 0))
            value = None
            details: dict[str, Any] = {"active_month_starts": active_sum, "churned": churned_sum}
            if orders:
                aov = revenue / orders
                frequency = Decimal(orders) / customers / 12
                capped = churned_sum == 0 or active_sum == 0
                lifespan = Decimal(CLV_LIFESPAN_CAP_MONTHS)
                if not capped:
                    lifespan = Decimal(active_sum) / Decimal(churned_sum)
                    if lifespan > CLV_LIFESPAN_CAP_MONTHS:
                        lifespan, capped = Decimal(CLV_LIFESPAN_CAP_MONTHS), True
                value = to_decimal(aov * frequency * lifespan)
                details |= {
                    "aov": str(aov.quantize(CENT)),
                    "purchase_frequency": str(frequency.quantize(Decimal("0.0001"))),
                    "lifespan_months": str(lifespan.quantize(Decimal("0.01"))),
                    "lifespan_capped": capped,
                    "monthly_churn_rate": (
                        str((Decimal(churned_sum) / active_sum).quantize(Decimal("0.0001")))
                        if active_sum
                        else None
                    ),
                }
            results.append(
                KpiResult(
                    dimension,
                    key,
                    numerator=to_decimal(revenue),
                    denominator=to_decimal(customers),
                    value=value,
                    sample_size=customers,
                    details=details,
                )
            )
        return results


class ClvHistoric(RatioKpi):
    """clv_historic = mean, over customers active at P.end, of their net revenue to date."""

    key = "clv_historic"
    name = _("Historic customer value")
    description = _("Average net revenue to date of the customers active at the period's end.")
    stage = "enhancement"
    unit = "money"
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    denominator_paths = customer_paths()
    formula = (
        "Σ net_amount of non-cancelled orders before P.end of customers active at P.end ÷ "
        "customers active at P.end"
    )
    period_rule = "Activity at P.end; orders up to P.end."
    edge_cases = "No active customers → n/a."

    def active_at_end(self, ctx: KpiContext) -> QuerySet[Customer]:
        return Customer.objects.filter(active_at_q(ctx.end, ctx.rules))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_orders().filter(
            ordered_at__lt=ctx.end, customer__in=self.active_at_end(ctx)
        )

    def numerator_aggregate(self) -> Any:
        return Sum("net_amount")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.active_at_end(ctx)


class CrossSellRate(RatioKpi):
    """cross_sell_rate = existing customers who bought in P from a product line new to them ÷
    existing customers who ordered in P (existing = ordered before P)."""

    key = "cross_sell_rate"
    name = _("Cross-sell rate")
    description = _("Share of returning buyers who bought from a product line new to them.")
    stage = "enhancement"
    unit = "percent"
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = (
        "customers with orders before P and in P, with an order line in P whose product line "
        "they never bought before P ÷ customers with orders before P and in P"
    )
    period_rule = "Order.ordered_at in P; history before P.start."
    edge_cases = "First-time buyers (no order before P) are in neither part."

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        before = countable_orders().filter(customer=OuterRef("pk"), ordered_at__lt=ctx.start)
        return customers_ordering_in(ctx).filter(Exists(before))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        bought_before = OrderLine.objects.filter(
            order__customer=OuterRef(OuterRef("pk")),
            order__ordered_at__lt=ctx.start,
            product__product_line=OuterRef("product__product_line"),
        ).exclude(order__status="cancelled")
        new_line_in_p = (
            OrderLine.objects.filter(
                order__customer=OuterRef("pk"),
                order__ordered_at__gte=ctx.start,
                order__ordered_at__lt=ctx.end,
            )
            .exclude(order__status="cancelled")
            .filter(~Exists(bought_before))
        )
        return self.denominator_queryset(ctx).filter(Exists(new_line_in_p))


class UpsellRate(RatioKpi):
    """upsell_rate = customers active at P.start with a won up-sell/cross-sell opportunity closed
    in P ÷ customers active at P.start."""

    key = "upsell_rate"
    name = _("Up-sell rate")
    description = _("Share of existing customers who signed an up-sell or cross-sell deal.")
    stage = "enhancement"
    unit = "percent"
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = (
        "customers active at P.start with an opportunity of kind upsell or cross_sell, outcome "
        "won, closed_at in P ÷ customers active at P.start"
    )
    period_rule = "Opportunity.closed_at in P; activity at P.start."
    edge_cases = "No active customers at P.start → n/a."

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_at_q(ctx.start, ctx.rules))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        won = Opportunity.objects.filter(
            customer=OuterRef("pk"),
            outcome=Opportunity.Outcome.WON,
            kind__in=[Opportunity.Kind.UPSELL, Opportunity.Kind.CROSS_SELL],
            closed_at__gte=ctx.start,
            closed_at__lt=ctx.end,
        )
        return self.denominator_queryset(ctx).filter(Exists(won))


DEFINITIONS: tuple[KpiDefinition, ...] = (
    Revenue(),
    Orders(),
    Aov(),
    Top20RevenueShare(),
    Clv(),
    ClvHistoric(),
    CrossSellRate(),
    UpsellRate(),
)

"""Enhancement KPIs: revenue, orders, order value, customer concentration, lifetime value,
cross-sell and up-sell."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import active_at_q, countable_orders
from kpis.definitions.base import (
    KpiContext,
    KpiDefinition,
    KpiResult,
    customer_paths,
    filter_dimension,
    grouped,
    in_period,
    ratio,
    to_decimal,
)
from kpis.definitions.frame import (
    FrameRatioKpi,
    customer_frame,
    money,
    register_customer_set,
    shift_months,
)
from kpis.definitions.maintenance import customers_ordering_in
from kpis.periods import to_datetime_range
from sales.models import Opportunity, Order, OrderLine

ORDER_PATHS = customer_paths("customer__")
CLV_LIFESPAN_CAP_MONTHS = 60
CENT = Decimal("0.01")


def orders_in(ctx: KpiContext) -> QuerySet[Any]:
    return countable_orders().filter(in_period("ordered_at", ctx))


def _money(number: Any) -> Decimal:
    return Decimal(str(number or 0)).quantize(CENT)


class Revenue(FrameRatioKpi):
    """revenue = Σ net_amount of non-cancelled orders dated in P (converted, refunds deducted).

    By product line: each order line's share of its order's net amount
    (line_total ÷ order total × net_amount).
    """

    key = "revenue"
    name = _("Revenue")
    description = _("Net revenue of the period's orders in the organisation currency.")
    stage = "enhancement"
    unit = "money"
    direction = "higher"
    record_models = (Order, OrderLine)
    dimensions = (
        "all",
        "segment",
        "team",
        "owner",
        "channel",
        "product_line",
        "rfm_segment",
        "health_band",
    )
    dimension_paths = ORDER_PATHS | {"product_line": "product__product_line"}
    min_sample = 0
    formula = _(
        "Σ Order.net_amount (= (total − refunded) × exchange rate) of non-cancelled orders with "
        "ordered_at in P; product_line: Σ line_total ÷ order total × order net_amount"
    )
    period_rule = _("Order.ordered_at in P; a refund reduces the revenue of the order's period.")
    edge_cases = _("No orders → 0. Orders with a zero total have no product-line share.")

    # Σ over customers of their revenue in P (customer frame); product lines by order lines.
    frame_numerator, frame_rows, frame_money_numerator = "revenue_p", "orders_p", True

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


class Orders(FrameRatioKpi):
    """orders = count of non-cancelled orders dated in P."""

    key = "orders"
    name = _("Orders")
    description = _("Non-cancelled orders placed in the period.")
    stage = "enhancement"
    unit = "count"
    direction = "higher"
    record_models = (Order,)
    dimensions = ("all", "segment", "team", "owner", "channel", "rfm_segment", "health_band")
    dimension_paths = ORDER_PATHS
    min_sample = 0
    formula = _("count(non-cancelled orders with ordered_at in P)")
    period_rule = _("Order.ordered_at in P.")
    edge_cases = _("No orders → 0.")

    frame_numerator = "orders_p"  # Σ over customers of their orders in P (customer frame)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return orders_in(ctx)


class Aov(FrameRatioKpi):
    """aov = revenue ÷ orders in P."""

    key = "aov"
    name = _("Average order value")
    description = _("Net revenue per non-cancelled order.")
    stage = "enhancement"
    unit = "money"
    direction = "higher"
    record_models = (Order,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = ORDER_PATHS
    formula = _("Σ net_amount ÷ count of non-cancelled orders with ordered_at in P")
    period_rule = _("Order.ordered_at in P.")
    edge_cases = _("No orders → n/a.")

    # Σ revenue and Σ orders in P over the customers (customer frame).
    frame_numerator, frame_denominator, frame_money_numerator = "revenue_p", "orders_p", True

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
    # xgettext:no-python-format
    name = _("Top-20% revenue share")
    description = _("Share of revenue coming from the best fifth of ordering customers.")
    stage = "enhancement"
    unit = "percent"
    direction = "lower"
    record_models = (Order,)
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    formula = _(
        "Σ revenue in P of the ceil(0.2 × n) customers with the highest revenue in P ÷ revenue "
        "in P, n = customers with a non-cancelled order in P"
    )
    period_rule = _("Order.ordered_at in P.")
    # xgettext:no-python-format
    edge_cases = _("No revenue → n/a. With 1–5 customers the top 20% is one customer.")

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        return filter_dimension(orders_in(ctx), self.path(dimension), value)

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        if ctx.shared is None:  # computed on its own: one customer frame for all dimensions
            ctx = replace(ctx, shared={})
        return super().compute(ctx)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        """Customers ranked by revenue in P (ties by id) per dimension value, with window
        functions over the customer frame (`CustomerFrame.top_share`)."""
        self.path(dimension)  # refuses a dimension the KPI does not have
        results = []
        for key, (top, total, customers) in sorted(
            customer_frame(ctx).top_share[dimension].items()
        ):
            numerator = to_decimal(_money(top))
            denominator = to_decimal(_money(total))
            results.append(
                KpiResult(
                    dimension,
                    key,
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
    direction = "higher"
    record_models = (Order,)
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    formula = _(
        "AOV × frequency × lifespan over [P.end − 12 months, P.end): AOV = revenue ÷ orders; "
        "frequency = orders ÷ ordering customers ÷ 12; lifespan = min(1 ÷ (Σ churned in month ÷ "
        "Σ active at month start), 60) months; stored numerator = 12-month revenue, denominator "
        "= 12-month ordering customers"
    )
    period_rule = _(
        "Trailing 12 calendar months ending at P.end (month boundaries at local midnight)."
    )
    edge_cases = _(
        "No orders → n/a. No churn (or no active customers at month starts) → lifespan capped at "
        "60 months and details.lifespan_capped = true."
    )
    departures = _(
        "The stored numerator/denominator (12-month revenue and customers) do not roll up to the "
        "value; re-aggregate from details instead."
    )

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        if ctx.shared is None:  # computed on its own: one customer frame for all dimensions
            ctx = replace(ctx, shared={})
        return super().compute(ctx)

    def trailing_range(self, ctx: KpiContext) -> tuple[dt.datetime, dt.datetime]:
        return to_datetime_range(shift_months(ctx.period_end, -12), ctx.period_end)

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        start, end = self.trailing_range(ctx)
        orders = countable_orders().filter(ordered_at__gte=start, ordered_at__lt=end)
        return filter_dimension(orders, self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        """From the customer frame: the trailing 12 months' revenue, orders and ordering
        customers, and Σ active at month start / Σ churned in month over the 12 months (the
        activity rule at the 13 month boundaries, evaluated once per run for every customer)."""
        self.path(dimension)  # refuses a dimension the KPI does not have
        stats = customer_frame(ctx).dimension(dimension)
        results = []
        for key, row in sorted(stats.items()):
            orders, customers = int(row["orders_12"] or 0), int(row["customers_12"] or 0)
            if not orders and dimension != "all":
                continue  # a value without orders in the 12 months has no row
            revenue = money(row["revenue_12"])
            active_sum, churned_sum = int(row["clv_active"] or 0), int(row["clv_churned"] or 0)
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


class ClvHistoric(FrameRatioKpi):
    """clv_historic = mean, over customers active at P.end, of their net revenue to date."""

    key = "clv_historic"
    name = _("Historic customer value")
    description = _("Average net revenue to date of the customers active at the period's end.")
    stage = "enhancement"
    unit = "money"
    direction = "higher"
    record_models = (Order, Customer)
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = ORDER_PATHS
    denominator_paths = customer_paths()
    formula = _(
        "Σ net_amount of non-cancelled orders before P.end of customers active at P.end ÷ "
        "customers active at P.end"
    )
    period_rule = _("Activity at P.end; orders up to P.end.")
    edge_cases = _("No active customers → n/a.")

    frame_numerator, frame_denominator = "revenue_active_end", "active_end"
    frame_money_numerator = True

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


@register_customer_set("cross_sold")
def new_product_line_buyers(ctx: KpiContext) -> list[QuerySet[Any]]:
    """Customer ids with a non-cancelled order line in P from a product line they had not
    bought before P.start: per (customer, product line) over the lines before P.end of the
    customers ordering in P, the first purchase is in P (a line without a product line never
    matches an earlier one, so any such line in P counts)."""
    lines = OrderLine.objects.exclude(order__status="cancelled").filter(
        order__ordered_at__lt=ctx.end, order__customer__in=customers_ordering_in(ctx)
    )
    firsts = (
        lines.order_by()
        .values("order__customer_id", "product__product_line")
        .annotate(
            first_at=Min("order__ordered_at"),
            last_unlined_at=Max("order__ordered_at", filter=Q(product__product_line__isnull=True)),
        )
        .filter(Q(first_at__gte=ctx.start) | Q(last_unlined_at__gte=ctx.start))
        .values("order__customer_id")
    )
    return [firsts]


class CrossSellRate(FrameRatioKpi):
    """cross_sell_rate = existing customers who bought in P from a product line new to them ÷
    existing customers who ordered in P (existing = ordered before P)."""

    key = "cross_sell_rate"
    name = _("Cross-sell rate")
    description = _("Share of returning buyers who bought from a product line new to them.")
    stage = "enhancement"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = _(
        "customers with orders before P and in P, with an order line in P whose product line "
        "they never bought before P ÷ customers with orders before P and in P"
    )
    period_rule = _("Order.ordered_at in P; history before P.start.")
    edge_cases = _("First-time buyers (no order before P) are in neither part.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        before = countable_orders().filter(customer=OuterRef("pk"), ordered_at__lt=ctx.start)
        return customers_ordering_in(ctx).filter(Exists(before))

    frame_numerator, frame_denominator = "cross_sold", "returning"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        (buyers,) = new_product_line_buyers(ctx)
        return self.denominator_queryset(ctx).filter(pk__in=buyers)


@register_customer_set("upsold")
def upsold_customers(ctx: KpiContext) -> list[QuerySet[Any]]:
    """Customer ids with a won up-sell or cross-sell opportunity closed in P."""
    won = Opportunity.objects.filter(
        outcome=Opportunity.Outcome.WON,
        kind__in=[Opportunity.Kind.UPSELL, Opportunity.Kind.CROSS_SELL],
        closed_at__gte=ctx.start,
        closed_at__lt=ctx.end,
    )
    return [won.values("customer_id")]


class UpsellRate(FrameRatioKpi):
    """upsell_rate = customers active at P.start with a won up-sell/cross-sell opportunity closed
    in P ÷ customers active at P.start."""

    key = "upsell_rate"
    name = _("Up-sell rate")
    description = _("Share of existing customers who signed an up-sell or cross-sell deal.")
    stage = "enhancement"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = _(
        "customers active at P.start with an opportunity of kind upsell or cross_sell, outcome "
        "won, closed_at in P ÷ customers active at P.start"
    )
    period_rule = _("Opportunity.closed_at in P; activity at P.start.")
    edge_cases = _("No active customers at P.start → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_at_q(ctx.start, ctx.rules))

    frame_numerator, frame_denominator = "upsold", "active_start"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        (customer_ids,) = upsold_customers(ctx)
        return self.denominator_queryset(ctx).filter(pk__in=customer_ids)


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

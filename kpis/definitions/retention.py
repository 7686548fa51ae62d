"""Retention KPIs: active customers, churn, retention, net revenue retention, reactivation and
win-back (catalogue §1)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import (
    active_at_q,
    churned_at_q,
    churned_in_q,
    countable_orders,
    reactivated_in_q,
    retained_q,
)
from kpis.definitions.base import KpiContext, KpiDefinition, RatioKpi, customer_paths, in_period
from kpis.definitions.frame import FrameRatioKpi
from kpis.periods import Period
from sales.models import Order, RetentionCase

CUSTOMER_DIMENSIONS = (
    "all",
    "segment",
    "team",
    "owner",
    "channel",
    "rfm_segment",
    "health_band",
)
ACTIVITY_RULE = _(
    "Active at t: acquired before t and either (contract customers) not past churned_at / "
    "contract_end_date, or a non-cancelled order (or the acquisition) in [t − d, t), "
    "d = segment inactivity days or CRM_INACTIVITY_DAYS."
)


class ActiveCustomers(FrameRatioKpi):
    """active_customers = customers active at P.end."""

    key = "active_customers"
    name = _("Active customers")
    description = _("Customers active at the end of the period.")
    stage = "retention"
    unit = "count"
    direction = "higher"
    record_models = (Customer,)
    dimensions = CUSTOMER_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True  # customers grouped by their own forward foreign keys
    min_sample = 0
    formula = _("count(customers active at P.end)")
    period_rule = ACTIVITY_RULE
    edge_cases = _("For an open period P.end is in the future; the value is provisional.")

    frame_numerator = "active_end"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_at_q(ctx.end, ctx.rules))


class ChurnRate(FrameRatioKpi):
    """churn_rate = |A(P.start) \\ A(P.end)| ÷ |A(P.start)|."""

    key = "churn_rate"
    name = _("Churn rate")
    description = _("Share of the customers active at the start who churned during the period.")
    stage = "retention"
    unit = "percent"
    direction = "lower"
    record_models = (Customer,)
    dimensions = CUSTOMER_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True  # customers grouped by their own forward foreign keys
    formula = _("customers active at P.start and not active at P.end ÷ customers active at P.start")
    period_rule = ACTIVITY_RULE
    edge_cases = _(
        "New customers in P are in neither part; a customer who churned and came back within P "
        "is active at P.end and so not counted. No active customers at P.start → n/a."
    )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_at_q(ctx.start, ctx.rules))

    frame_numerator, frame_denominator = "churned", "active_start"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(churned_in_q(ctx.start, ctx.end, ctx.rules))


class RetentionRate(FrameRatioKpi):
    """retention_rate = |A(P.start) ∩ A(P.end)| ÷ |A(P.start)|.

    Equal to (active at P.end − new in P − reactivated in P) ÷ active at P.start: everyone in
    A(P.end) but not in A(P.start) is new or reactivated in P.
    """

    key = "retention_rate"
    name = _("Retention rate")
    description = _("Share of the customers active at the start still active at the end.")
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = CUSTOMER_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True  # customers grouped by their own forward foreign keys
    formula = _(
        "customers active at both P.start and P.end ÷ customers active at P.start "
        "(= (active at P.end − new in P − reactivated in P) ÷ active at P.start)"
    )
    period_rule = ACTIVITY_RULE
    edge_cases = _("No active customers at P.start → n/a. Always 1 − churn_rate.")
    departures = _(
        "Computed as the intersection A(s) ∩ A(e), which equals the catalogue's subtraction "
        "under our activity rule and cannot go negative."
    )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_at_q(ctx.start, ctx.rules))

    frame_numerator, frame_denominator = "retained", "active_start"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(retained_q(ctx.start, ctx.end, ctx.rules))


class ReactivationRate(FrameRatioKpi):
    """reactivation_rate = churned customers at P.start who ordered in P ÷ churned customers at
    P.start."""

    key = "reactivation_rate"
    name = _("Reactivation rate")
    description = _("Share of churned customers who ordered again in the period.")
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = CUSTOMER_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True  # customers grouped by their own forward foreign keys
    formula = _(
        "customers acquired before P.start, not active at P.start, with a non-cancelled order in "
        "P (after any explicit churn) ÷ customers acquired before P.start and not active at P.start"
    )
    period_rule = ACTIVITY_RULE
    edge_cases = _("No churned customers → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(churned_at_q(ctx.start, ctx.rules))

    frame_numerator, frame_denominator = "reactivated", "lapsed_start"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(reactivated_in_q(ctx.start, ctx.end, ctx.rules))


class NetRevenueRetention(FrameRatioKpi):
    """net_revenue_retention = revenue in P of the customers active at P.start ÷ their revenue in
    the previous period."""

    key = "net_revenue_retention"
    name = _("Net revenue retention")
    description = _(
        "Revenue of the customers active at the start of the period, against what the same "
        "customers spent in the period before."
    )
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (Order,)
    dimensions = CUSTOMER_DIMENSIONS
    dimension_paths = customer_paths("customer__")
    formula = _(
        "Σ net_amount of non-cancelled orders in P ÷ Σ net_amount of non-cancelled orders in the "
        "previous period (P − 1, same granularity), both over the customers active at P.start"
    )
    period_rule = ACTIVITY_RULE
    edge_cases = _(
        "Customers acquired in P are in neither part. Expansion counts: above 100 % when the "
        "retained customers spend more. No revenue from them in P − 1 → n/a. The sample size is "
        "their orders in P − 1."
    )

    # The figures from the customer frame's one pass (each customer's revenue in P and P − 1);
    # the querysets below are the drill-down's, held to the same figures by the tests.
    frame_numerator, frame_denominator = "revenue_p_active_start", "revenue_prev_active_start"
    frame_money_parts = ("orders_p_active_start", "orders_prev_active_start")

    def customers_at_start(self, ctx: KpiContext) -> QuerySet[Customer]:
        return Customer.objects.filter(active_at_q(ctx.start, ctx.rules))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_orders().filter(
            in_period("ordered_at", ctx), customer__in=self.customers_at_start(ctx)
        )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        start, end = Period(ctx.granularity, ctx.period_start).previous().datetime_range()
        return countable_orders().filter(
            ordered_at__gte=start, ordered_at__lt=end, customer__in=self.customers_at_start(ctx)
        )

    def numerator_aggregate(self) -> Any:
        return Sum("net_amount")

    def denominator_aggregate(self) -> Any:
        return Sum("net_amount")


CASE_PATHS: dict[str, str | None] = {"all": None, "team": "customer__team", "owner": "owner"}


def cases_closed_in(ctx: KpiContext) -> QuerySet[RetentionCase]:
    return RetentionCase.objects.filter(
        in_period("closed_at", ctx), status=RetentionCase.Status.CLOSED
    )


class WinbackRate(RatioKpi):
    """winback_rate = retention cases closed in P with outcome retained ÷ cases closed in P."""

    key = "winback_rate"
    name = _("Win-back rate")
    description = _("Share of closed retention cases that kept the customer.")
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (RetentionCase,)
    dimensions = ("all", "team", "owner")
    dimension_paths = CASE_PATHS
    formula = _("retention cases closed in P with outcome retained ÷ retention cases closed in P")
    period_rule = _("RetentionCase.closed_at in P.")
    edge_cases = _("No closed cases → n/a. Team is the customer's team; owner the case owner.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return cases_closed_in(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return cases_closed_in(ctx).filter(outcome=RetentionCase.Outcome.RETAINED)


class RetentionCost(RatioKpi):
    """retention_cost = Σ cost of retention cases closed in P ÷ cases closed in P retained."""

    key = "retention_cost"
    name = _("Retention cost")
    description = _("Cost of the period's retention work per customer retained.")
    stage = "retention"
    unit = "money"
    direction = "lower"
    record_models = (RetentionCase,)
    dimensions = ("all", "team", "owner")
    dimension_paths = CASE_PATHS
    formula = _(
        "Σ cost of retention cases closed in P ÷ count of retention cases closed in P with "
        "outcome retained"
    )
    period_rule = _("RetentionCase.closed_at in P.")
    edge_cases = _("None retained → n/a (cost is still stored as the numerator).")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return cases_closed_in(ctx)

    def numerator_aggregate(self) -> Any:
        return Sum("cost")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return cases_closed_in(ctx).filter(outcome=RetentionCase.Outcome.RETAINED)


DEFINITIONS: tuple[KpiDefinition, ...] = (
    ActiveCustomers(),
    ChurnRate(),
    RetentionRate(),
    NetRevenueRetention(),
    ReactivationRate(),
    WinbackRate(),
    RetentionCost(),
)

"""Acquisition KPIs: leads, conversion, new customers, acquisition cost and marketing ROI."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import countable_orders, new_in_q
from kpis.definitions.base import (
    KpiContext,
    KpiDefinition,
    KpiResult,
    RatioKpi,
    customer_paths,
    filter_dimension,
    grouped,
    in_period,
    ratio,
    to_decimal,
)
from sales.models import Lead, MarketingSpend, Order, SalesCost

LEAD_CONVERSION_WINDOW_DAYS = 90
MARKETING_ROI_WINDOW_DAYS = 90
LEAD_PATHS: dict[str, str | None] = {
    "all": None,
    "team": "team",
    "owner": "owner",
    "channel": "channel",
}


def countable_leads() -> QuerySet[Lead]:
    """Merged duplicate leads never count."""
    return Lead.objects.exclude(status=Lead.Status.MERGED).filter(merged_into__isnull=True)


def new_customers(ctx: KpiContext) -> QuerySet[Customer]:
    return Customer.objects.filter(new_in_q(ctx.start, ctx.end))


def prorated_costs(
    rows: list[dict[str, Any]], period_start: dt.date, period_end: dt.date, key: str
) -> dict[str, Decimal]:
    """Cost records overlapping P, prorated by days of overlap, summed per `key` ("" for none).

    Spend and sales-cost records are per-period bookkeeping rows (a handful per month), not
    customers or orders, so they are summed here rather than with date arithmetic in SQL.
    """
    totals: dict[str, Decimal] = {}
    for row in rows:
        overlap = (min(row["period_end"], period_end) - max(row["period_start"], period_start)).days
        length = (row["period_end"] - row["period_start"]).days
        if overlap <= 0 or length <= 0:
            continue
        share = Decimal(row["amount"]) * overlap / length
        group = "" if row[key] is None else str(row[key])
        totals[group] = totals.get(group, Decimal(0)) + share
    return totals


def _overlapping(model: Any, ctx: KpiContext, key: str) -> list[dict[str, Any]]:
    return list(
        model.objects.filter(period_start__lt=ctx.period_end, period_end__gt=ctx.period_start)
        .order_by()
        .values(key, "period_start", "period_end", "amount")
    )


def marketing_spend_by_channel(ctx: KpiContext) -> dict[str, Decimal]:
    rows = _overlapping(MarketingSpend, ctx, "channel_id")
    return prorated_costs(rows, ctx.period_start, ctx.period_end, "channel_id")


def sales_cost_by_team(ctx: KpiContext) -> dict[str, Decimal]:
    rows = _overlapping(SalesCost, ctx, "team_id")
    return prorated_costs(rows, ctx.period_start, ctx.period_end, "team_id")


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


class LeadsNew(RatioKpi):
    """leads_new = count of leads created in P, merged duplicates excluded."""

    key = "leads_new"
    name = _("New leads")
    description = _("Leads created in the period, merged duplicates excluded.")
    stage = "acquisition"
    unit = "count"
    direction = "higher"
    record_models = (Lead,)
    dimensions = ("all", "team", "owner", "channel")
    dimension_paths = LEAD_PATHS
    min_sample = 0
    formula = _("count(leads created in P, status ≠ merged and not merged into another lead)")
    period_rule = _("Lead.created_at in [P.start, P.end).")
    edge_cases = _("A period without leads stores 0 (an absolute count, not a ratio).")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_leads().filter(in_period("created_at", ctx))


class LeadConversionRate(RatioKpi):
    """lead_conversion_rate = leads created in P converted within 90 days ÷ leads created in P."""

    key = "lead_conversion_rate"
    name = _("Lead conversion rate")
    description = _("Share of the period's new leads that became customers within 90 days.")
    stage = "acquisition"
    unit = "percent"
    direction = "higher"
    record_models = (Lead,)
    dimensions = ("all", "team", "owner", "channel")
    dimension_paths = LEAD_PATHS
    maturity_days = LEAD_CONVERSION_WINDOW_DAYS
    formula = _(
        "leads created in P with converted_at < created_at + 90 days ÷ leads created in P "
        "(merged duplicates excluded from both)"
    )
    period_rule = _("Cohort of leads created in P; provisional until P.end + 90 days.")
    edge_cases = _("No leads → n/a. A conversion after 90 days does not count.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_leads().filter(in_period("created_at", ctx))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        window = dt.timedelta(days=LEAD_CONVERSION_WINDOW_DAYS)
        return self.denominator_queryset(ctx).filter(
            converted_at__isnull=False,
            converted_customer__isnull=False,
            converted_at__lt=F("created_at") + window,
        )


class CustomersNew(RatioKpi):
    """customers_new = customers whose acquired_at falls in P (reactivations are not new)."""

    key = "customers_new"
    name = _("New customers")
    description = _("Customers acquired in the period (first order or lead conversion).")
    stage = "acquisition"
    unit = "count"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    min_sample = 0
    formula = _("count(customers with acquired_at in P)")
    period_rule = _("Customer.acquired_at in [P.start, P.end).")
    edge_cases = _("A reactivated customer keeps their first acquired_at, so is never new again.")
    departures = _(
        "The segment is the customer's segment at snapshot time, not at acquisition "
        "(no segment history is stored)."
    )

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return new_customers(ctx)


class Cac(KpiDefinition):
    """cac = (marketing spend in P + sales cost in P) ÷ customers_new in P.

    By channel: that channel's marketing spend ÷ customers acquired through it. By team: the
    team's sales cost ÷ the team's new customers. Cost records are prorated by days of overlap.
    """

    key = "cac"
    name = _("Customer acquisition cost")
    description = _("Marketing spend and sales cost per new customer.")
    stage = "acquisition"
    unit = "money"
    direction = "lower"
    record_models = (Customer,)
    dimensions = ("all", "channel", "team")
    dimension_paths = {"all": None, "channel": "channel", "team": "team"}
    formula = _("(marketing spend in P + sales cost in P) ÷ customers_new in P")
    period_rule = _(
        "Spend and cost records overlapping P are prorated by days of overlap; "
        "customers by acquired_at in P."
    )
    edge_cases = _("No new customers → n/a. Spend without a channel only counts in `all`.")
    departures = _(
        "Cost records spanning several periods are prorated by days (the catalogue does not "
        "say how a monthly spend row maps to a day or week)."
    )

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        if part != "denominator":
            return None
        return filter_dimension(new_customers(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        customers = grouped(new_customers(ctx), self.path(dimension), _count())
        spend = marketing_spend_by_channel(ctx)
        sales = sales_cost_by_team(ctx)
        if dimension == "all":
            costs = {"": sum(spend.values(), Decimal(0)) + sum(sales.values(), Decimal(0))}
            details = {
                "": {
                    "marketing_spend": str(_money(sum(spend.values(), Decimal(0)))),
                    "sales_cost": str(_money(sum(sales.values(), Decimal(0)))),
                }
            }
        elif dimension == "channel":
            costs = {key: amount for key, amount in spend.items() if key}
            details = {}
        else:
            costs = {key: amount for key, amount in sales.items() if key}
            details = {}
        results = []
        for value_key in sorted(set(costs) | set(customers)):
            numerator = to_decimal(_money(costs.get(value_key, Decimal(0))))
            count = customers.get(value_key, (0, 0))[1]
            denominator = to_decimal(count)
            results.append(
                KpiResult(
                    dimension,
                    value_key,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator),
                    sample_size=count,
                    details=details.get(value_key, {}),
                )
            )
        return results


def _count() -> Any:
    return Count("pk", distinct=True)


class MarketingRoi(KpiDefinition):
    """marketing_roi = (net revenue of customers acquired in P over their first 90 days
    − marketing spend in P) ÷ marketing spend in P."""

    key = "marketing_roi"
    name = _("Marketing ROI")
    description = _("Return on the period's marketing spend from the customers it acquired.")
    stage = "acquisition"
    unit = "percent"
    direction = "higher"
    record_models = (Order,)
    dimensions = ("all", "channel")
    dimension_paths = {"all": None, "channel": "customer__channel"}
    maturity_days = MARKETING_ROI_WINDOW_DAYS
    formula = _(
        "(Σ net_amount of non-cancelled orders of customers acquired in P, ordered in "
        "[acquired_at, acquired_at + 90 days) − marketing spend in P) ÷ marketing spend in P"
    )
    period_rule = _("Cohort of customers acquired in P; provisional until P.end + 90 days.")
    edge_cases = _("Spend 0 → n/a. Can be negative (spend not yet earned back).")

    def cohort_orders(self, ctx: KpiContext) -> QuerySet[Any]:
        window = dt.timedelta(days=MARKETING_ROI_WINDOW_DAYS)
        return countable_orders().filter(
            Q(customer__acquired_at__gte=ctx.start, customer__acquired_at__lt=ctx.end),
            ordered_at__gte=F("customer__acquired_at"),
            ordered_at__lt=F("customer__acquired_at") + window,
        )

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        if part != "numerator":
            return None
        return filter_dimension(self.cohort_orders(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        revenue = grouped(self.cohort_orders(ctx), self.path(dimension), Sum("net_amount"))
        customers = grouped(
            new_customers(ctx), "channel" if dimension == "channel" else None, _count()
        )
        spend = marketing_spend_by_channel(ctx)
        if dimension == "all":
            spend = {"": sum(spend.values(), Decimal(0))}
        else:
            spend = {key: amount for key, amount in spend.items() if key}
        results = []
        for value_key in sorted(set(spend) | set(revenue)):
            earned = Decimal(revenue.get(value_key, (0, 0))[0] or 0)
            cost = _money(spend.get(value_key, Decimal(0)))
            numerator = to_decimal(earned - cost)
            denominator = to_decimal(cost)
            results.append(
                KpiResult(
                    dimension,
                    value_key,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator),
                    sample_size=customers.get(value_key, (0, 0))[1],
                    details={"cohort_revenue": str(_money(earned)), "spend": str(cost)},
                )
            )
        return results


DEFINITIONS: tuple[KpiDefinition, ...] = (
    LeadsNew(),
    LeadConversionRate(),
    CustomersNew(),
    Cac(),
    MarketingRoi(),
)

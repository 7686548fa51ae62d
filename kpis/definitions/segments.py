"""Segment KPIs: how the customers of a named RFM segment at P.start fare during P.

The segment at P.start is the one stored for the previous period of the same granularity
(CustomerSegmentSnapshot, as of that period's end, which is P.start); the segment at P.end is the
one the run computes for P. Both come from the customer frame, so each KPI is two frame measures
and every dimension is one more GROUP BY of the same table.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.definitions.base import KpiContext, customer_paths
from kpis.definitions.frame import FrameRatioKpi
from kpis.definitions.maintenance import customers_ordering_in
from kpis.models import CustomerSegmentSnapshot
from kpis.periods import previous_period

SEGMENT_KPI_DIMENSIONS = ("all", "segment", "team", "owner", "channel")
START_RULE = _(
    "The segment at P.start is the one stored for the previous period of the same granularity "
    "(as of its end); the segment at P.end is the one stored for P."
)
NO_START = _(
    "No stored previous period (the first period ever computed) → no customer in the "
    "denominator → n/a."
)


def customers_in_segment(granularity: str, period_start: Any, segment: str) -> QuerySet[Customer]:
    """Customers whose stored segment for the period starting `period_start` is `segment`."""
    stored = CustomerSegmentSnapshot.objects.filter(
        granularity=granularity, period_start=period_start, rfm_segment=segment
    )
    return Customer.objects.filter(pk__in=stored.values("customer_id"))


def customers_at_start(ctx: KpiContext, segment: str) -> QuerySet[Customer]:
    previous_start, _previous_end = previous_period(ctx.granularity, ctx.period_start)
    return customers_in_segment(ctx.granularity, previous_start, segment)


class FirstToRepeatRate(FrameRatioKpi):
    """first_to_repeat_rate = first-time buyers at P.start who ordered in P ÷ first-time buyers
    at P.start."""

    key = "first_to_repeat_rate"
    name = _("First-to-repeat rate")
    description = _("Share of the first-time buyers at the start who ordered again in the period.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = SEGMENT_KPI_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True
    formula = _(
        "customers in segment first_time_buyer at P.start with a non-cancelled order in P ÷ "
        "customers in segment first_time_buyer at P.start"
    )
    period_rule = START_RULE
    edge_cases = NO_START

    frame_numerator, frame_denominator = "first_time_repeat", "first_time_start"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return customers_at_start(ctx, Customer.RfmSegment.FIRST_TIME_BUYER)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(pk__in=customers_ordering_in(ctx))


class DormantReactivatedRate(FrameRatioKpi):
    """dormant_reactivated_rate = dormant customers at P.start who ordered in P ÷ dormant
    customers at P.start."""

    key = "dormant_reactivated_rate"
    name = _("Dormant reactivated rate")
    description = _("Share of the customers dormant at the start who ordered in the period.")
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = SEGMENT_KPI_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True
    formula = _(
        "customers in segment dormant at P.start with a non-cancelled order in P ÷ customers in "
        "segment dormant at P.start"
    )
    period_rule = START_RULE
    edge_cases = format_lazy(
        "{} {}",
        _(
            "Dormant means no order for more than d/2 days and not yet churned; any "
            "non-cancelled order in P counts, also after the customer churned during P."
        ),
        NO_START,
    )

    frame_numerator, frame_denominator = "dormant_reactivated", "dormant_start"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return customers_at_start(ctx, Customer.RfmSegment.DORMANT)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(pk__in=customers_ordering_in(ctx))


class HighFrequencyRetainedRate(FrameRatioKpi):
    """high_frequency_retained_rate = high-frequency customers at P.start still high-frequency at
    P.end ÷ high-frequency customers at P.start."""

    key = "high_frequency_retained_rate"
    name = _("High-frequency retained rate")
    description = _(
        "Share of the high-frequency customers at the start still high-frequency at the end."
    )
    stage = "retention"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = SEGMENT_KPI_DIMENSIONS
    dimension_paths = customer_paths()
    unique_rows = True
    formula = _(
        "customers in segment high_frequency at P.start and at P.end ÷ customers in segment "
        "high_frequency at P.start"
    )
    period_rule = START_RULE
    edge_cases = format_lazy(
        "{} {}",
        _(
            "Named segments are exclusive and the first matching rule wins: a high-frequency "
            "customer who also scores R, F and M ≥ 4 is a champion, so one who becomes a "
            "champion (or dormant, at risk, churned) is not retained as high-frequency."
        ),
        NO_START,
    )

    frame_numerator, frame_denominator = "high_frequency_retained", "high_frequency_start"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return customers_at_start(ctx, Customer.RfmSegment.HIGH_FREQUENCY)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(
            pk__in=customers_in_segment(
                ctx.granularity, ctx.period_start, Customer.RfmSegment.HIGH_FREQUENCY
            )
        )


DEFINITIONS = [FirstToRepeatRate(), DormantReactivatedRate(), HighFrequencyRetainedRate()]

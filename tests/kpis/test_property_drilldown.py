"""The number and its records agree, whatever the data (issue 19, item 7).

Hypothesis generates small companies whose orders, conversions, churn dates and contract ends
sit on and around period bounds and activity-window edges (an instant before, on, after; a day
either side; midday). For every customer KPI with a drill-down, every dimension value stored and
the four granularities week, month, quarter and year, the drill-down list (the `kpis.activity`
Q rules, via `kpis.selectors.snapshot_drilldown`) has exactly as many records as the stored
numerator and denominator (the customer frame's SQL, via `kpis.engine.compute_period`).

Bounded for CI: a fixed number of examples (KPI_PROPERTY_EXAMPLES, default 10), derandomised so
every run checks the same companies, no deadline (a period computation takes ~100 ms).
"""

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from kpis.periods import period_bounds, to_datetime_range
from kpis.selectors import snapshot_drilldown
from sales.models import Order
from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory
from tests.sales.factories import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]

REFERENCE = dt.date(2026, 4, 1)  # a Wednesday: month, quarter start; inside ISO week Mar 30
GRANULARITIES = ("week", "month", "quarter", "year")
# KPI → (stored field compared with the numerator list, … with the denominator list); None where
# the stored figure is not a count of that list (a money sum).
CHECKED: dict[str, tuple[str | None, str | None]] = {
    "active_customers": ("numerator", None),
    "churn_rate": ("numerator", "denominator"),
    "retention_rate": ("numerator", "denominator"),
    "reactivation_rate": ("numerator", "denominator"),
    "repeat_purchase_rate": ("numerator", "denominator"),
    "returning_customer_rate": ("numerator", "denominator"),
    "complaint_rate": (None, "denominator"),  # customers active at any time in P
    "clv_historic": (None, "denominator"),  # numerator: the money of their orders
    "orders": ("numerator", None),
    "revenue": ("sample_size", None),  # the orders behind the sum
    "customers_new": ("numerator", None),
    "net_revenue_retention": (None, "sample_size"),  # the previous period's orders behind the sum
}
KPI_KEYS = list(CHECKED)
# KPI_PROPERTY_SHRINK=0 reports the first failing company at once (shrinking one takes minutes).
PHASES = (
    [Phase.explicit, Phase.generate]
    if os.environ.get("KPI_PROPERTY_SHRINK") == "0"
    else [Phase.explicit, Phase.generate, Phase.shrink]
)


def _edges() -> list[dt.datetime]:
    """Period bounds of every granularity around REFERENCE and their activity-window edges."""
    instants: set[dt.datetime] = set()
    for granularity in GRANULARITIES:
        start, end = to_datetime_range(*period_bounds(granularity, REFERENCE))
        for bound in (start, end):
            instants.add(bound)
            instants.update(bound - dt.timedelta(days=days) for days in (30, 60, 90))
    return sorted(instants)


EDGES = _edges()
OFFSETS = (
    dt.timedelta(microseconds=-1),
    dt.timedelta(0),
    dt.timedelta(0),  # date-only imports (midnight) are the most common: weighted twice
    dt.timedelta(microseconds=1),
    dt.timedelta(days=-1),
    dt.timedelta(days=1),
    dt.timedelta(hours=12),
)
instants = st.builds(
    lambda edge, offset: edge + offset, st.sampled_from(EDGES), st.sampled_from(OFFSETS)
)
customers = st.fixed_dictionaries(
    {
        "segment": st.sampled_from([None, 0, 1]),
        "team": st.sampled_from([None, 0, 1]),
        # (ordered at, cancelled)
        "orders": st.lists(
            st.tuples(instants, st.sampled_from([False, False, False, True])), max_size=4
        ),
        "converted_at": st.none() | instants,
        "churned_at": st.none() | st.none() | instants,
        "contract_end": st.none() | st.none() | instants.map(lambda at: at.date()),
    }
)
companies = st.fixed_dictionaries(
    {
        # inactivity days of the two segments (None: the default 90)
        "segment_days": st.tuples(st.sampled_from([None, 30, 60]), st.sampled_from([None, 30, 90])),
        "customers": st.lists(customers, min_size=1, max_size=6),
    }
)


def build(company: dict) -> None:
    segments = [
        SegmentFactory(code=f"s{index}", inactivity_days=days)
        for index, days in enumerate(company["segment_days"])
    ]
    teams = [TeamFactory(name=f"t{index}") for index in range(2)]
    for spec in company["customers"]:
        counted = [at for at, cancelled in spec["orders"] if not cancelled]
        starts = counted + ([spec["converted_at"]] if spec["converted_at"] else [])
        acquired_at = min(starts) if starts else None
        churned_at = spec["churned_at"]
        if churned_at is not None and acquired_at is not None and churned_at < acquired_at:
            churned_at = acquired_at  # the database refuses a churn before the acquisition
        person = CustomerFactory(
            segment=None if spec["segment"] is None else segments[spec["segment"]],
            team=None if spec["team"] is None else teams[spec["team"]],
            acquired_at=acquired_at,
            churned_at=churned_at,
            contract_end_date=spec["contract_end"],
        )
        for ordered_at, cancelled in spec["orders"]:
            OrderFactory(
                customer=person,
                ordered_at=ordered_at,
                status=Order.Status.CANCELLED if cancelled else Order.Status.COMPLETED,
                net_amount=Decimal("10.00"),
                total=Decimal("10.00"),
            )


def mismatches() -> list[str]:
    """Every stored cell whose figure differs from the length of its drill-down list."""
    found = []
    for granularity in GRANULARITIES:
        start = period_bounds(granularity, REFERENCE)[0]
        compute_period(granularity=granularity, period_start=start, kpi_keys=KPI_KEYS)
        cells = KpiSnapshot.objects.filter(granularity=granularity, period_start=start)
        for cell in cells:
            for part, field in zip(("numerator", "denominator"), CHECKED[cell.kpi], strict=True):
                if field is None:
                    continue
                records = snapshot_drilldown(
                    kpi=cell.kpi,
                    granularity=granularity,
                    period_start=start,
                    dimension=cell.dimension,
                    dimension_value=cell.dimension_value,
                    part=part,
                )
                assert records is not None, f"{cell.kpi} has no {part} list"
                stored = getattr(cell, field)
                listed = records.count()
                if stored != listed:
                    found.append(
                        f"{cell.kpi} {granularity} {cell.dimension}={cell.dimension_value!r} "
                        f"{part}: stored {stored}, listed {listed}"
                    )
    return found


@settings(
    max_examples=int(os.environ.get("KPI_PROPERTY_EXAMPLES", "10")),
    deadline=None,
    derandomize=True,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(company=companies)
def test_every_drilldown_lists_as_many_records_as_its_stored_figure(company):
    with transaction.atomic():
        build(company)
        try:
            found = mismatches()
            if found and os.environ.get("KPI_PROPERTY_DUMP"):
                with open(os.environ["KPI_PROPERTY_DUMP"], "a") as dump:
                    dump.write(repr(company) + "\n" + "\n".join(found) + "\n\n")
            assert found == []
        finally:
            transaction.set_rollback(True)

"""Helpers of the boundary tests (issue 19): a KPI's stored figures next to its drill-down.

The customer KPIs take their numbers from the customer frame's SQL and their drill-down lists
from the `kpis.activity` Q rules, so every boundary test reads both: a mistake in either copy
of a rule then fails the test.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from kpis.periods import period_bounds
from kpis.selectors import snapshot_drilldown

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def at(year: int, month: int, day: int, *time: int) -> dt.datetime:
    """An aware instant in the organisation's time zone (midnight when no time is given)."""
    return dt.datetime(year, month, day, *time, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))  # type: ignore[misc]


def figures(
    kpi: str,
    period_start: dt.date,
    granularity: str = "month",
    *,
    dimension: str = "all",
    value: str = "",
    now: dt.datetime = NOW,
) -> dict:
    """Compute one period of `kpi` and return the stored cell and the drill-down row counts.

    {"value", "numerator", "denominator", "low_sample", "rows_numerator", "rows_denominator"};
    a drill-down without a denominator list reports None for it.
    """
    start = period_bounds(granularity, period_start)[0]
    compute_period(granularity=granularity, period_start=start, kpi_keys=[kpi], now=now)
    cell = KpiSnapshot.objects.filter(
        kpi=kpi,
        granularity=granularity,
        period_start=start,
        dimension=dimension,
        dimension_value=value,
    ).first()
    rows = {}
    for part in ("numerator", "denominator"):
        records = snapshot_drilldown(
            kpi=kpi,
            granularity=granularity,
            period_start=start,
            dimension=dimension,
            dimension_value=value,
            part=part,
            now=now,
        )
        rows[part] = None if records is None else records.count()
    return {
        "value": None if cell is None else cell.value,
        "numerator": None if cell is None else cell.numerator,
        "denominator": None if cell is None else cell.denominator,
        "low_sample": None if cell is None else cell.low_sample,
        "rows_numerator": rows["numerator"],
        "rows_denominator": rows["denominator"],
    }

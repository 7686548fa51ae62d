"""Reads of the KPI history (dashboards read snapshots only) and the drill-down behind a number."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.models import KpiSnapshot
from kpis.periods import parse_granularity, period_bounds

EXPORT_COLUMNS: tuple[str, ...] = (
    "kpi",
    "granularity",
    "period_start",
    "period_end",
    "dimension",
    "dimension_value",
    "value",
    "numerator",
    "denominator",
    "sample_size",
    "low_sample",
    "provisional",
)


def snapshot_list(
    *,
    granularity: str,
    kpi_keys: list[str] | None = None,
    dimension: str | None = None,
    dimension_value: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[KpiSnapshot]:
    """Snapshots of one granularity, optionally narrowed; periods starting in [start, end)."""
    queryset = KpiSnapshot.objects.filter(granularity=parse_granularity(granularity))
    if kpi_keys:
        queryset = queryset.filter(kpi__in=[registry.get(key).key for key in kpi_keys])
    if dimension is not None:
        queryset = queryset.filter(dimension=dimension)
    if dimension_value is not None:
        queryset = queryset.filter(dimension_value=dimension_value)
    if start is not None:
        queryset = queryset.filter(period_start__gte=start)
    if end is not None:
        queryset = queryset.filter(period_start__lt=end)
    return queryset.order_by("kpi", "period_start", "dimension", "dimension_value")


def snapshot_series(
    *,
    kpi: str,
    granularity: str,
    dimension: str = "all",
    dimension_value: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[KpiSnapshot]:
    """One KPI's history for one dimension value, oldest first (a chart's data)."""
    return snapshot_list(
        granularity=granularity,
        kpi_keys=[kpi],
        dimension=dimension,
        dimension_value=dimension_value,
        start=start,
        end=end,
    ).order_by("period_start")


def latest_period_start(*, granularity: str) -> dt.date | None:
    return KpiSnapshot.objects.filter(granularity=parse_granularity(granularity)).aggregate(
        latest=Max("period_start")
    )["latest"]


def latest_snapshots(*, granularity: str, dimension: str = "all") -> QuerySet[KpiSnapshot]:
    """Every KPI's snapshots of the latest computed period of `granularity`."""
    latest = latest_period_start(granularity=granularity)
    if latest is None:
        return KpiSnapshot.objects.none()
    return snapshot_list(granularity=granularity, dimension=dimension, start=latest).filter(
        period_start=latest
    )


def period_has_snapshots(*, granularity: str, period_start: dt.date) -> bool:
    return KpiSnapshot.objects.filter(granularity=granularity, period_start=period_start).exists()


def snapshot_drilldown(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    dimension: str = "all",
    dimension_value: str = "",
    part: str = "numerator",
    now: dt.datetime | None = None,
) -> QuerySet[Any] | None:
    """The records behind a snapshot's numerator or denominator, by the KPI's own query.

    Dimension filters use current values, like the snapshot did when it was computed; a list
    for an old period can therefore differ from the stored count if customers moved since.
    Returns None for KPIs without a record list. Callers restrict the rows to what the user
    may see (e.g. with customers_visible_to) before showing them.
    """
    definition = registry.get(kpi)
    start, end = period_bounds(granularity, period_start)
    ctx = KpiContext.build(
        granularity=parse_granularity(granularity),
        period_start=start,
        period_end=end,
        now=now or timezone.now(),
    )
    return definition.records(ctx, dimension, dimension_value, part)


def snapshot_export_rows(snapshots: QuerySet[KpiSnapshot]) -> list[dict[str, Any]]:
    """Plain rows (ISO dates, decimal strings) in EXPORT_COLUMNS order for CSV/JSON export."""

    def plain(number: Any) -> str | None:
        return None if number is None else str(number)

    return [
        {
            "kpi": row.kpi,
            "granularity": row.granularity,
            "period_start": row.period_start.isoformat(),
            "period_end": row.period_end.isoformat(),
            "dimension": row.dimension,
            "dimension_value": row.dimension_value,
            "value": plain(row.value),
            "numerator": plain(row.numerator),
            "denominator": plain(row.denominator),
            "sample_size": row.sample_size,
            "low_sample": row.low_sample,
            "provisional": row.provisional,
        }
        for row in snapshots
    ]

"""Reads behind the manager KPI pages that the engine's selectors do not offer.

Everything reads `KpiSnapshot` (and the index, target and alert tables) with a fixed number of
queries per page, except two reads of raw tables: the drill-down list (narrowed by
`kpis.selectors.drilldown_records_visible_to`, paginated by the caller) and the pipeline funnel
(`pipeline_funnel`, one grouped read of the stage history).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Model, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis import charts
from kpis.definitions.base import dimension_labels
from kpis.models import KpiSnapshot
from kpis.selectors import (
    cell_snapshots,
    latest_stored_period,
    period_snapshots,
    stored_dimension_values,
)
from sales.models import OpportunityStageChange, PipelineStage
from support.models import Ticket

# The filters every page keeps, in the order a request's first non-empty one wins.
FILTER_DIMENSIONS: tuple[str, ...] = ("segment", "team", "owner", "channel", "product_line")
FILTER_LABELS = {
    "segment": _("Segment"),
    "team": _("Team"),
    "owner": _("Rep"),
    "channel": _("Channel"),
    "product_line": _("Product line"),
    # Breakdown-only dimensions (not filters: few KPIs store them).
    "survey_kind": _("Survey kind"),
    "rfm_segment": _("RFM segment"),
    "health_band": _("Health band"),
}
# Dimensions whose values are codes named in the reader's language (no stored name needed).
CODED_DIMENSIONS = ("survey_kind", "rfm_segment", "health_band")


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """Stored values of each filter dimension with their labels, from one snapshot query."""
    rows = stored_dimension_values(dimensions=FILTER_DIMENSIONS)
    choices: dict[str, dict[str, str]] = {name: {} for name in FILTER_DIMENSIONS}
    for dimension, value, label in rows:
        # The newest label wins only by accident of order; any stored label names the value.
        choices[dimension].setdefault(value, label or value)
    return {
        name: sorted(values.items(), key=lambda item: item[1].lower())
        for name, values in choices.items()
    }


def series_rows(
    *, kpis: Iterable[str], granularity: str, dimension: str, value: str, first: dt.date
) -> dict[str, list[KpiSnapshot]]:
    """Snapshots of several KPIs for one dimension cell since `first`, oldest first (1 query)."""
    grouped: dict[str, list[KpiSnapshot]] = defaultdict(list)
    rows = cell_snapshots(
        granularity=granularity, dimension=dimension, value=value, kpis=kpis, first=first
    )
    for row in rows:
        grouped[row.kpi].append(row)
    return grouped


def period_cells(
    grouped: dict[str, list[KpiSnapshot]],
) -> tuple[list[dt.date], dict[tuple[str, dt.date], KpiSnapshot]]:
    """The periods of `series_rows`, newest first, and each snapshot by (kpi, period start):
    what a table with one row per period and one column per KPI reads."""
    cells = {(row.kpi, row.period_start): row for rows in grouped.values() for row in rows}
    starts = sorted({start for _kpi, start in cells}, reverse=True)
    return starts, cells


def cell_series(
    *,
    granularity: str,
    dimension: str,
    value: str,
    first: dt.date,
    last: dt.date | None = None,
    kpis: Iterable[str] | None,
) -> list[charts.KpiSeries]:
    """Every stored KPI's series for one cell (the overview under a filter), one query."""
    queryset = cell_snapshots(
        granularity=granularity, dimension=dimension, value=value, kpis=kpis, first=first, last=last
    )
    rows_by_key: dict[str, list[KpiSnapshot]] = defaultdict(list)
    for row in queryset:
        rows_by_key[row.kpi].append(row)
    return [
        charts.build_series(key=key, granularity=granularity, rows=rows_by_key.get(key, []))
        for key in charts.overview_keys(rows_by_key)
    ]


def breakdown_rows(
    *, kpi: str, granularity: str, period_start: dt.date, dimension: str
) -> list[KpiSnapshot]:
    """One period's snapshots of every value of a dimension, largest value first (1 query)."""
    rows = list(
        period_snapshots(
            kpis=[kpi], granularity=granularity, period_start=period_start, dimension=dimension
        )
    )
    if dimension in CODED_DIMENSIONS:
        labels = dimension_labels(dimension, [row.dimension_value for row in rows])
        for row in rows:
            row.dimension_label = labels.get(row.dimension_value, row.dimension_label)
    # n/a values last; among the rest the largest first, as a bar chart reads best.
    return sorted(rows, key=lambda row: (row.value is None, -(row.value or Decimal(0))))


def latest_period(*, kpi: str | None, granularity: str, dimension: str, value: str | None) -> Any:
    """The newest stored period start of a cell (any value of the dimension when value is None)."""
    return latest_stored_period(kpi=kpi, granularity=granularity, dimension=dimension, value=value)


def latest_cells(
    *, kpis: Iterable[str], granularity: str, dimension: str, period_start: dt.date
) -> dict[tuple[str, str], KpiSnapshot]:
    """{(kpi, dimension value): snapshot} for one period and dimension (1 query)."""
    rows = period_snapshots(
        kpis=kpis, granularity=granularity, period_start=period_start, dimension=dimension
    )
    return {(row.kpi, row.dimension_value): row for row in rows}


# --- drill-down ------------------------------------------------------------------------------


def _has_field(model: type[Model], name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


@dataclass
class RecordRow:
    label: str
    kind: str
    url: str | None
    customer_label: str = ""
    customer_url: str | None = None
    when: Any = None


def record_rows(records: Iterable[Any]) -> list[RecordRow]:
    """Display rows with links to the record's page (or its customer's) where one exists."""

    def link(name: str, pk: Any) -> str | None:
        try:
            return reverse(name, kwargs={"pk": pk})
        except NoReverseMatch:
            return None

    pages = {
        "customer": "customers:detail",
        "opportunity": "sales:opportunity_detail",
        "lead": "sales:lead_detail",
        "ticket": "support:ticket_detail",
    }
    rows = []
    for record in records:
        kind = record._meta.model_name
        url = None
        if hasattr(record, "get_absolute_url"):
            url = record.get_absolute_url()
        elif kind in pages:
            url = link(pages[kind], record.pk)
        row = RecordRow(label=str(record), kind=capfirst(record._meta.verbose_name), url=url)
        if not isinstance(record, Customer) and getattr(record, "customer_id", None):
            row.customer_label = str(record.customer)
            row.customer_url = link("customers:detail", record.customer_id)
        for name in ("ordered_at", "responded_at", "acquired_at", "closed_at", "created_at"):
            if getattr(record, name, None):
                row.when = getattr(record, name)
                break
        rows.append(row)
    return rows


def with_customer(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Join the customer in the same query so a page of rows costs one query, not one each."""
    if _has_field(queryset.model, "customer"):
        return queryset.select_related("customer")
    return queryset


# --- pipeline funnel -------------------------------------------------------------------------


@dataclass
class FunnelStage:
    code: str
    name: str
    probability: Decimal
    reached: int = 0
    conversion: Decimal | None = None  # share of this stage's deals that reached the next one
    mean_days: Decimal | None = None  # mean days spent in this stage before leaving it
    exits: int = 0


@dataclass
class Funnel:
    stages: list[FunnelStage] = field(default_factory=list)
    opportunities: int = 0


def pipeline_funnel(*, since: dt.datetime, opportunities: QuerySet[Any]) -> Funnel:
    """Stage history of the deals created since `since` among `opportunities` (2 queries).

    reached = deals that entered the stage at least once; conversion = reached(next) ÷
    reached(this) along the open stages' order; time in stage = mean of (next change − entry).
    """
    stages = list(PipelineStage.objects.order_by("position", "pk"))
    changes = (
        OpportunityStageChange.objects.filter(
            opportunity__created_at__gte=since, opportunity__in=opportunities.values("pk")
        )
        .order_by("opportunity_id", "changed_at", "pk")
        .values_list("opportunity_id", "to_stage_id", "changed_at")
    )
    reached: dict[int, set[int]] = defaultdict(set)
    seconds: dict[int, float] = defaultdict(float)
    exits: dict[int, int] = defaultdict(int)
    previous: tuple[int, int, dt.datetime] | None = None
    deals: set[int] = set()
    for opportunity_id, stage_id, changed_at in changes:
        deals.add(opportunity_id)
        reached[stage_id].add(opportunity_id)
        if previous is not None and previous[0] == opportunity_id:
            seconds[previous[1]] += (changed_at - previous[2]).total_seconds()
            exits[previous[1]] += 1
        previous = (opportunity_id, stage_id, changed_at)
    funnel = Funnel(opportunities=len(deals))
    for stage in stages:
        item = FunnelStage(
            code=stage.code,
            name=stage.name,
            probability=stage.probability,
            reached=len(reached.get(stage.pk, ())),
            exits=exits.get(stage.pk, 0),
        )
        if item.exits:
            item.mean_days = Decimal(seconds[stage.pk] / item.exits / 86400).quantize(
                Decimal("0.1")
            )
        funnel.stages.append(item)
    open_stages = [s for s, model in zip(funnel.stages, stages, strict=True) if not model.is_lost]
    for current, following in zip(open_stages, open_stages[1:], strict=False):
        if current.reached:
            current.conversion = Decimal(following.reached) / Decimal(current.reached)
    return funnel


def ticket_backlog(tickets: QuerySet[Any]) -> dict[str, int]:
    """Open tickets by status, now (1 grouped query): the backlog is a state, not a snapshot."""
    open_statuses = [
        value for value in Ticket.Status.values if value not in {"solved", "closed", "spam"}
    ]
    rows = (
        tickets.filter(status__in=open_statuses).order_by().values("status").annotate(n=Count("pk"))
    )
    return {row["status"]: row["n"] for row in rows}

"""The segment movement page, its chart, its cell drill-down and its API endpoint.

Every reader sees the customers they may see (customers_visible_to) within their KPI scope's
cell (kpi_scope_for): an organisation reader any team, owner, channel or business segment, a
team manager their teams and people, a rep their own customers. The page quietly narrows a
filter outside the scope to the scope's own cell, as the KPI pages do; the chart, the drill-down
and the API answer 404 to it, as the KPI charts do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chartjs.views.lines import BaseLineChartView
from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.bulk import action_form, bulk_kind
from kpis import charts, page_queries
from kpis.models import Granularity
from kpis.page_queries import FILTER_LABELS
from kpis.periods import Period, PeriodError, parse_granularity, period_label
from kpis.segments import (
    SEGMENT_ORDER,
    SegmentMovement,
    default_movement_periods,
    movement_customers,
    movement_population,
    segment_label,
    segment_movement,
    stored_segment_periods,
)
from kpis.selectors import KpiScope, kpi_scope_for
from kpis.views.charts import PALETTE, ChartPayload, PayloadChartView
from kpis.views.common import kpi_access_required

# The customer attributes a movement can be narrowed by (the KPI pages' filters but product
# line, which is not a customer's).
MOVEMENT_DIMENSIONS = ("segment", "team", "owner", "channel")
# The movement shows customers' revenue: readers whose scope has the sales figures.
SCOPE_KPI = "revenue"
# kpis.bulk: the action a cell offers for its customers.
CELL_BULK_KIND = "segment_movement"
CELL_BULK_ACTION = "open_retention_case"
PAGE_SIZE = 25


@dataclass(frozen=True)
class MovementFilters:
    granularity: str
    source: dt.date
    target: dt.date
    dimension: str = "all"
    value: str = ""
    # The period parser's messages for what the URL asked and the page replaced by its default.
    errors: tuple[str, ...] = ()

    def params(self, **overrides: Any) -> dict[str, str]:
        params = {
            "granularity": self.granularity,
            "from": self.source.isoformat(),
            "to": self.target.isoformat(),
        }
        if self.dimension != "all":
            params[self.dimension] = self.value
        params.update({name: str(value) for name, value in overrides.items()})
        return params

    @property
    def querystring(self) -> str:
        return urlencode(self.params())


def _period(granularity: str, raw: str | None, default: dt.date, errors: list[str]) -> dt.date:
    """The start of the period holding the date `raw` (ISO) through the one period parser, else
    `default` with the parser's message added to `errors`."""
    if not (raw or "").strip():
        return default
    try:
        return Period.parse(granularity, raw or "").start
    except PeriodError as error:
        errors.append(str(error))
        return default


def _dimension_choices(scope: KpiScope) -> dict[str, list[tuple[str, str]]]:
    if scope.is_organisation:
        stored = page_queries.filter_choices()
        return {name: stored.get(name, []) for name in MOVEMENT_DIMENSIONS}
    return {name: scope.choices(name) for name in MOVEMENT_DIMENSIONS if scope.choices(name)}


def movement_filters(data: Any, scope: KpiScope, *, strict: bool) -> MovementFilters:
    """The filters `data` asks for, within `scope`: outside it, the scope's own cell (`strict`:
    404, for the chart, the drill-down and the API). A bad granularity or period opens the
    default one with the parser's message (`strict`: raises PeriodError, a 400)."""
    errors: list[str] = []
    try:
        granularity = parse_granularity(str(data.get("granularity") or Granularity.QUARTER))
    except PeriodError as error:
        errors.append(str(error))
        granularity = Granularity.QUARTER
    default_source, default_target = default_movement_periods(granularity)
    target = _period(granularity, data.get("to"), default_target, errors)
    source = _period(granularity, data.get("from"), default_source, errors)
    if errors and strict:
        raise PeriodError(errors[0])
    dimension, value = "all", ""
    for name in MOVEMENT_DIMENSIONS:
        raw = str(data.get(name) or "").strip()
        if raw:
            dimension, value = name, raw[:100]
            break
    if not scope.is_organisation and not scope.allows(dimension, value):
        if strict:
            raise Http404
        dimension, value = scope.default_cell
    return MovementFilters(granularity, source, target, dimension, value, tuple(errors))


def _scope_or_404(request: HttpRequest) -> KpiScope:
    scope = kpi_scope_for(request.user)
    if not scope.covers(SCOPE_KPI):
        raise Http404
    return scope


def _url(name: str, params: dict[str, str]) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


@dataclass(frozen=True)
class TableCell:
    customers: int
    revenue: Any
    url: str


def _matrix(movement: SegmentMovement, filters: MovementFilters) -> list[dict[str, Any]]:
    """Rows of the transition table: per source segment its cells, in column order, and totals."""
    rows = []
    for source in movement.segments:
        cells = []
        for target in movement.segments:
            cell = movement.cell(source, target)
            cells.append(
                TableCell(
                    cell.customers,
                    cell.revenue,
                    _url(
                        "kpis:segment_movement_customers",
                        filters.params(source_segment=source, target_segment=target),
                    ),
                )
            )
        customers, revenue = movement.row_total(source)
        rows.append(
            {
                "segment": source,
                "label": segment_label(source),
                "cells": cells,
                "customers": customers,
                "revenue": revenue,
            }
        )
    return rows


@kpi_access_required
def segment_movement_page(request: HttpRequest) -> HttpResponse:
    scope = kpi_scope_for(request.user)
    unavailable = not scope.covers(SCOPE_KPI)
    filters = movement_filters(request.GET, scope, strict=False)
    stored = stored_segment_periods(filters.granularity)
    periods = [
        (day.isoformat(), period_label(filters.granularity, day))
        for day in sorted({*stored, filters.source, filters.target}, reverse=True)
    ]
    choices = _dimension_choices(scope)
    dimension_fields = [
        (name, FILTER_LABELS[name], choices[name])
        for name in MOVEMENT_DIMENSIONS
        if name in choices
    ]
    movement = None
    if not unavailable:
        movement = segment_movement(
            movement_population(request.user, dimension=filters.dimension, value=filters.value),
            granularity=filters.granularity,
            source=filters.source,
            target=filters.target,
        )
    context = {
        "title": _("Segment movement"),
        "scope": scope,
        "scope_unavailable": unavailable,
        "granularities": Granularity.choices,
        "periods": periods,
        "dimension_fields": dimension_fields,
        "filters": filters,
        "query": urlencode({"granularity": filters.granularity}),
        "filter_label": dict(choices.get(filters.dimension, [])).get(filters.value, filters.value),
        "source_label": period_label(filters.granularity, filters.source),
        "target_label": period_label(filters.granularity, filters.target),
        "movement": movement,
        "columns": [(segment, segment_label(segment)) for segment in movement.segments]
        if movement
        else [],
        "rows": _matrix(movement, filters) if movement else [],
        "column_totals": [movement.column_total(segment) for segment in movement.segments]
        if movement
        else [],
        "chart": {
            "slug": "segment-movement",
            "title": _("Where each segment's customers went"),
            "url": _url("kpis:segment_movement_chart", filters.params()),
            "stacked": True,
        },
        "currency": settings.CRM_CURRENCY,
        "request_path": request.path,
        "can_open_cases": _cell_action_form(request) is not None,
    }
    return render(request, "kpis/segments_movement.html", context)


class SegmentMovementChartView(PayloadChartView):
    """Stacked bars: one bar per segment at the earlier period's end, split by the segment its
    customers had at the later period's end (customers)."""

    chart_name = "segment-movement"
    kpis = (SCOPE_KPI,)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.scope = _scope_or_404(request)
        try:
            filters = movement_filters(request.GET, self.scope, strict=True)
        except PeriodError as error:
            return JsonResponse({"error": str(error)}, status=400)
        movement = segment_movement(
            movement_population(request.user, dimension=filters.dimension, value=filters.value),
            granularity=filters.granularity,
            source=filters.source,
            target=filters.target,
        )
        segments = movement.segments
        series = []
        for target in segments:
            # One colour per segment whatever the segments present.
            rgb = ", ".join(
                str(part) for part in PALETTE[SEGMENT_ORDER.index(target) % len(PALETTE)]
            )
            series.append(
                (
                    segment_label(target),
                    [movement.cell(source, target).customers for source in segments],
                    {
                        "stack": "movement",
                        "backgroundColor": f"rgba({rgb}, 0.75)",
                        "borderColor": f"rgba({rgb}, 1)",
                    },
                )
            )
        self.payload = ChartPayload(
            labels=[segment_label(source) for source in segments],
            series=series,
            unit=charts.UNIT_COUNT,
            chart_type="bar",
            extra={"stacked": True, "categorical": True},
        )
        if request.GET.get("format") in {"csv", "xlsx"}:
            context = self.get_context_data()
            return self.chart_csv(self.chart_name, context["labels"], context["datasets"])
        return BaseLineChartView.get(self, request, *args, **kwargs)


def _cell_action_form(request: HttpRequest) -> Any:
    """The form of the cells' "open retention cases" bulk action, None where the user's role
    may not use it."""
    kind = bulk_kind(CELL_BULK_KIND)
    action = kind.action(CELL_BULK_ACTION) if kind is not None else None
    if kind is None or action is None or not kind.allowed(request.user):
        return None
    return action_form(kind, action, request.user)


@kpi_access_required
def segment_movement_customers_page(request: HttpRequest) -> HttpResponse:
    """The customers of one cell of the movement table."""
    scope = _scope_or_404(request)
    try:
        filters = movement_filters(request.GET, scope, strict=True)
    except PeriodError as error:
        return HttpResponseBadRequest(str(error))
    source_segment = request.GET.get("source_segment", "")
    target_segment = request.GET.get("target_segment", "")
    if source_segment not in SEGMENT_ORDER or target_segment not in SEGMENT_ORDER:
        raise Http404
    customers = movement_customers(
        movement_population(request.user, dimension=filters.dimension, value=filters.value),
        granularity=filters.granularity,
        source=filters.source,
        target=filters.target,
        source_segment=source_segment,
        target_segment=target_segment,
    ).select_related("owner", "team")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    source_label = period_label(filters.granularity, filters.source)
    target_label = period_label(filters.granularity, filters.target)
    return render(
        request,
        "kpis/segments_movement_customers.html",
        {
            "title": _("%(source)s → %(target)s: customers")
            % {
                "source": segment_label(source_segment),
                "target": segment_label(target_segment),
            },
            "scope": scope,
            "filters": filters,
            "query": urlencode({"granularity": filters.granularity}),
            "page": page,
            "source_label": source_label,
            "target_label": target_label,
            "source_segment": segment_label(source_segment),
            "target_segment": segment_label(target_segment),
            "back_url": _url("kpis:segment_movement", filters.params()),
            "page_query": _url(
                "kpis:segment_movement_customers",
                filters.params(source_segment=source_segment, target_segment=target_segment),
            ),
            # The bulk job reads the cell again from this query string (kpis.bulk).
            "bulk_query": urlencode(
                filters.params(source_segment=source_segment, target_segment=target_segment)
            ),
            "bulk_kind": CELL_BULK_KIND,
            "bulk_action": CELL_BULK_ACTION,
            "cases_form": _cell_action_form(request),
            "currency": settings.CRM_CURRENCY,
        },
    )


MOVEMENT_PARAMETERS = [
    OpenApiParameter(
        "granularity",
        OpenApiTypes.STR,
        enum=list(Granularity.values),
        description=gettext_lazy("Default: quarter."),
    ),
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description=gettext_lazy("Earlier period (any day in it).")
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description=gettext_lazy("Later period (any day in it).")
    ),
    *(
        OpenApiParameter(name, OpenApiTypes.STR, description=str(FILTER_LABELS[name]))
        for name in MOVEMENT_DIMENSIONS
    ),
]


class SegmentMovementApiView(APIView):
    """Customers and revenue moved from each RFM segment at one period's end to each at
    another's (default: the last two closed quarters), within the caller's KPI scope."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=MOVEMENT_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        scope = kpi_scope_for(request.user)
        if not scope.covers(SCOPE_KPI):
            raise Http404
        try:
            filters = movement_filters(request.query_params, scope, strict=True)
        except PeriodError as error:
            raise ValidationError({"period": [str(error)]}) from error
        movement = segment_movement(
            movement_population(request.user, dimension=filters.dimension, value=filters.value),
            granularity=filters.granularity,
            source=filters.source,
            target=filters.target,
        )
        return Response(
            {
                "granularity": movement.granularity,
                "from": movement.source.isoformat(),
                "to": movement.target.isoformat(),
                "dimension": filters.dimension,
                "dimension_value": filters.value,
                "from_stored": movement.source_stored,
                "to_stored": movement.target_stored,
                "customers": movement.customers,
                "revenue": str(movement.revenue),
                "cells": [
                    {
                        "from_segment": cell.source,
                        "to_segment": cell.target,
                        "customers": cell.customers,
                        "revenue": str(cell.revenue),
                    }
                    for cell in movement.cells
                ],
            }
        )

"""Chart.js JSON from django-chartjs views: one KPI's trend, the breakdown of a period, the
composite index and its waterfall, and the base view the analytics charts build on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chartjs.views.lines import BaseLineChartView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from crm.importing.export import export_format
from crm.templatetags.pulse import kpi_value
from kpis import charts, page_queries
from kpis.definitions import registry
from kpis.forms import KpiFilters, parse_filters
from kpis.periods import PeriodError, query_period
from kpis.selectors import (
    KpiScope,
    chart_alert_thresholds,
    kpi_has_snapshots,
    kpi_scope_for,
    target_progress_list,
)
from kpis.views.common import (
    KEY_PATTERN,
    KpiAccessMixin,
    csv_response,
    definition_or_404,
    wants_export,
)
from kpis.weight_selectors import index_chart_datasets, index_history

_DIMENSION_PATTERN = re.compile(r"^[a-z_]{1,30}$")
# Our palette (Bootstrap 5 primary, success, danger, warning, info, indigo, teal, orange).
PALETTE = [
    (13, 110, 253),
    (25, 135, 84),
    (220, 53, 69),
    (255, 193, 7),
    (13, 202, 240),
    (102, 16, 242),
    (32, 201, 151),
    (253, 126, 20),
]


def _chart_filters(request: HttpRequest) -> tuple[KpiScope, KpiFilters]:
    """A chart's filters: a cell outside the user's scope is 404, not quietly replaced; a bad
    granularity or period raises PeriodError (the chart answers 400, see `parse_filters`)."""
    scope = kpi_scope_for(request.user)
    _form, filters = parse_filters(request.GET, dimensions=scope.dimensions, strict=True)
    if filters.dimension != "all" and not scope.allows(filters.dimension, filters.value):
        raise Http404
    return scope, filters.within(scope)


class ChartCsvMixin:
    """`?format=csv` or `?format=xlsx` on a chart view: one row per label, one column per
    dataset."""

    request: HttpRequest

    def chart_csv(self, name: str, labels: Sequence[Any], datasets: Sequence[dict[str, Any]]):
        header = [_("Period"), *[str(ds.get("label", "")) for ds in datasets]]
        rows = [[str(label), *[ds["data"][i] for ds in datasets]] for i, label in enumerate(labels)]
        return csv_response(name, header, rows, export_format(self.request) or "csv")


class KpiChartView(KpiAccessMixin, ChartCsvMixin, BaseLineChartView):
    """Chart.js `{labels, datasets}` for one KPI: dimension `all` by default, one line per value
    of `?dimension=`, or the single cell `?dimension=&value=`. `?targets=1` adds the target line.
    Labels are period starts (ISO dates); n/a values are null (gaps). `?targets=1` also draws the
    thresholds of the active alert rules on the same cell, one flat line each."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = kwargs["key"]
        self.dimension = request.GET.get("dimension", "all")
        self.value = request.GET.get("value")
        try:
            # `?period=`: the window ends with that period, as the KPI page's table does.
            self.granularity, period = query_period(
                request.GET.get("granularity"), request.GET.get("period")
            )
        except PeriodError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        self.last = period.start if period else None
        try:
            self.periods = int(request.GET.get("periods", charts.DEFAULT_PERIODS))
        except ValueError:
            return JsonResponse({"error": "periods must be an integer"}, status=400)
        if not 1 <= self.periods <= charts.MAX_PERIODS:
            return JsonResponse({"error": f"periods must be 1–{charts.MAX_PERIODS}"}, status=400)
        if not KEY_PATTERN.match(key) or not _DIMENSION_PATTERN.match(self.dimension):
            raise Http404
        scope = kpi_scope_for(request.user)
        # A scoped user charts one of their own cells, nothing wider (no line per team).
        if not scope.covers(key) or not (
            scope.is_organisation or scope.allows(self.dimension, self.value)
        ):
            raise Http404
        self.presentation = charts.kpi_presentation(key)
        self.axis, self.lines = charts.dimension_series(
            key=key,
            granularity=self.granularity,
            dimension=self.dimension,
            periods=self.periods,
            value=self.value,
            last=self.last,
        )
        known = key in charts.FEATURED_KPIS or key in registry
        if not self.lines and not known and not kpi_has_snapshots(kpi=key):
            raise Http404
        self.target_line = self._target_line(key) if request.GET.get("targets") else None
        self.thresholds = (
            chart_alert_thresholds(
                key=key,
                granularity=self.granularity,
                dimension=self.dimension,
                value=self.value or "",
            )
            if request.GET.get("targets") and self.axis
            else []
        )
        if wants_export(request):
            context = self.get_context_data()
            return self.chart_csv(
                f"{key}-{self.granularity}", context["labels"], context["datasets"]
            )
        return super().get(request, *args, **kwargs)

    def _target_line(self, key: str) -> list[Decimal | None] | None:
        if not self.axis:
            return None
        progress = target_progress_list(
            kpis=[key],
            granularity=self.granularity,
            dimension=self.dimension,
            dimension_value=self.value or "",
            period_starts=self.axis,
        )
        if not progress:
            return None
        goals = {p.target.period_start: p.resolved_value for p in progress}
        unit = self.presentation.unit
        return [charts.display_value(goals.get(start), unit) for start in self.axis]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Built explicitly: TemplateView's context also holds the view and URL kwargs.
        unit = self.presentation.unit
        datasets = self.get_datasets()
        if self.target_line is not None:
            datasets.append(
                {
                    "type": "line",
                    "label": str(_("Target")),
                    "data": self.target_line,
                    "borderColor": "rgba(33, 37, 41, 0.9)",
                    "backgroundColor": "rgba(33, 37, 41, 0.9)",
                    "borderDash": [6, 4],
                    "borderWidth": 2,
                    "pointRadius": 3,
                    # Targets are set for some periods only: join them into one line.
                    "spanGaps": True,
                    "fill": False,
                }
            )
        for side, threshold in self.thresholds:
            label = _("Alert below %(value)s") if side == "below" else _("Alert above %(value)s")
            datasets.append(
                {
                    "type": "line",
                    "label": label % {"value": kpi_value(threshold, unit)},
                    "data": [charts.display_value(threshold, unit)] * len(self.axis),
                    "borderColor": "rgba(220, 53, 69, 0.9)",
                    "backgroundColor": "rgba(220, 53, 69, 0.9)",
                    "borderDash": [2, 3],
                    "borderWidth": 1.5,
                    "pointRadius": 0,
                    "fill": False,
                    "threshold": side,
                }
            )
        return {
            "labels": self.get_labels(),
            "datasets": datasets,
            "kpi": self.presentation.key,
            "name": self.presentation.name,
            "unit": unit,
            "currency": settings.CRM_CURRENCY,
            "granularity": self.granularity,
            "dimension": self.dimension,
            "chartType": "bar" if unit in (charts.UNIT_MONEY, charts.UNIT_COUNT) else "line",
            # Notes explaining periods of this window, marked on the chart by kpi-charts.js.
            "annotations": charts.chart_annotations(
                key=self.presentation.key, granularity=self.granularity, axis=self.axis
            ),
        }

    def get_labels(self) -> list[Any]:
        return list(self.axis)

    def get_providers(self) -> list[str]:
        if self.dimension == "all" and not self.value:
            return [self.presentation.name]
        return [label for label, _rows in self.lines]

    def get_data(self) -> list[list[Any]]:
        unit = self.presentation.unit
        return [
            [charts.display_value(row.value if row else None, unit) for row in rows]
            for _label, rows in self.lines
        ]

    def get_colors(self) -> Any:
        while True:
            yield from PALETTE

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rows = self.lines[index][1]
        rgb = ", ".join(str(part) for part in color)
        return {
            "backgroundColor": f"rgba({rgb}, 0.35)",
            "borderColor": f"rgba({rgb}, 1)",
            "pointBackgroundColor": f"rgba({rgb}, 1)",
            "borderWidth": 2,
            "tension": 0.2,
            # A NULL value is n/a (zero denominator): leave a gap rather than join across it.
            "spanGaps": False,
            "sampleSizes": [row.sample_size if row else None for row in rows],
            "lowSample": [bool(row and row.low_sample) for row in rows],
            "provisional": [bool(row and row.provisional) for row in rows],
        }

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return charts.chart_json(context)


@dataclass
class ChartPayload:
    """What a page chart shows: category labels and named series, in display units."""

    labels: list[Any]
    series: list[tuple[str, list[Any], dict[str, Any]]]
    unit: str = charts.UNIT_NUMBER
    chart_type: str = "line"
    granularity: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PayloadChartView(KpiAccessMixin, ChartCsvMixin, BaseLineChartView):
    """A django-chartjs view for the analytics pages; subclasses build a `ChartPayload`."""

    http_method_names = ["get", "head", "options"]
    chart_name = "chart"
    # Figures of the whole organisation only (the composite index): 404 for a scoped user.
    organisation_only = False
    # The KPIs the chart shows: 404 for a user whose scope covers none of them.
    kpis: tuple[str, ...] = ()

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.scope, filters = _chart_filters(request)
        except PeriodError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        if not self.scope.is_organisation and (
            self.organisation_only
            or (self.kpis and not any(self.scope.covers(key) for key in self.kpis))
        ):
            raise Http404
        self.payload = self.build(request, filters, **kwargs)
        if wants_export(request):
            context = self.get_context_data()
            return self.chart_csv(self.chart_name, context["labels"], context["datasets"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "labels": self.get_labels(),
            "datasets": self.get_datasets(),
            "unit": self.payload.unit,
            "currency": settings.CRM_CURRENCY,
            "granularity": self.payload.granularity,
            "chartType": self.payload.chart_type,
            **self.payload.extra,
        }

    def get_labels(self) -> list[Any]:
        return self.payload.labels

    def get_providers(self) -> list[str]:
        return [label for label, _data, _options in self.payload.series]

    def get_data(self) -> list[list[Any]]:
        return [data for _label, data, _options in self.payload.series]

    def get_colors(self) -> Any:
        while True:
            yield from PALETTE

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rgb = ", ".join(str(part) for part in color)
        options = {
            "backgroundColor": f"rgba({rgb}, 0.55)",
            "borderColor": f"rgba({rgb}, 1)",
            "borderWidth": 2,
            "spanGaps": False,
        }
        options.update(self.payload.series[index][2])
        return options

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return charts.chart_json(context)


class KpiBreakdownChartView(PayloadChartView):
    """One period of a KPI split by a dimension (a bar per value), from stored snapshots."""

    chart_name = "breakdown"

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        key = kwargs["key"]
        definition = definition_or_404(key)
        by = request.GET.get("by", "")
        if by not in definition.dimensions or by == "all" or filters.period is None:
            raise Http404
        scope = self.scope
        if not scope.covers(key) or not (scope.is_organisation or by in scope.dimensions):
            raise Http404
        self.chart_name = f"{key}-{by}-{filters.period.isoformat()}"
        presentation = charts.kpi_presentation(key)
        rows = page_queries.breakdown_rows(
            kpi=key, granularity=filters.granularity, period_start=filters.period, dimension=by
        )
        if not scope.is_organisation:
            # A bar per team or person of the scope; other teams' bars are not the user's.
            allowed = set(scope.values(by) or ())
            rows = [row for row in rows if row.dimension_value in allowed]
        return ChartPayload(
            labels=[row.dimension_label or row.dimension_value or "—" for row in rows],
            series=[
                (
                    str(presentation.name),
                    [charts.display_value(row.value, presentation.unit) for row in rows],
                    {
                        "sampleSizes": [row.sample_size for row in rows],
                        "lowSample": [row.low_sample for row in rows],
                    },
                )
            ],
            unit=presentation.unit,
            chart_type="bar",
            extra={"categorical": True, "indexAxis": "y"},
        )


class IndexChartView(PayloadChartView):
    """The composite index over time with its coverage, one line per weight version."""

    chart_name = "index"
    organisation_only = True

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        # One line per weight version, never mixed; each version change is marked.
        history = index_history(granularity=filters.granularity, first=filters.first_period)
        series, markers = index_chart_datasets(history, filters.granularity)
        return ChartPayload(
            labels=history.labels,
            series=series,
            unit=charts.UNIT_SCORE,
            granularity=filters.granularity,
            extra={"annotations": markers},
        )


class WaterfallChartView(PayloadChartView):
    """Why the index moved: previous value, each indicator's change of contribution, latest."""

    chart_name = "index-waterfall"
    organisation_only = True

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        latest, previous, steps = page_queries.index_waterfall(
            granularity=filters.granularity, requested=filters.period
        )
        labels: list[Any] = []
        bars: list[Any] = []
        colours: list[str] = []
        if latest is not None and latest.value is not None:
            running = previous.value if previous is not None and previous.value is not None else 0
            labels.append(str(_("Previous")))
            bars.append([0, running])
            colours.append("rgba(108, 117, 125, 0.7)")
            for name, delta in steps:
                labels.append(name)
                bars.append([running, running + delta])
                colours.append("rgba(25, 135, 84, 0.7)" if delta >= 0 else "rgba(220, 53, 69, 0.7)")
                running += delta
            labels.append(str(_("Latest")))
            bars.append([0, latest.value])
            colours.append("rgba(13, 110, 253, 0.7)")
        return ChartPayload(
            labels=labels,
            series=[(str(_("Index points")), bars, {"backgroundColor": colours})],
            unit=charts.UNIT_SCORE,
            chart_type="bar",
            extra={"categorical": True, "floating": True},
        )

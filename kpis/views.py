"""Manager KPI pages: the overview of stored monthly snapshots and one Chart.js JSON per KPI."""

import re
from typing import Any

from chartjs.views.lines import BaseLineChartView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from crm.views import ManagerRequiredMixin, manager_required
from kpis import charts
from kpis.models import Granularity, KpiSnapshot

_KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,50}$")
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


@manager_required
def overview(request: HttpRequest) -> HttpResponse:
    series = charts.overview_series(granularity=Granularity.MONTH)
    cards = [
        {
            "series": item,
            "chart_url": reverse("kpis:kpi_chart", kwargs={"key": item.key})
            + f"?granularity={Granularity.MONTH}",
        }
        for item in series
    ]
    return render(
        request,
        "kpis/overview.html",
        {"cards": cards, "currency": settings.CRM_CURRENCY, "granularity": Granularity.MONTH},
    )


class KpiChartView(ManagerRequiredMixin, BaseLineChartView):
    """Chart.js `{labels, datasets}` for one KPI: dimension `all` by default, or one line per
    value of `?dimension=`. Labels are period starts (ISO dates); n/a values are null (gaps)."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = kwargs["key"]
        self.granularity = request.GET.get("granularity", Granularity.MONTH)
        self.dimension = request.GET.get("dimension", "all")
        if self.granularity not in Granularity.values:
            return JsonResponse({"error": "unknown granularity"}, status=400)
        try:
            self.periods = int(request.GET.get("periods", charts.DEFAULT_PERIODS))
        except ValueError:
            return JsonResponse({"error": "periods must be an integer"}, status=400)
        if not 1 <= self.periods <= charts.MAX_PERIODS:
            return JsonResponse({"error": f"periods must be 1–{charts.MAX_PERIODS}"}, status=400)
        if not _KEY_PATTERN.match(key) or not re.match(r"^[a-z_]{1,30}$", self.dimension):
            raise Http404
        self.presentation = charts.kpi_presentation(key)
        self.axis, self.lines = charts.dimension_series(
            key=key, granularity=self.granularity, dimension=self.dimension, periods=self.periods
        )
        known = key in charts.FEATURED_KPIS or charts.is_registered(key)
        if not self.lines and not known and not KpiSnapshot.objects.filter(kpi=key).exists():
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Built explicitly: TemplateView's context also holds the view and URL kwargs.
        unit = self.presentation.unit
        return {
            "labels": self.get_labels(),
            "datasets": self.get_datasets(),
            "kpi": self.presentation.key,
            "name": self.presentation.name,
            "unit": unit,
            "currency": settings.CRM_CURRENCY,
            "granularity": self.granularity,
            "dimension": self.dimension,
            "chartType": "bar" if unit in (charts.UNIT_MONEY, charts.UNIT_COUNT) else "line",
        }

    def get_labels(self) -> list[Any]:
        return list(self.axis)

    def get_providers(self) -> list[str]:
        if self.dimension == "all":
            return [self.presentation.name]
        return [label for label, _ in self.lines]

    def get_data(self) -> list[list[Any]]:
        unit = self.presentation.unit
        return [
            [charts.display_value(row.value if row else None, unit) for row in rows]
            for _, rows in self.lines
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

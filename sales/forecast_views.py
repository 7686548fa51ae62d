"""The sales forecast page: forecast vs won per period, the current period's forecast by
category, its CSV/XLSX export and Chart.js data (a django-chartjs view, as the KPI pages use).

Whose forecast a user reads follows the KPI scope (kpis.selectors.kpi_scope_for): admins and
organisation-wide managers pick the organisation, any team or rep; a manager of some teams those
teams and their people; a rep themselves. Any other `?scope=` is a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chartjs.views.lines import BaseLineChartView
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.importing.export import MONEY_FORMAT, ExportColumn, export_format, export_response
from crm.roles import MANAGER, SALES_REP, is_manager
from crm.views import role_required
from kpis.charts import chart_json
from kpis.periods import current_period, local_today, previous_period
from kpis.selectors import kpi_scope_for
from sales.models import ForecastSnapshot, Opportunity
from sales.selectors import (
    ForecastScope,
    forecast_accuracy_parts,
    forecast_bias_parts,
    forecast_by_category,
    forecast_scopes_of_organisation,
    part_ratio,
    won_amounts_by_period,
)
from sales.services import forecast_snapshot_take

sales_roles = role_required(SALES_REP, MANAGER)
HISTORY_PERIODS = 12
DEFAULT_GRANULARITY = ForecastSnapshot.Granularity.MONTH
ZERO = Decimal("0.00")


@dataclass
class ForecastPeriod:
    """One row of the forecast-vs-won table."""

    period_start: dt.date
    period_end: dt.date
    snapshot: ForecastSnapshot | None
    won: Decimal
    is_closed: bool
    # The period's forecast was taken (its organisation row exists): a scope without a row of
    # its own then had nothing to forecast, F = 0, as the KPIs count it.
    taken: bool

    @property
    def weighted(self) -> Decimal | None:
        if self.snapshot is not None:
            return self.snapshot.weighted_pipeline
        return ZERO if self.taken else None

    @property
    def accuracy(self) -> Decimal | None:
        """1 − |F − W| ÷ W, as the forecast_accuracy KPI; n/a while open or without forecast."""
        if not self.is_closed or self.weighted is None:
            return None
        return part_ratio(forecast_accuracy_parts(self.weighted, self.won))

    @property
    def bias(self) -> Decimal | None:
        if not self.is_closed or self.weighted is None:
            return None
        return part_ratio(forecast_bias_parts(self.weighted, self.won))


@dataclass
class ForecastSelection:
    scope: ForecastScope
    choices: list[ForecastScope]
    granularity: str

    def query(self, **extra: str) -> str:
        return urlencode({"scope": self.scope.key, "granularity": self.granularity, **extra})


def _scope_choices(request: HttpRequest) -> list[ForecastScope]:
    scope = kpi_scope_for(request.user)
    if scope.is_organisation:
        return forecast_scopes_of_organisation()
    return [
        ForecastScope(dimension, value, label)
        for dimension in ("team", "owner")
        for value, label in scope.choices(dimension)
    ]


def forecast_selection(request: HttpRequest) -> ForecastSelection:
    """The scope and granularity asked for, refused (404) when not the user's to see."""
    choices = _scope_choices(request)
    if not choices:
        raise Http404
    wanted = request.GET.get("scope", "")
    scope = next((choice for choice in choices if choice.key == wanted), None)
    if scope is None:
        if wanted:
            raise Http404
        scope = choices[0]
    granularity = request.GET.get("granularity", DEFAULT_GRANULARITY)
    if granularity not in ForecastSnapshot.Granularity.values:
        raise Http404
    return ForecastSelection(scope, choices, granularity)


def forecast_periods(selection: ForecastSelection) -> list[ForecastPeriod]:
    """The last HISTORY_PERIODS periods up to the current one, oldest first (two queries)."""
    granularity = selection.granularity
    periods = [current_period(granularity)]
    while len(periods) < HISTORY_PERIODS:
        periods.insert(0, previous_period(granularity, periods[0][0]))
    scope = selection.scope
    rows = ForecastSnapshot.objects.filter(
        Q(dimension=scope.dimension, dimension_value=scope.value) | Q(dimension="all"),
        granularity=granularity,
        period_start__gte=periods[0][0],
    )
    snapshots: dict[dt.date, ForecastSnapshot] = {}
    taken: set[dt.date] = set()
    for row in rows:
        if row.dimension == "all":
            taken.add(row.period_start)
        if (row.dimension, row.dimension_value) == (scope.dimension, scope.value):
            snapshots[row.period_start] = row
    won = won_amounts_by_period(scope=scope, periods=periods)
    today = local_today()
    return [
        ForecastPeriod(
            start, end, snapshots.get(start), won.get(start, ZERO), end <= today, start in taken
        )
        for start, end in periods
    ]


FORECAST_EXPORT_COLUMNS = (
    ExportColumn(gettext_lazy("Period start"), "period_start"),
    ExportColumn(gettext_lazy("Period end (exclusive)"), "period_end"),
    ExportColumn(gettext_lazy("Deals forecast"), "deal_count"),
    ExportColumn(gettext_lazy("Weighted pipeline"), "weighted", number_format=MONEY_FORMAT),
    ExportColumn(gettext_lazy("Best case"), "best_case", number_format=MONEY_FORMAT),
    ExportColumn(gettext_lazy("Commit"), "commit", number_format=MONEY_FORMAT),
    ExportColumn(gettext_lazy("Won"), "won", number_format=MONEY_FORMAT),
    ExportColumn(gettext_lazy("Accuracy"), "accuracy"),
    ExportColumn(gettext_lazy("Bias"), "bias"),
    ExportColumn(gettext_lazy("Deals without expected close date"), "excluded_undated"),
    ExportColumn(gettext_lazy("Snapshot taken"), "taken_at"),
)


def _export_row(period: ForecastPeriod) -> list[Any]:
    snapshot = period.snapshot
    return [
        period.period_start,
        period.period_end,
        snapshot.deal_count if snapshot else None,
        period.weighted,
        snapshot.best_case if snapshot else None,
        snapshot.commit if snapshot else None,
        period.won,
        period.accuracy,
        period.bias,
        snapshot.excluded_undated if snapshot else None,
        snapshot.taken_at if snapshot else None,
    ]


def _open_deals_left_out(scope: ForecastScope, period_start: dt.date) -> dict[str, int]:
    """The scope's open deals the current forecast leaves out, by reason (one query)."""
    return Opportunity.objects.filter(scope.deals_q(), outcome=Opportunity.Outcome.OPEN).aggregate(
        undated=Count("pk", filter=Q(expected_close_date__isnull=True)),
        overdue=Count("pk", filter=Q(expected_close_date__lt=period_start)),
    )


@sales_roles
def forecast(request: HttpRequest) -> HttpResponseBase:
    selection = forecast_selection(request)
    periods = forecast_periods(selection)
    file_format = export_format(request)
    if file_format is not None:
        return export_response(
            rows=[_export_row(period) for period in periods],
            columns=FORECAST_EXPORT_COLUMNS,
            filename="forecast",
            file_format=file_format,
            stream=False,
        )
    current = periods[-1]
    categories = forecast_by_category(
        scope=selection.scope, period_start=current.period_start, period_end=current.period_end
    )
    return render(
        request,
        "sales/forecast.html",
        {
            "selection": selection,
            "periods": list(reversed(periods)),
            "current": current,
            "categories": categories,
            "category_total": {
                "deal_count": sum(row["deal_count"] for row in categories),
                "amount": sum((row["amount"] for row in categories), ZERO),
                "weighted": sum((row["weighted"] for row in categories), ZERO),
            },
            "left_out": _open_deals_left_out(selection.scope, current.period_start),
            "granularities": ForecastSnapshot.Granularity.choices,
            "chart_url": reverse("sales:forecast_chart") + "?" + selection.query(),
            "csv_url": "?" + selection.query(format="csv"),
            "xlsx_url": "?" + selection.query(format="xlsx"),
            # Managers and admins may store a missing snapshot; the forecast is theirs to run.
            "may_take": is_manager(request.user),
            "currency": settings.CRM_CURRENCY,
        },
    )


@require_POST
@role_required(MANAGER)
def forecast_take(request: HttpRequest) -> HttpResponse:
    """Take the current period's snapshot now when the scheduled task has not (idempotent)."""
    granularity = request.POST.get("granularity", DEFAULT_GRANULARITY)
    try:
        taking = forecast_snapshot_take(
            granularity=granularity,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("sales:forecast")
    if taking.taken:
        messages.success(request, _("The forecast of this period was stored."))
    else:
        messages.info(request, _("The forecast of this period had already been stored."))
    query = urlencode({"granularity": granularity, "scope": request.POST.get("scope", "")})
    return redirect(reverse("sales:forecast") + "?" + query)


@method_decorator(sales_roles, name="dispatch")
class ForecastChartView(BaseLineChartView):
    """Chart.js `{labels, datasets}`: weighted forecast, commit and won per period (bars)."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.selection = forecast_selection(request)
        self.periods = forecast_periods(self.selection)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "labels": self.get_labels(),
            "datasets": self.get_datasets(),
            "unit": "money",
            "currency": settings.CRM_CURRENCY,
            "granularity": self.selection.granularity,
            "chartType": "bar",
        }

    def get_labels(self) -> list[Any]:
        return [period.period_start for period in self.periods]

    def get_providers(self) -> list[str]:
        return [_("Forecast (weighted)"), _("Commit"), _("Won")]

    def get_data(self) -> list[list[Any]]:
        return [
            [period.weighted for period in self.periods],
            [
                period.snapshot.commit if period.snapshot else (ZERO if period.taken else None)
                for period in self.periods
            ],
            [period.won for period in self.periods],
        ]

    def get_colors(self) -> Any:
        yield from [(13, 110, 253), (255, 193, 7), (25, 135, 84)]

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rgb = ", ".join(str(part) for part in color)
        return {
            "backgroundColor": f"rgba({rgb}, 0.55)",
            "borderColor": f"rgba({rgb}, 1)",
            "borderWidth": 2,
        }

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return chart_json(context)

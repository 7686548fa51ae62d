"""Sales pipeline KPIs: win rate, pipeline value, sales cycle, logged activities, and the
sales forecast's accuracy and bias."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.utils.translation import gettext_lazy as _

from kpis.definitions.base import (
    DurationKpi,
    KpiContext,
    KpiDefinition,
    KpiResult,
    RatioKpi,
    filter_dimension,
    group_key,
    grouped,
    in_period,
    ratio,
    to_decimal,
    uses_postgres,
)
from sales.models import Activity, ForecastSnapshot, Opportunity
from sales.selectors import cents, forecast_accuracy_parts, forecast_bias_parts

SALES_PATHS: dict[str, str | None] = {"all": None, "team": "team", "owner": "owner"}
CLOSED = [Opportunity.Outcome.WON, Opportunity.Outcome.LOST]


class WinRate(RatioKpi):
    """win_rate = opportunities won in P ÷ opportunities closed (won or lost) in P."""

    key = "win_rate"
    name = _("Win rate")
    description = _("Share of the period's closed deals that were won.")
    stage = "pipeline"
    unit = "percent"
    direction = "higher"
    record_models = (Opportunity,)
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS
    formula = _(
        "opportunities with outcome won and closed_at in P ÷ opportunities won or lost in P"
    )
    period_rule = _("Opportunity.closed_at in P.")
    edge_cases = _("No closed deals → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Opportunity.objects.filter(in_period("closed_at", ctx), outcome__in=CLOSED)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(outcome=Opportunity.Outcome.WON)


class PipelineValue(RatioKpi):
    """pipeline_value = Σ amount of opportunities open at P.end; details.weighted = Σ amount ×
    probability."""

    key = "pipeline_value"
    name = _("Pipeline value")
    description = _("Total amount of the deals open at the end of the period.")
    stage = "pipeline"
    unit = "money"
    direction = "higher"
    record_models = (Opportunity,)
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS
    min_sample = 0
    formula = _(
        "Σ Opportunity.amount of opportunities created before P.end and not closed before P.end; "
        "details.weighted = Σ amount × probability"
    )
    period_rule = _("A point-in-time figure at P.end.")
    edge_cases = _("No open deals → 0.")
    departures = _(
        "The weighted variant uses each deal's current probability (stage history is not "
        "replayed); amounts are summed as entered (opportunities carry no exchange rate)."
    )

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Opportunity.objects.filter(created_at__lt=ctx.end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=ctx.end)
        )

    def numerator_aggregate(self) -> Any:
        return Sum("amount")

    def extra_details(
        self, ctx: KpiContext, dimension: str, path: str | None
    ) -> dict[str, dict[str, Any]]:
        weighted = Sum(
            ExpressionWrapper(
                F("amount") * F("probability"),
                output_field=DecimalField(max_digits=24, decimal_places=6),
            )
        )
        queryset = self.numerator_queryset(ctx)
        if path is None:
            rows = [queryset.aggregate(w=weighted) | {"key": None}]
        else:
            rows = [
                row | {"key": row[path]}
                for row in queryset.order_by().values(path).annotate(w=weighted)
            ]
        return {group_key(row["key"]): {"weighted": f"{float(row['w'] or 0):.2f}"} for row in rows}


class SalesCycleDays(DurationKpi):
    """sales_cycle_days = median days from opportunity creation to close, for deals won in P."""

    key = "sales_cycle_days"
    name = _("Sales cycle")
    description = _("Median days from opportunity creation to a won close.")
    stage = "pipeline"
    unit = "days"
    direction = "lower"
    record_models = (Opportunity,)
    seconds_per_unit = 86400
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS
    formula = _("median of (closed_at − created_at) in days over opportunities won in P")
    period_rule = _("Opportunity.closed_at in P, outcome won.")
    edge_cases = _("No deals won → n/a. Details hold count, mean, median and p90 in days.")

    def events_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Opportunity.objects.filter(
            in_period("closed_at", ctx), outcome=Opportunity.Outcome.WON
        )

    def duration_expression(self) -> Any:
        if uses_postgres():
            return Func(
                F("closed_at") - F("created_at"),
                template="(EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)",
                output_field=FloatField(),
            )
        # SQLite returns a timedelta; duration_stats converts it with `seconds_per_unit`.
        return ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())


class ActivitiesLogged(RatioKpi):
    """activities_logged = activities completed (done_at) in P."""

    key = "activities_logged"
    name = _("Activities logged")
    description = _("Activities completed in the period.")
    stage = "pipeline"
    unit = "count"
    direction = "higher"
    record_models = (Activity,)
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS
    min_sample = 0
    formula = _("count(activities with done_at in P)")
    period_rule = _("Activity.done_at in P.")
    edge_cases = _("Open (not done) activities are not counted.")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Activity.objects.filter(in_period("done_at", ctx))


FORECAST_FIGURES = ("weighted_pipeline", "best_case", "commit")


class ForecastKpi(KpiDefinition):
    """A closed period's forecast snapshot (sales.ForecastSnapshot, taken at the period's
    start) against the amount won in the period, per organisation, team and rep.

    The forecast compared is the weighted pipeline (Σ amount × stage probability of the deals
    expected to close in P); best case and commit are kept in details with their own error.
    """

    stage = "pipeline"
    unit = "percent"
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS

    def parts(self, forecast: Decimal, won: Decimal) -> tuple[Decimal, Decimal]:
        """(numerator, denominator) of one forecast against the won amount."""
        raise NotImplementedError

    def won_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Opportunity.objects.filter(
            in_period("closed_at", ctx), outcome=Opportunity.Outcome.WON
        )

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        """The deals won in P: the amount both parts are measured against."""
        return filter_dimension(self.won_queryset(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        if ctx.end > ctx.now:
            return []  # the won amount of an open period is not final
        snapshots = list(
            ForecastSnapshot.objects.filter(
                granularity=ctx.granularity,
                period_start=ctx.period_start,
                dimension__in={dimension, "all"},
            ).values("dimension", "dimension_value", *FORECAST_FIGURES)
        )
        if not any(row["dimension"] == "all" for row in snapshots):
            return []  # no forecast was taken for this period: nothing to measure
        forecasts = {
            row["dimension_value"]: row for row in snapshots if row["dimension"] == dimension
        }
        won = grouped(self.won_queryset(ctx), self.path(dimension), Sum("amount"), distinct=False)
        results: list[KpiResult] = []
        zero = Decimal("0.00")
        for value_key in sorted(set(forecasts) | set(won)):
            snapshot = forecasts.get(value_key, {})
            won_amount = cents(won.get(value_key, (None, 0))[0])
            figures = {name: snapshot.get(name, zero) for name in FORECAST_FIGURES}
            numerator, denominator = self.parts(figures["weighted_pipeline"], won_amount)
            details: dict[str, Any] = {"won": f"{won_amount:.2f}"}
            for name, forecast in figures.items():
                error = ratio(*self.parts(forecast, won_amount))
                details[name] = f"{forecast:.2f}"
                details[f"{name}_{self.key.removeprefix('forecast_')}"] = (
                    None if error is None else f"{error:.6f}"
                )
            results.append(
                KpiResult(
                    dimension,
                    value_key,
                    numerator=to_decimal(numerator),
                    denominator=to_decimal(denominator),
                    value=ratio(to_decimal(numerator), to_decimal(denominator)),
                    sample_size=won.get(value_key, (None, 0))[1],
                    details=details,
                )
            )
        return results


class ForecastAccuracy(ForecastKpi):
    """forecast_accuracy = 1 − |F − W| ÷ W, with F the weighted pipeline of the forecast
    snapshot taken at P.start and W the amount won in P; numerator W − |F − W|, denominator W."""

    key = "forecast_accuracy"
    name = _("Forecast accuracy")
    description = _(
        "How close the forecast taken at the start of the period came to the amount won: "
        "a forecast equal to it scores 100%; one off by the whole won amount scores 0%."
    )
    direction = "higher"
    record_models = (Opportunity,)
    formula = _(
        "1 − |F − W| ÷ W, F = weighted pipeline (Σ amount × probability of the open deals "
        "expected to close in P) of the forecast snapshot taken at P.start, W = Σ amount of "
        "opportunities won (closed_at) in P; numerator W − |F − W|, denominator W"
    )
    period_rule = _(
        "A closed period with a forecast snapshot (month, quarter, year): the snapshot of P "
        "against Opportunity.closed_at in P, outcome won."
    )
    edge_cases = _(
        "Open period, or no snapshot taken for P → n/a. Nothing won (W = 0) → n/a. A scope "
        "with wins but no forecast counts F = 0 (accuracy 0 %); a forecast over 2 × W gives "
        "a negative accuracy. Details hold F, W and the same figure for best case and commit."
    )
    departures = _(
        "Not in the catalogue. Accuracy is 1 − absolute percentage error (APE = |F − W| ÷ W); "
        "summed over teams, reps or periods (Σ numerator ÷ Σ denominator) it is 1 − WAPE "
        "(weighted absolute percentage error), not the mean of the APEs. The organisation "
        "figure compares the organisation's own forecast and wins, so over- and "
        "under-forecasts of teams cancel in it."
    )

    def parts(self, forecast: Decimal, won: Decimal) -> tuple[Decimal, Decimal]:
        return forecast_accuracy_parts(forecast, won)


class ForecastBias(ForecastKpi):
    """forecast_bias = (F − W) ÷ W, F the weighted pipeline of the snapshot taken at P.start and
    W the amount won in P: above 0 over-forecast, below 0 under-forecast."""

    key = "forecast_bias"
    name = _("Forecast bias")
    description = _(
        "Whether the forecast taken at the start of the period was over (above 0 %) or "
        "under (below 0 %) the amount won."
    )
    direction = "lower"
    record_models = (Opportunity,)
    formula = _(
        "(F − W) ÷ W, F = weighted pipeline of the forecast snapshot taken at P.start, W = Σ "
        "amount of opportunities won in P; numerator F − W, denominator W"
    )
    period_rule = ForecastAccuracy.period_rule
    edge_cases = _(
        "Open period, or no snapshot taken for P → n/a. Nothing won (W = 0) → n/a. Details "
        "hold F, W and the bias of best case and commit."
    )
    departures = _(
        "Not in the catalogue. 0 is ideal: the registry knows only higher/lower, so the "
        "direction is declared lower, which holds for over-forecasts only; rank forecasts by "
        "forecast_accuracy, not by bias."
    )

    def parts(self, forecast: Decimal, won: Decimal) -> tuple[Decimal, Decimal]:
        return forecast_bias_parts(forecast, won)


DEFINITIONS: tuple[KpiDefinition, ...] = (
    WinRate(),
    PipelineValue(),
    SalesCycleDays(),
    ActivitiesLogged(),
    ForecastAccuracy(),
    ForecastBias(),
)

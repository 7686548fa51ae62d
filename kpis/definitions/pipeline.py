"""Sales pipeline KPIs: win rate, pipeline value, sales cycle and logged activities."""

from __future__ import annotations

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
    RatioKpi,
    group_key,
    in_period,
    uses_postgres,
)
from sales.models import Activity, Opportunity

SALES_PATHS: dict[str, str | None] = {"all": None, "team": "team", "owner": "owner"}
CLOSED = [Opportunity.Outcome.WON, Opportunity.Outcome.LOST]


class WinRate(RatioKpi):
    """win_rate = opportunities won in P ÷ opportunities closed (won or lost) in P."""

    key = "win_rate"
    name = _("Win rate")
    description = _("Share of the period's closed deals that were won.")
    stage = "pipeline"
    unit = "percent"
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
    dimensions = ("all", "team", "owner")
    dimension_paths = SALES_PATHS
    min_sample = 0
    formula = _("count(activities with done_at in P)")
    period_rule = _("Activity.done_at in P.")
    edge_cases = _("Open (not done) activities are not counted.")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Activity.objects.filter(in_period("done_at", ctx))


DEFINITIONS: tuple[KpiDefinition, ...] = (
    WinRate(),
    PipelineValue(),
    SalesCycleDays(),
    ActivitiesLogged(),
)

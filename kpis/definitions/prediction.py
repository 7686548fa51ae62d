"""Predictive KPIs: the BG/NBD + Gamma-Gamma scores summed or averaged per dimension.

They read the stored predictions through `predictions.selectors` (kpis reads the domain through
its selectors); the scores are current values — the latest `predict score` — so every period
computed shows the predictions as they stood when it was computed. The RFM segment and health
band they group on are the customer's at the period's end (stored by the run), like the other
customer KPIs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from kpis.definitions.base import KpiContext, KpiDefinition, KpiResult, RatioKpi, customer_paths
from kpis.definitions.frame import customer_frame
from predictions.models import CustomerPrediction
from predictions.selectors import predictions_for_kpis

PREDICTION_PATHS = customer_paths("customer__")
PREDICTION_DIMENSIONS = (
    "all",
    "segment",
    "team",
    "owner",
    "channel",
    "rfm_segment",
    "health_band",
)
PERIOD_RULE = _(
    "Point in time: the latest stored scoring (`predict score`, weekly), over customers created "
    "before P.end; not a history — a recomputed past period shows the current predictions. By "
    "RFM segment and health band: the customer's at P.end, as stored for the period."
)


def predictions_in(ctx: KpiContext) -> QuerySet[Any]:
    return predictions_for_kpis().filter(customer__created_at__lt=ctx.end)


class PredictionKpi(RatioKpi):
    """A prediction KPI: grouped by the segment and band stored for the period."""

    dimensions = PREDICTION_DIMENSIONS
    dimension_paths = PREDICTION_PATHS
    unique_rows = True
    period_rule = PERIOD_RULE

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        if ctx.segment_history:
            # An engine run stores the period's segments and health bands with its customer
            # frame (built once per run): they must be written before grouping on them.
            customer_frame(ctx)
        return super().compute(ctx)


class ExpectedPurchases90d(PredictionKpi):
    """expected_purchases_90d = Σ E[Y(90 days) | x, t_x, T] over scored customers (BG/NBD)."""

    key = "expected_purchases_90d"
    name = _("Expected purchases (next 90 days)")
    description = _(
        "Purchases the customers are expected to make in the next 90 days (BG/NBD model)."
    )
    stage = "maintenance"
    unit = "count"
    direction = "higher"
    record_models = (CustomerPrediction,)
    min_sample = 0
    formula = _(
        "Σ CustomerPrediction.expected_purchases_90d: each customer's BG/NBD conditional "
        "expectation E[Y(t) | x, t_x, T] with t = 90/7 weeks (purchase days, not orders)"
    )
    edge_cases = _("Customers without an order have no prediction and add nothing; none → 0.")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return predictions_in(ctx)

    def numerator_aggregate(self) -> Any:
        return Sum("expected_purchases_90d")


class PredictedClv(PredictionKpi):
    """predicted_clv = Σ predicted 12-month CLV ÷ scored customers (mean per customer)."""

    key = "predicted_clv"
    name = _("Predicted CLV (12 months)")
    description = _(
        "Mean predicted value per customer over the next 12 months, discounted monthly "
        "(BG/NBD purchases × Gamma-Gamma value)."
    )
    stage = "enhancement"
    unit = "money"
    direction = "higher"
    record_models = (CustomerPrediction,)
    formula = _(
        "Σ CustomerPrediction.predicted_clv ÷ customers with a prediction; predicted_clv = "
        "Σ_{i=1..12} (E[Y(i months)] − E[Y(i−1 months)]) × E[M | x, m̄] ÷ (1 + d)^i with d = "
        "PREDICTIONS_MONTHLY_DISCOUNT_RATE"
    )
    edge_cases = _("No scored customer → n/a (zero denominator).")

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return predictions_in(ctx)

    def numerator_aggregate(self) -> Any:
        return Sum("predicted_clv")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return predictions_in(ctx)


class AtRiskValue(PredictionKpi):
    """at_risk_value = Σ predicted 12-month CLV of customers with P(alive) < the threshold."""

    key = "at_risk_value"
    name = _("Value at risk")
    description = _(
        "Predicted 12-month value of the customers probably lost (P(alive) below the threshold)."
    )
    stage = "retention"
    unit = "money"
    direction = "lower"
    record_models = (CustomerPrediction,)
    min_sample = 0
    formula = _(
        "Σ CustomerPrediction.predicted_clv of customers with p_alive < "
        "PREDICTIONS_AT_RISK_P_ALIVE (default 0.5)"
    )
    edge_cases = _(
        "The CLV already carries P(alive); the sum is what the model still expects from "
        "customers it thinks are probably gone. None at risk → 0."
    )

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return predictions_in(ctx).filter(p_alive__lt=settings.PREDICTIONS_AT_RISK_P_ALIVE)

    def numerator_aggregate(self) -> Any:
        return Sum("predicted_clv")


DEFINITIONS: tuple[KpiDefinition, ...] = (ExpectedPurchases90d(), PredictedClv(), AtRiskValue())

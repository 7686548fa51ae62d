"""The registry: every catalogue KPI is defined once, fully described, and looked up by key."""

import pytest

from kpis.definitions import UnknownKpiError, registry
from kpis.definitions.base import DIMENSIONS, STAGES, UNITS

CATALOGUE_KEYS = {
    "leads_new", "lead_conversion_rate", "customers_new", "cac", "marketing_roi",
    "csat", "nps", "survey_response_rate", "repeat_purchase_rate", "returning_customer_rate",
    "referral_rate", "complaint_rate",
    "revenue", "orders", "aov", "top20_revenue_share", "clv", "clv_historic",
    "cross_sell_rate", "upsell_rate",
    "active_customers", "churn_rate", "retention_rate", "reactivation_rate", "winback_rate",
    "retention_cost",
    "first_response_time", "resolution_time", "sla_first_response_attainment",
    "sla_resolution_attainment", "reopen_rate", "one_touch_rate", "engagement_rate",
    "win_rate", "pipeline_value", "sales_cycle_days", "activities_logged",
    "forecast_accuracy", "forecast_bias",
    "data_completeness",
    # Customer predictions (issue 17).
    "expected_purchases_90d", "predicted_clv", "at_risk_value",
    # Segments through time (kpis/definitions/segments.py).
    "first_to_repeat_rate", "dormant_reactivated_rate", "high_frequency_retained_rate",
}  # fmt: skip


def test_registry_holds_exactly_the_catalogue():
    assert set(registry.keys()) == CATALOGUE_KEYS


@pytest.mark.parametrize("definition", registry.all(), ids=lambda d: d.key)
def test_definition_is_fully_described(definition):
    assert definition.stage in STAGES
    assert definition.unit in UNITS
    assert definition.direction in {"higher", "lower"}
    assert definition.dimensions[0] == "all"
    assert set(definition.dimensions) <= set(DIMENSIONS)
    assert set(definition.dimensions) <= set(definition.dimension_paths)
    assert str(definition.name)
    assert str(definition.description)
    assert definition.formula
    assert definition.__doc__
    assert "=" in definition.__doc__
    assert definition.version >= 1
    assert definition.maturity_days >= 0


def test_survey_kpis_need_30_answers_and_cohorts_have_windows():
    assert registry.get("csat").min_sample == registry.get("nps").min_sample == 30
    assert {d.key: d.maturity_days for d in registry.all() if d.is_cohort} == {
        "lead_conversion_rate": 90,
        "marketing_roi": 90,
        "survey_response_rate": 14,
    }


def test_unknown_key_is_a_clear_key_error():
    with pytest.raises(KeyError) as raised:
        registry.get("churn")
    assert isinstance(raised.value, UnknownKpiError)
    assert str(raised.value).startswith("Unknown KPI 'churn'. Known KPIs: active_customers, ")


def test_by_stage():
    assert [d.key for d in registry.by_stage("pipeline")] == [
        "win_rate", "pipeline_value", "sales_cycle_days", "activities_logged",
        "forecast_accuracy", "forecast_bias",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="Unknown stage 'sales'"):
        registry.by_stage("sales")

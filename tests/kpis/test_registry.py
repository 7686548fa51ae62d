"""The registry: every catalogue KPI is defined once, fully described, and looked up by key."""

import datetime as dt

import pytest
from django.utils import timezone

from kpis import charts
from kpis.definitions import UnknownKpiError, registry
from kpis.definitions.base import DIMENSIONS, DIRECTIONS, STAGES, UNITS, KpiContext
from kpis.definitions.records import DRILLDOWN_VISIBILITY
from kpis.periods import GRANULARITIES, period_bounds
from kpis.selectors import dimension_not_broken_down
from kpis.targets import kpi_direction, kpi_is_known, kpi_points_scale

DISPLAY_FORMATS = {
    charts.UNIT_COUNT,
    charts.UNIT_MONEY,
    charts.UNIT_RATE,
    charts.UNIT_SCORE,
    charts.UNIT_MINUTES,
    charts.UNIT_DAYS,
}

CATALOGUE_KEYS = {
    "leads_new", "lead_conversion_rate", "customers_new", "cac", "marketing_roi",
    "csat", "nps", "survey_response_rate", "repeat_purchase_rate", "returning_customer_rate",
    "referral_rate", "complaint_rate",
    "revenue", "orders", "aov", "top20_revenue_share", "clv", "clv_historic",
    "cross_sell_rate", "upsell_rate",
    "active_customers", "churn_rate", "retention_rate", "net_revenue_retention",
    "reactivation_rate", "winback_rate", "retention_cost",
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
    # Declared by every definition: KpiDefinition has no default direction.
    assert definition.direction in DIRECTIONS
    assert definition.display_format in DISPLAY_FORMATS
    # Every record type a drill-down lists has its app's visibility selector.
    assert all(model in DRILLDOWN_VISIBILITY for model in definition.record_models)
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


def test_readers_of_a_stored_key_the_registry_no_longer_knows_fall_back_alike():
    # The one lookup (registry.get) and its one failure (UnknownKpiError), caught by the readers
    # that must still render a target, an alert or a snapshot stored under an old key.
    assert not kpi_is_known("churn")
    assert kpi_direction("churn") == "higher"
    assert kpi_points_scale("churn") is None
    assert charts.kpi_presentation("churn") == charts.KpiPresentation(
        key="churn", name="churn", unit=charts.UNIT_NUMBER
    )
    assert dimension_not_broken_down("churn", "team") is False


def test_display_format_and_points_follow_the_unit():
    churn, nps, revenue = (registry.get(key) for key in ("churn_rate", "nps", "revenue"))
    # A percent is stored as a fraction: shown as a rate, and a point is 0.01 of it.
    assert (churn.display_format, str(churn.points_scale)) == ("rate", "0.01")
    assert (nps.display_format, str(nps.points_scale)) == ("score", "1")
    assert (revenue.display_format, revenue.points_scale) == ("money", None)


@pytest.mark.django_db
def test_record_models_are_exactly_what_the_drilldowns_list():
    """Walk every definition's `records()` for each granularity, dimension and part."""
    now = timezone.now()
    listed: dict[str, set] = {definition.key: set() for definition in registry.all()}
    for granularity in GRANULARITIES:
        start, end = period_bounds(granularity, dt.date(2026, 5, 1))
        ctx = KpiContext.build(granularity=granularity, period_start=start, period_end=end, now=now)
        for definition in registry.all():
            for dimension in definition.dimensions:
                value = "" if dimension == "all" else "1"
                for part in ("numerator", "denominator"):
                    records = definition.records(ctx, dimension, value, part)
                    if records is not None:
                        listed[definition.key].add(records.model)
    declared = {definition.key: set(definition.record_models) for definition in registry.all()}
    assert listed == declared
    # Revenue by product line lists order lines; a KPI without a drill-down declares nothing.
    assert {model.__name__ for model in declared["revenue"]} == {"Order", "OrderLine"}
    assert all(declared.values())


def test_by_stage():
    assert [d.key for d in registry.by_stage("pipeline")] == [
        "win_rate", "pipeline_value", "sales_cycle_days", "activities_logged",
        "forecast_accuracy", "forecast_bias",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="Unknown stage 'sales'"):
        registry.by_stage("sales")

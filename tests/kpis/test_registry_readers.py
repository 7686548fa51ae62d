"""Targets, charts and alerts read what a KPI is — its direction and unit — from its definition
in the registry, and from nowhere else."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kpis import charts
from kpis.alerts import rule_verdict
from kpis.definitions import registry
from kpis.models import AlertEvaluation, AlertRule, KpiSnapshot, Target
from kpis.services import target_clean
from kpis.targets import kpi_direction, kpi_points_scale, progress_of

D = Decimal
APRIL = dt.date(2026, 4, 1)
MARCH = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def target(kpi: str, kind: str, amount: str) -> Target:
    return Target(
        kpi=kpi,
        granularity="month",
        period_start=APRIL,
        kind=kind,
        amount=D(amount),
        baseline_period_start=None if kind == Target.Kind.ABSOLUTE else MARCH,
    )


def test_a_lower_is_better_kpi_reaches_its_target_by_falling():
    # top20_revenue_share declares "lower" (less concentration is better); the old hard-coded
    # lower-is-better list in kpis.targets did not name it.
    assert registry.get("top20_revenue_share").direction == "lower"
    # Baseline 40 %, goal −25 % relative = 40 % × 0.75 = 30 %; now 35 %:
    # progress (35 − 40) ÷ (30 − 40) = 0.5, not yet achieved (35 % > 30 %).
    relative = target("top20_revenue_share", Target.Kind.RELATIVE_CHANGE_PCT, "-25")
    halfway = progress_of(relative, baseline=D("0.40"), current=D("0.35"))
    assert (halfway.resolved_value, halfway.progress) == (D("0.3000"), D("0.5"))
    assert (halfway.achieved, halfway.direction) == (False, "lower")
    # Absolute goal 30 %, now 25 %: below the goal is achieved; progress goal ÷ current = 1.2.
    absolute = target("top20_revenue_share", Target.Kind.ABSOLUTE, "0.30")
    reached = progress_of(absolute, baseline=None, current=D("0.25"))
    assert (reached.achieved, reached.progress) == (True, D("1.2"))


def test_targets_charts_and_alerts_follow_a_definitions_direction(monkeypatch):
    revenue = type(registry.get("revenue"))
    rule = AlertRule(kpi="revenue", misses_target=True)
    above = KpiSnapshot(value=D("1200"), sample_size=5)
    goal = target("revenue", Target.Kind.ABSOLUTE, "1000")
    # As declared: higher is better, 1,200 against a goal of 1,000 is met.
    assert kpi_direction("revenue") == "higher"
    assert charts.kpi_presentation("revenue").higher_is_better is True
    assert progress_of(goal, baseline=None, current=D("1200")).achieved is True
    assert rule_verdict(rule, above, None, target=D("1000")).outcome == AlertEvaluation.Outcome.OK

    monkeypatch.setattr(revenue, "direction", "lower")

    assert kpi_direction("revenue") == "lower"
    assert charts.kpi_presentation("revenue").higher_is_better is False
    assert progress_of(goal, baseline=None, current=D("1200")).achieved is False
    verdict = rule_verdict(rule, above, None, target=D("1000"))
    assert verdict.outcome == AlertEvaluation.Outcome.BREACH
    assert verdict.reason.startswith("above its target of")


def test_targets_charts_and_alerts_follow_a_definitions_unit(monkeypatch):
    orders = type(registry.get("orders"))
    # A count: no percentage points, shown as a plain count.
    assert kpi_points_scale("orders") is None
    assert charts.kpi_presentation("orders").unit == charts.UNIT_COUNT
    with pytest.raises(ValidationError) as refused:
        target_clean(kpi="orders", granularity="month", period_start=APRIL, kind="pp_change")
    assert "kind" in refused.value.message_dict

    monkeypatch.setattr(orders, "unit", "percent")

    # Declared a percent: a point is 0.01 of the stored fraction, and it is shown as a rate.
    assert kpi_points_scale("orders") == D("0.01")
    assert charts.kpi_presentation("orders").unit == charts.UNIT_RATE
    target_clean(kpi="orders", granularity="month", period_start=APRIL, kind="pp_change")
    # +2 pp on a 30 % baseline = 0.30 + 2 × 0.01 = 0.32.
    points = target("orders", Target.Kind.PP_CHANGE, "2")
    assert progress_of(points, baseline=D("0.30"), current=D("0.31")).resolved_value == D("0.32")
    # An alert on a change shows it in percentage points: 0.25 → 0.20 is −5.0 pp.
    change = AlertRule(kpi="orders", change_abs=D("-0.05"))
    verdict = rule_verdict(
        change, KpiSnapshot(value=D("0.20"), sample_size=5), KpiSnapshot(value=D("0.25"))
    )
    assert verdict.reason.startswith("changed −5.0 pp vs the previous period")


def test_a_rate_is_known_by_its_unit_not_by_its_name(monkeypatch):
    # "…_rate" in a key says nothing: a churn_rate declared as a count has no percentage points.
    monkeypatch.setattr(type(registry.get("churn_rate")), "unit", "count")
    assert kpi_points_scale("churn_rate") is None
    assert charts.kpi_presentation("churn_rate").unit == charts.UNIT_COUNT

"""The target sentence a manager reads, and honest progress: a closed period is met or missed by
how much, an open one shows the figure so far with the share of the period elapsed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from kpis.models import Target
from kpis.targets import TargetProgress, TargetState, progress_of, target_sentence, target_status

D = Decimal
Q4_2026 = dt.date(2026, 10, 1)
Q1_2027 = dt.date(2027, 1, 1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def churn_target(kind: str, amount: str, period_start: dt.date = Q1_2027) -> Target:
    return Target(
        kpi="churn_rate",
        granularity="quarter",
        period_start=period_start,
        kind=kind,
        amount=D(amount),
        baseline_period_start=None if kind == Target.Kind.ABSOLUTE else Q4_2026,
    )


def test_relative_sentence_names_the_baseline_the_goal_and_both_periods():
    sentence = target_sentence(
        kpi="churn_rate",
        granularity="quarter",
        period_start=Q1_2027,
        kind=Target.Kind.RELATIVE_CHANGE_PCT,
        amount=D("-5"),
        baseline=D("0.25"),
    )
    # 25 % × (1 − 0.05) = 23.75 % → shown with one decimal, rounded half up: 23.8 %.
    assert sentence == "Churn rate 25.0 % (Q4 2026) → 23.8 % (−5 % relative) for Q1 2027"


def test_point_change_and_absolute_sentences():
    points = target_sentence(
        kpi="churn_rate",
        granularity="quarter",
        period_start=Q1_2027,
        kind=Target.Kind.PP_CHANGE,
        amount=D("-2"),
        baseline=D("0.25"),
    )
    absolute = target_sentence(
        kpi="churn_rate",
        granularity="quarter",
        period_start=Q1_2027,
        kind=Target.Kind.ABSOLUTE,
        amount=D("0.2"),
        baseline=None,
    )
    # 25 % − 2 points = 23 %.
    assert points == "Churn rate 25.0 % (Q4 2026) → 23.0 % (−2 pp) for Q1 2027"
    assert absolute == "Churn rate → 20.0 % for Q1 2027"


def test_relative_sentence_without_a_baseline_says_so():
    sentence = target_sentence(
        kpi="churn_rate",
        granularity="quarter",
        period_start=Q1_2027,
        kind=Target.Kind.RELATIVE_CHANGE_PCT,
        amount=D("-5"),
        baseline=None,
    )
    assert sentence == (
        "Churn rate: −5 % relative against Q4 2026 (no value stored yet) for Q1 2027"
    )


def progress(target: Target, *, baseline: str | None, current: str | None) -> TargetProgress:
    return progress_of(
        target,
        baseline=None if baseline is None else D(baseline),
        current=None if current is None else D(current),
    )


def test_a_closed_period_that_met_its_target_says_by_how_much():
    item = progress(
        churn_target(Target.Kind.RELATIVE_CHANGE_PCT, "-5"), baseline="0.25", current="0.22"
    )
    status = target_status(item, today=dt.date(2027, 4, 2))
    # goal 23.75 %; 22 % is 1.75 points better → "1.8 pp" (one decimal).
    assert status.state == TargetState.MET
    assert status.text == "Met: 22.0 % against 23.8 %, 1.8 pp better."


def test_a_closed_period_that_missed_says_by_how_much():
    item = progress(churn_target(Target.Kind.ABSOLUTE, "0.2"), baseline=None, current="0.215")
    status = target_status(item, today=dt.date(2027, 4, 1))  # the first day after Q1
    # 21.5 % against 20 %: missed by 1.5 points.
    assert status.state == TargetState.MISSED
    assert status.text == "Missed by 1.5 pp: 21.5 % against 20.0 %."


def test_a_closed_period_exactly_on_target_is_met():
    item = progress(churn_target(Target.Kind.ABSOLUTE, "0.2"), baseline=None, current="0.2")
    assert target_status(item, today=dt.date(2027, 5, 1)).text == "Met exactly: 20.0 %."


def test_an_open_period_shows_the_value_so_far_and_the_elapsed_share_never_a_percentage():
    item = progress(
        churn_target(Target.Kind.RELATIVE_CHANGE_PCT, "-5"), baseline="0.25", current="0.03"
    )
    status = target_status(item, today=dt.date(2027, 1, 10))
    # Q1 2027 has 31 + 28 + 31 = 90 days; 9 have passed → 10 %.
    assert status.state == TargetState.OPEN
    assert (status.elapsed_days, status.total_days) == (9, 90)
    assert status.elapsed_share == D(9) / D(90)
    assert status.text == (
        "So far 3.0 % against 23.8 %, with 9 of 90 days (10 %) of the period elapsed."
    )
    # Not the progress ratio of a partial period, (0.03 − 0.25) ÷ (0.2375 − 0.25) = 1760 %.
    assert "1760" not in status.text


def test_a_future_period_has_not_started():
    item = progress(
        churn_target(Target.Kind.RELATIVE_CHANGE_PCT, "-5"), baseline="0.25", current=None
    )
    status = target_status(item, today=dt.date(2026, 12, 22))
    assert status.state == TargetState.UPCOMING
    assert status.text == "Starts in 10 days; the goal is 23.8 %."


def test_a_relative_target_without_baseline_cannot_be_resolved():
    item = progress(
        churn_target(Target.Kind.RELATIVE_CHANGE_PCT, "-5"), baseline=None, current="0.2"
    )
    assert target_status(item, today=dt.date(2027, 2, 1)).state == TargetState.NO_VALUE


def test_a_point_change_on_nps_reads_in_points():
    sentence = target_sentence(
        kpi="nps",
        granularity="quarter",
        period_start=Q1_2027,
        kind=Target.Kind.PP_CHANGE,
        amount=D("3"),
        baseline=D("31"),
    )
    # NPS is stored in points: 31 + 3 = 34.
    assert sentence == "Net Promoter Score 31.0 (Q4 2026) → 34.0 (+3 points) for Q1 2027"

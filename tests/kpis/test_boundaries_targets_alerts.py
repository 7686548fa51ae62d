"""Targets and alerts at their edges (catalogue §4; issue 19, item 5): thresholds met exactly,
change % exactly at the setting, N and N − 1 breaches, M and M − 1 OK periods, hysteresis
after a resolution, low-sample periods skipped; target goals reached exactly or missed by a unit."""

import datetime as dt
from decimal import Decimal

import pytest

from kpis.alerts import alerts_evaluate, rule_verdict
from kpis.models import Alert, AlertEvaluation, AlertRule, Direction, KpiSnapshot, Target
from kpis.services import alert_resolve, alert_rule_create
from kpis.targets import period_end_of, period_shift, progress_of

D = Decimal
MONTHS = [dt.date(2026, month, 1) for month in range(1, 13)]
BREACH, OK, SKIPPED = (
    AlertEvaluation.Outcome.BREACH,
    AlertEvaluation.Outcome.OK,
    AlertEvaluation.Outcome.SKIPPED,
)


def cell(value: str | None, *, low_sample: bool = False) -> KpiSnapshot:
    return KpiSnapshot(value=None if value is None else D(value), low_sample=low_sample)


@pytest.mark.parametrize(
    ("lower", "upper", "value", "outcome"),
    [
        # "above 0.10" breaches strictly above: 0.100000 is OK, 0.100001 breaches
        (None, "0.10", "0.100000", OK),
        (None, "0.10", "0.100001", BREACH),
        # "below 0.80" breaches strictly below: 0.800000 is OK, 0.799999 breaches
        ("0.80", None, "0.800000", OK),
        ("0.80", None, "0.799999", BREACH),
    ],
)
def test_thresholds_at_the_exact_value(lower, upper, value, outcome):
    rule = AlertRule(
        kpi="churn_rate",
        lower_threshold=None if lower is None else D(lower),
        upper_threshold=None if upper is None else D(upper),
    )
    assert rule_verdict(rule, cell(value), None).outcome == outcome


@pytest.mark.parametrize(
    ("change_pct", "previous", "value", "outcome"),
    [
        # (v − prev) / |prev| · 100: 0.18 → 0.20 is +11.11…; 0.20 → 0.18 is −10 exactly
        ("-10", "0.20", "0.18", BREACH),  # a drop of exactly 10 % breaches (≤ −10)
        ("-10", "0.20", "0.180001", OK),  # −9.9995 % does not
        ("10", "0.20", "0.22", BREACH),  # a rise of exactly 10 % breaches (≥ 10)
        ("10", "0.20", "0.219999", OK),  # +9.9995 % does not
        ("-10", "-0.20", "-0.22", BREACH),  # |prev|: −0.20 → −0.22 is a 10 % drop
    ],
)
def test_change_percent_at_the_exact_setting(change_pct, previous, value, outcome):
    rule = AlertRule(kpi="nps", change_pct=D(change_pct))
    assert rule_verdict(rule, cell(value), cell(previous)).outcome == outcome


def test_skips_na_low_sample_and_a_change_rule_without_a_usable_previous_value():
    upper = AlertRule(kpi="churn_rate", upper_threshold=D("0.10"))
    change = AlertRule(kpi="churn_rate", change_pct=D("-10"))
    assert rule_verdict(upper, None, None).outcome == SKIPPED
    assert rule_verdict(upper, cell(None), None).outcome == SKIPPED
    # above the threshold but low sample: skipped, never a breach
    assert rule_verdict(upper, cell("0.5", low_sample=True), None).outcome == SKIPPED
    # previous value 0, low-sample or missing: the change is not evaluated
    assert rule_verdict(change, cell("0.5"), cell("0")).outcome == SKIPPED
    assert rule_verdict(change, cell("0.5"), cell("0.9", low_sample=True)).outcome == SKIPPED
    assert rule_verdict(change, cell("0.5"), None).outcome == SKIPPED


# --- streaks: N breaches to fire, M OK periods to resolve (database) ---------------------------


def kpi_values(values: list[str | None], *, low_sample_at: tuple[int, ...] = ()) -> None:
    for index, value in enumerate(values):
        KpiSnapshot.objects.create(
            kpi="churn_rate",
            granularity="month",
            period_start=MONTHS[index],
            period_end=period_end_of("month", MONTHS[index]),
            value=None if value is None else D(value),
            low_sample=index in low_sample_at,
        )


def rule(fire_after: int, resolve_after: int) -> AlertRule:
    return alert_rule_create(
        name="Churn",
        kpi="churn_rate",
        granularity="month",
        upper_threshold=D("0.10"),
        fire_after=fire_after,
        resolve_after=resolve_after,
    )


def states_after_each_month(count: int, django_capture_on_commit_callbacks) -> list[str]:
    """The rule's alert state after evaluating each of the first `count` months ('' = none)."""
    states = []
    for month in MONTHS[:count]:
        with django_capture_on_commit_callbacks(execute=True):
            alerts_evaluate(granularity="month", period_start=month)
        latest = Alert.objects.order_by("-id").first()
        states.append("" if latest is None else latest.state)
    return states


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_n_consecutive_breaches_fire_and_n_minus_1_do_not(django_capture_on_commit_callbacks):
    rule(fire_after=3, resolve_after=1)
    # B B O B B B: two breaches then OK (streak broken), then three in a row → fires in month 6
    kpi_values(["0.2", "0.2", "0.05", "0.2", "0.2", "0.2"])

    states = states_after_each_month(6, django_capture_on_commit_callbacks)

    assert states == ["", "", "", "", "", "firing"]
    assert Alert.objects.get().period_start == MONTHS[5]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_low_sample_and_na_periods_neither_break_nor_extend_a_streak(
    django_capture_on_commit_callbacks,
):
    rule(fire_after=2, resolve_after=1)
    # B, low-sample 0.9 (skipped), n/a (skipped), B → the 2nd breach fires in month 4
    kpi_values(["0.2", "0.9", None, "0.2"], low_sample_at=(1,))

    states = states_after_each_month(4, django_capture_on_commit_callbacks)

    assert states == ["", "", "", "firing"]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_m_ok_periods_resolve_and_m_minus_1_do_not(django_capture_on_commit_callbacks):
    rule(fire_after=1, resolve_after=3)
    # B (fires), O O B (the breach resets the OK streak), O O O → resolved in month 7
    kpi_values(["0.2", "0.05", "0.05", "0.2", "0.05", "0.05", "0.05"])

    states = states_after_each_month(7, django_capture_on_commit_callbacks)

    assert states == ["firing", "firing", "firing", "firing", "firing", "firing", "resolved"]
    assert Alert.objects.count() == 1  # month 4's breach is the same episode


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_after_a_resolution_only_breaches_of_later_periods_fire_again(
    django_capture_on_commit_callbacks,
):
    watched = rule(fire_after=2, resolve_after=1)
    kpi_values(["0.2", "0.2", "0.2", "0.2"])
    states_after_each_month(2, django_capture_on_commit_callbacks)  # fires in month 2
    alert_resolve(alert=Alert.objects.get(), actor=None)  # by hand, at month 2

    # re-evaluating month 2 does not undo the resolution (its breaches are not after it)
    states = states_after_each_month(2, django_capture_on_commit_callbacks)
    assert states[-1] == "resolved"
    # month 3: one breach after the resolution of 2 needed → no new episode yet
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(granularity="month", period_start=MONTHS[2])
    assert Alert.objects.filter(rule=watched).count() == 1
    # month 4: the second breach after it → a new episode
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(granularity="month", period_start=MONTHS[3])
    assert list(
        Alert.objects.filter(rule=watched).order_by("id").values_list("state", flat=True)
    ) == [
        "resolved",
        "firing",
    ]


# --- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "baseline", "goal"),
    [
        ("absolute", "0.08", None, "0.08"),
        # −5 % relative of a 12 % churn: 0.12 × (1 − 5 / 100) = 0.114
        ("relative_change_pct", "-5", "0.12", "0.114"),
        # −5 percentage points of 12 %: 0.12 − 5 × 0.01 = 0.07
        ("pp_change", "-5", "0.12", "0.07"),
    ],
)
def test_a_lower_is_better_target_is_reached_at_its_goal_and_missed_just_above(
    kind, amount, baseline, goal
):
    target = Target(kpi="churn_rate", granularity="month", kind=kind, amount=D(amount))
    base = None if baseline is None else D(baseline)

    reached = progress_of(target, baseline=base, current=D(goal), direction=Direction.LOWER)
    missed = progress_of(
        target, baseline=base, current=D(goal) + D("0.000001"), direction=Direction.LOWER
    )

    assert reached.resolved_value == D(goal)
    assert (reached.achieved, missed.achieved) == (True, False)
    # with a baseline, progress at the goal is (goal − base) / (goal − base) = 1; without one,
    # lower is better: goal / current = 1
    assert reached.progress == 1
    assert missed.progress is not None
    assert missed.progress < 1


def test_a_higher_is_better_target_is_reached_at_its_goal_and_missed_just_below():
    target = Target(kpi="nps", granularity="month", kind="pp_change", amount=D("5"))
    # NPS is in points: baseline 30 + 5 × 1 = 35
    reached = progress_of(target, baseline=D(30), current=D(35), direction=Direction.HIGHER)
    missed = progress_of(target, baseline=D(30), current=D("34.999999"), direction=Direction.HIGHER)
    # progress (35 − 30) / (35 − 30) = 1 and (34.999999 − 30) / 5 = 0.9999998
    assert (reached.resolved_value, reached.achieved, reached.progress) == (D(35), True, 1)
    assert (missed.achieved, missed.progress) == (False, D("0.9999998"))


def test_period_shift_moves_by_whole_periods_from_month_ends():
    # 2026-01-31 + 1 month = 2026-02-28 (clipped), quarter steps of 3 months, weeks of 7 days
    assert period_shift("month", dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert period_shift("quarter", dt.date(2026, 1, 1), -1) == dt.date(2025, 10, 1)
    assert period_shift("year", dt.date(2026, 1, 1), 1) == dt.date(2027, 1, 1)
    assert period_shift("week", dt.date(2026, 3, 2), -1) == dt.date(2026, 2, 23)
    assert period_shift("day", dt.date(2026, 3, 1), -1) == dt.date(2026, 2, 28)

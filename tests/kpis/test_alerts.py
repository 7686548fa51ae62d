"""Alert rules: fire after N, notify once, resolve after M, skip n/a and low samples."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from crm.models import Notification
from kpis.alerts import alerts_evaluate
from kpis.models import Alert, AlertEvaluation, KpiSnapshot
from kpis.services import alert_acknowledge, alert_resolve, alert_rule_create, alert_rule_update
from kpis.targets import period_end_of
from tests.customers.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_alert_rules")]

MONTHS = [dt.date(2026, month, 1) for month in range(1, 9)]


def kpi_value(kpi, period_start, value, *, low_sample=False):
    KpiSnapshot.objects.create(
        kpi=kpi,
        granularity="month",
        period_start=period_start,
        period_end=period_end_of("month", period_start),
        value=None if value is None else Decimal(value),
        low_sample=low_sample,
    )


@pytest.fixture
def manager():
    return UserFactory(username="mia", email="mia@example.com", role="Manager")


@pytest.fixture
def churn_rule(manager):
    return alert_rule_create(
        name="Churn too high",
        kpi="churn_rate",
        granularity="month",
        upper_threshold=Decimal("0.10"),
        fire_after=2,
        resolve_after=2,
        recipients=[manager],
    )


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks):
    def _evaluate(period_start):
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_evaluate(granularity="month", period_start=period_start)

    return _evaluate


def test_fires_after_n_notifies_once_and_resolves_after_m(churn_rule, manager, evaluate):
    values = ["0.12", "0.13", "0.14", None, "0.08", "0.07"]
    for month, value in zip(MONTHS, values, strict=False):
        kpi_value("churn_rate", month, value)

    evaluate(MONTHS[0])  # breach 1 of 2
    assert Alert.objects.count() == 0

    evaluate(MONTHS[1])  # breach 2 of 2 → fires
    alert = Alert.objects.get()
    assert alert.state == Alert.State.FIRING
    assert alert.period_start == MONTHS[1]
    assert alert.value == Decimal("0.13")
    assert Notification.objects.filter(user=manager, kind="alert").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["mia@example.com"]
    assert "Churn too high" in mail.outbox[0].subject

    evaluate(MONTHS[2])  # still breaching: no new alert, no new notification
    evaluate(MONTHS[3])  # n/a: skipped
    evaluate(MONTHS[4])  # OK 1 of 2
    assert Alert.objects.get().state == Alert.State.FIRING

    evaluate(MONTHS[5])  # OK 2 of 2 → resolved
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED
    assert alert.resolved_at is not None
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    outcomes = list(
        AlertEvaluation.objects.order_by("period_start").values_list("outcome", flat=True)
    )
    assert outcomes == ["breach", "breach", "breach", "skipped", "ok", "ok"]


def test_low_sample_and_missing_snapshots_are_skipped(manager, evaluate):
    rule = alert_rule_create(
        name="CSAT low", kpi="csat", granularity="month", lower_threshold=Decimal("0.8"),
        recipients=[manager],
    )  # fmt: skip
    kpi_value("csat", MONTHS[0], "0.5", low_sample=True)

    evaluate(MONTHS[0])
    evaluate(MONTHS[1])  # no snapshot at all

    assert list(rule.evaluations.order_by("period_start").values_list("reason", flat=True)) == [
        "low sample",
        "no snapshot",
    ]
    assert Alert.objects.count() == 0
    assert len(mail.outbox) == 0


def test_percent_change_vs_previous_period(manager, evaluate):
    alert_rule_create(
        name="Revenue drop", kpi="revenue", granularity="month", change_pct=Decimal("-20"),
        recipients=[manager],
    )  # fmt: skip
    kpi_value("revenue", MONTHS[0], "1000")
    kpi_value("revenue", MONTHS[1], "850")  # −15 %: OK
    kpi_value("revenue", MONTHS[2], "595")  # (595 − 850) / 850 = −30 %: breach

    evaluate(MONTHS[1])
    evaluate(MONTHS[2])

    evaluations = list(AlertEvaluation.objects.order_by("period_start"))
    assert [e.outcome for e in evaluations] == ["ok", "breach"]
    assert evaluations[1].previous_value == Decimal("850")
    # The reason reads in the KPI's unit, naming the previous value.
    assert evaluations[1].reason == "changed -30.0% vs the previous period (850.00 EUR)"
    assert Alert.objects.get().state == Alert.State.FIRING


def test_change_rule_without_a_previous_value_is_skipped(manager, evaluate):
    alert_rule_create(name="Drop", kpi="revenue", granularity="month", change_pct=-20)
    kpi_value("revenue", MONTHS[0], "0")
    kpi_value("revenue", MONTHS[1], "10")

    evaluate(MONTHS[1])  # previous value 0: a % change is undefined

    assert AlertEvaluation.objects.get().outcome == "skipped"


def test_re_evaluating_the_same_period_counts_once(churn_rule, evaluate):
    kpi_value("churn_rate", MONTHS[0], "0.2")

    evaluate(MONTHS[0])
    evaluate(MONTHS[0])  # the open period is recomputed on every run

    assert AlertEvaluation.objects.count() == 2  # both logged
    assert Alert.objects.count() == 0  # but one breaching period is not two


def test_acknowledge_then_resolution(churn_rule, manager, evaluate):
    for month, value in zip(MONTHS, ["0.2", "0.2", "0.05", "0.05"], strict=False):
        kpi_value("churn_rate", month, value)
    evaluate(MONTHS[0])
    evaluate(MONTHS[1])
    alert = Alert.objects.get()

    alert_acknowledge(alert=alert, actor=manager)

    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED
    assert alert.acknowledged_by == manager
    assert alert.acknowledged_at is not None
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, actor=manager)
    evaluate(MONTHS[2])
    evaluate(MONTHS[3])
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED  # an acknowledged alert still resolves


def test_manual_resolve_needs_new_breaches_to_fire_again(manager, evaluate):
    alert_rule_create(
        name="Churn", kpi="churn_rate", granularity="month", upper_threshold=Decimal("0.1"),
        recipients=[manager],
    )  # fmt: skip
    kpi_value("churn_rate", MONTHS[0], "0.2")
    kpi_value("churn_rate", MONTHS[1], "0.2")
    evaluate(MONTHS[0])
    alert_resolve(alert=Alert.objects.get(), actor=manager)

    evaluate(MONTHS[0])  # same period again: stays resolved
    assert Alert.objects.filter(state=Alert.State.FIRING).count() == 0

    evaluate(MONTHS[1])  # a later breaching period: a new episode and a new notification
    assert Alert.objects.filter(state=Alert.State.FIRING).count() == 1
    assert Notification.objects.count() == 2
    with pytest.raises(ValidationError):
        alert_resolve(alert=Alert.objects.get(state=Alert.State.RESOLVED), actor=manager)


def test_backfilling_an_old_period_only_logs(manager, evaluate):
    alert_rule_create(
        name="Churn", kpi="churn_rate", granularity="month", upper_threshold=Decimal("0.1")
    )
    kpi_value("churn_rate", MONTHS[0], "0.2")
    kpi_value("churn_rate", MONTHS[1], "0.05")
    evaluate(MONTHS[1])

    evaluate(MONTHS[0])  # older than the newest evaluated period

    assert AlertEvaluation.objects.filter(outcome="breach").count() == 1
    assert Alert.objects.count() == 0


def test_evaluation_queries_do_not_grow_with_rules(
    manager, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    for number in range(6):
        alert_rule_create(
            name=f"Rule {number}", kpi="churn_rate", granularity="month",
            upper_threshold=Decimal("0.1"), recipients=[manager],
        )  # fmt: skip
    kpi_value("churn_rate", MONTHS[0], "0.2")

    with django_capture_on_commit_callbacks() as callbacks:
        # 9 queries + savepoints, the rules' teams, the recipient's KPI scope (read once per
        # person, not per rule) and the KPI priorities (2, read once), for any rule count.
        with django_assert_max_num_queries(19):
            alerts_evaluate(granularity="month", period_start=MONTHS[0])  # six rules fire
    for callback in callbacks:
        callback()  # the e-mails, one task per notification, after commit

    assert Alert.objects.count() == 6
    assert len(mail.outbox) == 6


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "lower_threshold"),  # no condition
        ({"lower_threshold": 5, "upper_threshold": 1}, "upper_threshold"),
        ({"change_pct": 0}, "change_pct"),
        ({"upper_threshold": 1, "fire_after": 0}, "fire_after"),
        ({"upper_threshold": 1, "kpi": "happiness"}, "kpi"),
    ],
)
def test_invalid_rules_are_refused(fields, field):
    arguments = {"name": "Rule", "kpi": "churn_rate", "granularity": "month", **fields}

    with pytest.raises(ValidationError) as error:
        alert_rule_create(**arguments)

    assert field in error.value.message_dict


@pytest.mark.django_db
def test_a_rule_edit_keeps_the_creation_rules_and_saves_nothing_when_refused():
    rule = alert_rule_create(
        name="Low revenue",
        kpi="revenue",
        granularity="month",
        lower_threshold=1000,
        is_active=False,
    )

    with pytest.raises(ValidationError) as inverted:
        # 2000 ≥ the upper threshold 1500: the band would be empty.
        alert_rule_update(rule=rule, upper_threshold=1500, lower_threshold=2000, name="Renamed")
    edited = alert_rule_update(rule=rule, upper_threshold="1500", is_active=True)

    assert "upper_threshold" in inverted.value.message_dict
    assert (edited.name, edited.is_active) == ("Low revenue", True)
    assert (edited.lower_threshold, edited.upper_threshold) == (Decimal("1000"), Decimal("1500"))

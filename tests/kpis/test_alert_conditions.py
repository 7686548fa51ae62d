"""The alert conditions of the rules page at their exact thresholds: a change in the KPI's unit,
missing the target, unusual against the trailing band, the minimum sample and hysteresis; who is
notified; the e-mail a person reads; the default rules of a fresh install."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from crm.models import Notification
from kpis.alerts import DEFAULT_ALERT_RULES, alerts_evaluate, rule_verdict, unusual_band
from kpis.models import Alert, AlertEvaluation, AlertRule, KpiSnapshot, Target
from kpis.services import alert_rule_create, alert_rules_default_install
from kpis.targets import period_end_of
from tests.customers.factories import TeamFactory, UserFactory

D = Decimal
BREACH, OK, SKIPPED = (
    AlertEvaluation.Outcome.BREACH,
    AlertEvaluation.Outcome.OK,
    AlertEvaluation.Outcome.SKIPPED,
)
MONTHS = [dt.date(2026, month, 1) for month in range(1, 13)]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def cell(value, *, sample_size=0, provisional=False):
    return KpiSnapshot(
        value=None if value is None else D(value),
        sample_size=sample_size,
        provisional=provisional,
    )


@pytest.mark.parametrize(
    ("previous", "value", "outcome"),
    [
        ("40", "30", BREACH),  # NPS 40 → 30 is exactly −10 points: breaches (≤ −10)
        ("40", "30.000001", OK),  # −9.999999 points does not
        ("40", "55", OK),  # a rise never breaches a fall rule
    ],
)
def test_change_in_points_at_the_exact_setting(previous, value, outcome):
    rule = AlertRule(kpi="nps", change_abs=D("-10"))
    verdict = rule_verdict(rule, cell(value), cell(previous))
    assert verdict.outcome == outcome


def test_change_in_points_reads_in_units():
    verdict = rule_verdict(AlertRule(kpi="nps", change_abs=D("-10")), cell("28"), cell("40"))
    assert verdict.reason == "changed −12.0 vs the previous period (40.0)"


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("0.238", OK),  # exactly on target: met
        ("0.238001", BREACH),  # a millionth above a lower-is-better target: missed
    ],
)
def test_misses_target_at_the_exact_target(value, outcome):
    rule = AlertRule(kpi="churn_rate", misses_target=True)
    assert rule_verdict(rule, cell(value), None, target=D("0.238")).outcome == outcome


def test_misses_target_of_a_higher_is_better_kpi_breaches_below():
    rule = AlertRule(kpi="nps", misses_target=True)
    assert rule_verdict(rule, cell("29.9"), None, target=D("30")).outcome == BREACH
    assert rule_verdict(rule, cell("30"), None, target=D("30")).outcome == OK


def test_misses_target_skips_an_open_period_and_a_period_without_target():
    rule = AlertRule(kpi="churn_rate", misses_target=True)
    # An open (provisional) period is not judged against a whole period's goal.
    assert rule_verdict(rule, cell("0.5", provisional=True), None, target=D("0.2")).outcome == (
        SKIPPED
    )
    assert rule_verdict(rule, cell("0.5"), None, target=None).outcome == SKIPPED


def test_unusual_band_is_mean_plus_minus_two_standard_deviations():
    history = [D(v) for v in ("10", "12", "10", "12", "10", "12")]
    # mean 11, population σ 1 → band 9 … 13.
    assert unusual_band(history) == (D("9"), D("13"))
    assert unusual_band(history[:5]) is None  # fewer than 6 periods: no band
    rule = AlertRule(kpi="orders", unusual=True)
    assert rule_verdict(rule, cell("13"), None, history=history).outcome == OK  # on the edge
    assert rule_verdict(rule, cell("13.000001"), None, history=history).outcome == BREACH
    assert rule_verdict(rule, cell("8.999999"), None, history=history).outcome == BREACH
    assert rule_verdict(rule, cell("20"), None, history=history[:5]).outcome == SKIPPED


@pytest.mark.parametrize(("sample", "outcome"), [(29, SKIPPED), (30, BREACH)])
def test_minimum_sample(sample, outcome):
    rule = AlertRule(kpi="csat", lower_threshold=D("0.8"), min_sample=30)
    assert rule_verdict(rule, cell("0.5", sample_size=sample), None).outcome == outcome


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("0.899999", BREACH),  # below 90 %
        ("0.9", SKIPPED),  # on the threshold but inside the 1-point hysteresis band
        ("0.909999", SKIPPED),
        ("0.91", OK),  # 90 % + 1 point: OK again
    ],
)
def test_hysteresis_band_neither_fires_nor_resolves(value, outcome):
    rule = AlertRule(
        kpi="sla_first_response_attainment", lower_threshold=D("0.9"), hysteresis=D("0.01")
    )
    assert rule_verdict(rule, cell(value), None).outcome == outcome


# --- evaluation, recipients and the e-mail --------------------------------------------------


def snapshot(kpi, period_start, value, *, dimension="all", dimension_value="", sample_size=40):
    return KpiSnapshot.objects.create(
        kpi=kpi,
        granularity="month",
        period_start=period_start,
        period_end=period_end_of("month", period_start),
        dimension=dimension,
        dimension_value=dimension_value,
        value=D(value),
        sample_size=sample_size,
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_a_missed_target_fires_and_the_email_reads_like_a_sentence(
    django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://crm.example.com/"
    north = TeamFactory(name="North")
    manager = UserFactory(username="mia", email="mia@example.com", role="Manager")
    UserFactory(username="rep", email="rep@example.com", role="Sales rep")  # not a recipient
    snapshot("churn_rate", MONTHS[1], "0.25", dimension="team", dimension_value=str(north.pk))
    snapshot("churn_rate", MONTHS[2], "0.27", dimension="team", dimension_value=str(north.pk))
    Target.objects.create(
        kpi="churn_rate",
        granularity="month",
        period_start=MONTHS[2],
        dimension="team",
        dimension_value=str(north.pk),
        kind=Target.Kind.RELATIVE_CHANGE_PCT,
        amount=D("-5"),
        baseline_period_start=MONTHS[1],
    )
    alert_rule_create(
        name="North churn on target",
        kpi="churn_rate",
        granularity="month",
        dimension="team",
        dimension_value=str(north.pk),
        misses_target=True,
        recipient_roles=["Manager", "Sales rep"],
    )

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(granularity="month", period_start=MONTHS[2])

    alert = Alert.objects.get()
    # goal 25 % × 0.95 = 23.75 %; 27 % is above it.
    assert alert.message == "above its target of 23.8 %"
    # The rep's KPI scope is their own figures: a team alert is not theirs to read.
    assert [message.to for message in mail.outbox] == [["mia@example.com"]]
    email = mail.outbox[0]
    assert email.subject == "[Pulse CRM] Churn rate alert: North churn on target (March 2026)"
    assert "Churn rate was 27.0 % in March 2026 for Team: North." in email.body
    assert "alerts on missing its target (23.8 %)" in email.body
    assert "Why it fired: above its target of 23.8 %." in email.body
    link = (
        "https://crm.example.com/kpis/kpi/churn_rate/"
        f"?granularity=month&period=2026-03-01&team={north.pk}"
    )
    assert link in email.body
    assert "/admin/" not in email.body
    assert Notification.objects.get(user=manager).link == link


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
def test_channels_and_team_recipients(django_capture_on_commit_callbacks):
    north = TeamFactory(name="North")
    lead = UserFactory(username="lead", email="lead@example.com", role="Manager")
    north.manager = lead
    north.save()
    snapshot("orders", MONTHS[0], "5")
    alert_rule_create(
        name="In the app only",
        kpi="orders",
        granularity="month",
        lower_threshold=10,
        recipient_teams=[north],
        notify_email=False,
    )
    alert_rule_create(
        name="E-mail only",
        kpi="orders",
        granularity="month",
        lower_threshold=10,
        recipients=[lead],
        notify_in_app=False,
    )

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(granularity="month", period_start=MONTHS[0])

    assert [message.subject for message in mail.outbox] == [
        "[Pulse CRM] Orders alert: E-mail only (January 2026)"
    ]
    unread = Notification.objects.filter(user=lead, read_at__isnull=True)
    assert [n.title for n in unread] == ["Orders alert: In the app only (January 2026)"]


@pytest.mark.django_db
def test_a_fresh_install_has_the_default_rules_and_installing_again_adds_nothing():
    # kpis migration 0006 installed them on the test database.
    rules = {rule.name: rule for rule in AlertRule.objects.all()}
    assert set(rules) >= {name for name, _kpi, _fields in DEFAULT_ALERT_RULES}
    assert rules["Churn rate above its target"].misses_target
    assert rules["NPS down 10 points"].change_abs == D("-10")
    sla = rules["First-response SLA attainment below 90 %"]
    assert (sla.kpi, sla.lower_threshold) == ("sla_first_response_attainment", D("0.9"))
    assert all(rule.recipient_roles == ["Manager"] for rule in rules.values())

    assert alert_rules_default_install() == []
    AlertRule.objects.filter(name="NPS down 10 points").delete()
    assert [rule.name for rule in alert_rules_default_install()] == ["NPS down 10 points"]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_default_alert_rules")
@pytest.mark.parametrize(("at_once", "emailed"), [(2, ["Churn"]), (5, ["Churn", "SLA"])])
def test_a_low_priority_kpis_alert_waits_for_the_digest(
    django_capture_on_commit_callbacks, settings, at_once, emailed
):
    """Default weights: retention is group priority 1, service 5 (kpis migration 0003)."""
    settings.KPI_ALERT_AT_ONCE_PRIORITY = at_once
    manager = UserFactory(username="mia", email="mia@example.com", role="Manager")
    snapshot("churn_rate", MONTHS[0], "0.30")
    snapshot("sla_first_response_attainment", MONTHS[0], "0.50")
    alert_rule_create(
        name="Churn",
        kpi="churn_rate",
        granularity="month",
        upper_threshold=D("0.20"),
        recipients=[manager],
    )
    alert_rule_create(
        name="SLA",
        kpi="sla_first_response_attainment",
        granularity="month",
        lower_threshold=D("0.90"),
        recipients=[manager],
    )

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(granularity="month", period_start=MONTHS[0])

    # With the default 2, only retention (1) is e-mailed at once; service (5) waits; with 5, both.
    subjects = sorted(message.subject for message in mail.outbox)
    assert [subject.rsplit(": ", 1)[1].split(" (")[0] for subject in subjects] == emailed
    # Both are listed in the app either way.
    assert Notification.objects.filter(user=manager, read_at__isnull=True).count() == 2

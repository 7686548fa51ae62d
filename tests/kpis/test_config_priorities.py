"""Priority has a visible effect: it orders the digest's KPIs and the overview's cards inside a
stage, and a change of priority on the active version reorders them at once. A KPI chart draws
its target and its alert threshold together."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import charts
from kpis.models import (
    AlertRule,
    Granularity,
    GroupWeight,
    IndicatorWeight,
    KpiSnapshot,
    Target,
    WeightVersion,
)
from kpis.periods import last_closed_period
from reports.digests import digest_build, digest_subscription_create
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db

MONTH = Granularity.MONTH
# Default weights (kpis migration 0003): retention is group 1 (churn 1, reactivation 2, win-back
# 3), maintenance group 2 (NPS 1, CSAT 2), acquisition group 4 (lead conversion 1).
KEYS = ["lead_conversion_rate", "csat", "winback_rate", "nps", "churn_rate", "reactivation_rate"]


def stored(kpi: str, start: dt.date, value: str) -> None:
    KpiSnapshot.objects.create(
        kpi=kpi,
        granularity=MONTH,
        period_start=start,
        period_end=charts.shift_period(MONTH, start, 1),
        value=Decimal(value),
        sample_size=100,
    )


def reprioritise(**priorities: int) -> None:
    """Set priorities on the active version: group names and KPI keys."""
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    for name, priority in priorities.items():
        groups = GroupWeight.objects.filter(version=active, group=name)
        if groups.exists():
            groups.update(priority=priority)
        else:
            IndicatorWeight.objects.filter(version=active, kpi=name).update(priority=priority)


@pytest.fixture
def closed() -> dt.date:
    start, _end = last_closed_period(MONTH)
    for key in KEYS:
        stored(key, start, "0.2")
    return start


def test_the_digest_lists_kpis_by_priority_and_follows_a_change(closed):
    manager = UserFactory(role="Manager", email="m@example.com")
    subscription = digest_subscription_create(
        user=manager, frequency="monthly", scope="company", kpi_keys=KEYS
    )

    before = [f.key for f in digest_build(subscription=subscription, period_start=closed).figures]
    # Maintenance first now; inside retention, win-back before churn.
    reprioritise(maintenance=1, retention=2, winback_rate=1, churn_rate=2, reactivation_rate=3)
    after = [f.key for f in digest_build(subscription=subscription, period_start=closed).figures]

    assert before == [
        "churn_rate",
        "reactivation_rate",
        "winback_rate",
        "nps",
        "csat",
        "lead_conversion_rate",
    ]
    assert after == [
        "nps",
        "csat",
        "winback_rate",
        "churn_rate",
        "reactivation_rate",
        "lead_conversion_rate",
    ]


def test_overview_cards_inside_a_stage_follow_kpi_priority(client, closed):
    client.force_login(UserFactory(role="Manager"))

    def retention_cards() -> list[str]:
        response = client.get(reverse("kpis:overview"), {"granularity": "month"})
        stage = next(s for s in response.context["stages"] if s["key"] == "retention")
        keys = [card["series"].key for card in stage["cards"]]
        return [key for key in keys if key in KEYS]

    before = retention_cards()
    reprioritise(churn_rate=3, winback_rate=1)
    after = retention_cards()

    assert before == ["churn_rate", "reactivation_rate", "winback_rate"]
    assert after == ["winback_rate", "reactivation_rate", "churn_rate"]


def test_a_kpi_chart_draws_its_target_and_its_alert_threshold(client):
    client.force_login(UserFactory(role="Manager"))
    closed, _end = last_closed_period(MONTH)
    before = charts.shift_period(MONTH, closed, -1)
    stored("churn_rate", before, "0.05")
    stored("churn_rate", closed, "0.07")
    Target.objects.create(
        kpi="churn_rate",
        granularity=MONTH,
        period_start=closed,
        kind=Target.Kind.ABSOLUTE,
        amount=Decimal("0.04"),
    )
    AlertRule.objects.create(
        name="Churn high", kpi="churn_rate", granularity=MONTH, upper_threshold=Decimal("0.06")
    )

    payload = json.loads(
        client.get(
            reverse("kpis:kpi_chart", kwargs={"key": "churn_rate"}),
            {"granularity": "month", "targets": "1"},
        ).content
    )

    by_label = {ds["label"]: ds for ds in payload["datasets"]}
    labels = payload["labels"]
    at = {label: n for n, label in enumerate(labels)}
    closed_at = next(n for label, n in at.items() if str(label).startswith(closed.isoformat()))
    # The target 0.04 is drawn at 4 % on its month only; the alert's 0.06 at 6 % on every
    # month that has a value (the two stored ones).
    target = by_label["Target"]["data"]
    assert target[closed_at] == 4.0
    assert [v for n, v in enumerate(target) if n != closed_at] == [None] * (len(labels) - 1)
    threshold = by_label["Alert above 6.0 %"]
    assert threshold["threshold"] == "above"
    assert [v for v in threshold["data"] if v is not None] == [6.0, 6.0]

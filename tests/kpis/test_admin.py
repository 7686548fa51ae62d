"""The kpis admin: every page renders with bounded queries; the alert actions.

KPI configuration is read only in the admin: tests/kpis/test_config_admin.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.alerts import alerts_evaluate
from kpis.health import health_recompute
from kpis.index import compute_index
from kpis.models import (
    Alert,
    IndexSnapshot,
    IndicatorWeight,
    KpiRun,
    KpiSnapshot,
    WeightVersion,
)
from kpis.rfm import rfm_recompute
from kpis.services import alert_rule_create, target_create
from kpis.targets import period_end_of
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

QUARTERS = [dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1), dt.date(2026, 1, 1)]
MODELS = [
    "kpisnapshot",
    "kpirun",
    "weightversion",
    "indexsnapshot",
    "customersegmentsnapshot",
    "customerhealthsnapshot",
    "target",
    "alertrule",
    "alertevaluation",
    "alert",
    "indicatorweight",
    "groupweight",
    "groupscore",
    "indexcontribution",
]


def kpi_value(kpi, period_start, value, granularity="quarter"):
    KpiSnapshot.objects.create(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        period_end=period_end_of(granularity, period_start),
        value=Decimal(value),
    )


@pytest.fixture
def history():
    """Four quarters of KPIs, their index, segments, health, a target and a firing alert."""
    active = WeightVersion.objects.get(status="active")
    for quarter in QUARTERS:
        for indicator in IndicatorWeight.objects.filter(version=active):
            best = indicator.best if indicator.best is not None else indicator.target
            kpi_value(indicator.kpi, quarter, best)  # every indicator at its best: 100
        compute_index(granularity="quarter", period_start=quarter)
    KpiRun.objects.create(
        granularity="quarter", period_start=QUARTERS[-1], period_end=dt.date(2026, 4, 1)
    )
    for number in range(3):
        customer = CustomerFactory(acquired_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        OrderFactory(customer=customer, ordered_at=dt.datetime(2026, 3, number + 1, tzinfo=dt.UTC))
    as_of = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    rfm_recompute(as_of=as_of, granularity="quarter", period_start=QUARTERS[-1])
    health_recompute(as_of=as_of, granularity="quarter", period_start=QUARTERS[-1])
    target_create(
        kpi="churn_rate",
        granularity="quarter",
        period_start=QUARTERS[-1],
        kind="relative_change_pct",
        amount=-50,
    )
    alert_rule_create(
        name="Churn above 0.5 %", kpi="churn_rate", granularity="quarter", upper_threshold="0.005"
    )
    alerts_evaluate(granularity="quarter", period_start=QUARTERS[-1])
    return active


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_with_bounded_queries(
    admin_client, history, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        response = admin_client.get(reverse(f"admin:kpis_{model}_changelist"))

    assert response.status_code == 200


def test_change_pages_render(admin_client, history, django_assert_max_num_queries):
    pages = [
        ("indexsnapshot", IndexSnapshot.objects.first()),
        ("alert", Alert.objects.first()),
        ("weightversion", history),
        ("kpisnapshot", KpiSnapshot.objects.first()),
    ]
    for model, obj in pages:
        with django_assert_max_num_queries(25):
            response = admin_client.get(reverse(f"admin:kpis_{model}_change", args=[obj.pk]))
        assert response.status_code == 200, model


def test_alert_actions_acknowledge_and_resolve(admin_client, history):
    alert = Alert.objects.get()
    changelist = reverse("admin:kpis_alert_changelist")

    admin_client.post(changelist, {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    assert alert.acknowledged_by is not None
    assert alert.acknowledged_by.username == "admin"

    admin_client.post(changelist, {"action": "resolve", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_target_list_shows_the_resolved_value(admin_client, history):
    response = admin_client.get(reverse("admin:kpis_target_changelist"))

    # churn at 0.01 in both quarters: 1.0 % × (1 − 50 %) = 0.5 %, shown in display units
    assert "→ 0.5 %" in response.content.decode()

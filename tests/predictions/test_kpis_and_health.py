"""The predictive KPIs (kpis/definitions/prediction.py) and P(alive) as a health component."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from kpis.engine import compute_period
from kpis.health import health_recompute
from kpis.services import (
    weight_version_activate,
    weight_version_create_draft,
    weight_version_update,
)
from predictions.models import CustomerPrediction
from tests.customers.factories import CustomerFactory, SegmentFactory
from tests.kpis.conftest import MARCH, NOW, snapshot

pytestmark = pytest.mark.django_db

BEFORE_MARCH = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


@pytest.fixture
def compute(monkeypatch):
    """compute(key): March 2026 of one KPI, its `all` snapshot (the post-compute hook — index,
    health, RFM — has its own tests and is left out, as in tests/kpis)."""
    from kpis import post_compute

    monkeypatch.setattr(post_compute, "after_period_computed", lambda **kwargs: None)

    def run(key: str):
        compute_period(granularity="month", period_start=MARCH, kpi_keys=[key], now=NOW)
        return snapshot(key)

    return run


def predicted(run, *, p_alive: str, clv: str, purchases: str, **customer_fields):
    customer = CustomerFactory.create(
        created_at=BEFORE_MARCH, acquired_at=BEFORE_MARCH, **customer_fields
    )
    return CustomerPrediction.objects.create(
        customer=customer,
        run=run,
        as_of=dt.date(2026, 3, 15),
        scored_at=timezone.now(),
        transactions=3,
        last_purchase_on=dt.date(2026, 2, 1),
        p_alive=Decimal(p_alive),
        expected_purchases_90d=Decimal(purchases),
        expected_order_value=Decimal("50.00"),
        predicted_clv=Decimal(clv),
    )


@pytest.fixture
def three(published_run):
    smb = SegmentFactory.create(code="smb")
    predicted(published_run, p_alive="0.9", clv="100.00", purchases="1.5", segment=smb)
    predicted(published_run, p_alive="0.3", clv="300.00", purchases="0.25", segment=smb)
    predicted(published_run, p_alive="0.2", clv="50.00", purchases="0.05")
    # Created after March: not in March's figures.
    late = predicted(published_run, p_alive="0.1", clv="999.00", purchases="9")
    Customer.objects.filter(pk=late.customer_id).update(
        created_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    )
    return smb


def test_expected_purchases_90d_is_the_sum_over_customers(compute, three):
    row = compute("expected_purchases_90d")

    # 1.5 + 0.25 + 0.05 = 1.8 over 3 customers
    assert row.value == Decimal("1.8")
    assert row.sample_size == 3


def test_predicted_clv_is_the_mean_per_customer_with_segments(compute, three):
    row = compute("predicted_clv")
    smb = snapshot("predicted_clv", dimension="segment", value=three.pk)

    # (100 + 300 + 50) ÷ 3 = 150; smb (100 + 300) ÷ 2 = 200
    assert row.value == Decimal("150")
    assert smb.value == Decimal("200")


def test_at_risk_value_sums_clv_below_the_threshold(compute, three, settings):
    settings.PREDICTIONS_AT_RISK_P_ALIVE = 0.5

    row = compute("at_risk_value")

    # P(alive) 0.3 and 0.2 are below 0.5: 300 + 50 = 350
    assert row.value == Decimal("350")


def test_p_alive_is_an_optional_health_component(published_run):
    kept = predicted(published_run, p_alive="0.8", clv="10.00", purchases="0.1")
    unscored = CustomerFactory.create(acquired_at=BEFORE_MARCH)
    draft = weight_version_create_draft()
    weight_version_update(
        version=draft,
        health_config=[{"component": "p_alive", "weight": 1, "best": 100, "worst": 0}],
    )
    weight_version_activate(version=draft)

    health_recompute(as_of=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))

    # 0.8 → 80 %, scored linearly between worst 0 and best 100 → 80.00
    assert Customer.objects.get(pk=kept.customer_id).health_score == Decimal("80.00")
    # No prediction and no other component: no score.
    assert Customer.objects.get(pk=unscored.pk).health_score is None

"""The prediction KPIs group today's predictions by the RFM segment and health band each customer
had at the period's end (stored by the run), like the other customer KPIs — not by today's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.engine import compute_range
from kpis.models import CustomerHealthSnapshot, KpiSnapshot
from predictions.models import CustomerPrediction
from tests.kpis.test_segment_history import NOW, Q1, Q2, Q3, build_company

pytestmark = pytest.mark.django_db

KPIS = ["predicted_clv", "expected_purchases_90d"]


def predict(run, name, clv, purchases):
    customer = Customer.objects.get(name=name)
    return CustomerPrediction.objects.create(
        customer=customer,
        run=run,
        as_of=dt.date(2026, 1, 1),
        scored_at=timezone.now(),
        transactions=3,
        last_purchase_on=dt.date(2025, 6, 1),
        p_alive=Decimal("0.5"),
        expected_purchases_90d=Decimal(purchases),
        expected_order_value=Decimal("50.00"),
        predicted_clv=Decimal(clv),
    )


@pytest.fixture
def half_year(monkeypatch, published_run):
    from kpis import post_compute

    monkeypatch.setattr(post_compute, "after_period_computed", lambda **kwargs: None)
    build_company()  # today's stored segment: champion for everyone
    Customer.objects.update(created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    # H3: high-frequency at 1 April, dormant at 1 July; B2: first-time buyer, then regular
    predict(published_run, "H3", clv="30.00", purchases="0.50")
    predict(published_run, "B2", clv="500.00", purchases="1.25")
    compute_range(granularity="quarter", start=Q1, end=Q3, kpi_keys=KPIS, now=NOW)


def by(kpi, period_start, dimension="rfm_segment", field="value"):
    return {
        row.dimension_value: getattr(row, field)
        for row in KpiSnapshot.objects.filter(
            kpi=kpi, granularity="quarter", period_start=period_start, dimension=dimension
        )
    }


def test_a_customer_is_attributed_to_the_segment_of_each_period(half_year):
    # Q1 (1 April): H3 high-frequency 30.00, B2 first-time buyer 500.00 — one customer each
    assert by("predicted_clv", Q1) == {
        "high_frequency": Decimal("30"),
        "first_time_buyer": Decimal("500"),
    }
    # Q2 (1 July): H3 dormant, B2 regular; nobody under today's "champion"
    assert by("predicted_clv", Q2) == {"dormant": Decimal("30"), "regular": Decimal("500")}
    assert by("expected_purchases_90d", Q2) == {
        "dormant": Decimal("0.5"),
        "regular": Decimal("1.25"),
    }


def test_by_health_band_the_band_stored_for_the_period(half_year):
    for period_start in (Q1, Q2):
        bands = dict(
            CustomerHealthSnapshot.objects.filter(
                granularity="quarter", period_start=period_start, customer__name__in=["H3", "B2"]
            ).values_list("customer__name", "band")
        )
        expected: dict[str, Decimal] = {}
        for name, purchases in (("H3", Decimal("0.5")), ("B2", Decimal("1.25"))):
            expected[bands[name]] = expected.get(bands[name], Decimal(0)) + purchases
        assert by("expected_purchases_90d", period_start, "health_band") == expected


def test_the_drilldown_lists_the_predictions_of_the_stored_segment(half_year):
    ctx = KpiContext.build(granularity="quarter", period_start=Q2, period_end=Q3, now=NOW)
    clv = registry.get("predicted_clv")
    dormant = clv.records(ctx, "rfm_segment", "dormant")
    assert dormant is not None
    assert [prediction.customer.name for prediction in dormant] == ["H3"]
    champions = clv.records(ctx, "rfm_segment", "champion")
    assert champions is not None
    assert not champions.exists()

"""The health_band dimension: customer KPIs break down by the health band each customer had at
the period's end (stored by the run), not by today's band; the drill-down lists the customers
and orders behind each stored figure.

Health here is recency only (weight 1, best 0 days, worst 100 days): score = 100 − days since
the last order at the period's end; default bands red (0, 50], yellow (50, 75], green (75, 100].
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from customers.models import Customer
from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.engine import compute_period
from kpis.models import CustomerHealthSnapshot, KpiSnapshot, default_health_config
from kpis.services import (
    weight_version_activate,
    weight_version_create_draft,
    weight_version_update,
)
from tests.customers.factories import CustomerFactory, UserFactory
from tests.kpis.conftest import NOW, local
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

APRIL, MAY, JUNE = dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)
KPIS = ["revenue", "orders", "active_customers", "churn_rate", "repeat_purchase_rate"]


def person(name, *order_days):
    """A customer acquired at their first order, one 100.00 order at noon of each day."""
    someone = CustomerFactory.create(name=name, acquired_at=min(order_days))
    for day in order_days:
        OrderFactory.create(customer=someone, ordered_at=day, total=Decimal("100.00"))
    return someone


@pytest.fixture
def company(post_compute_calls):
    draft = weight_version_create_draft()
    config = [
        {**row, "weight": 0}
        if row["component"] != "recency"
        else {"component": "recency", "weight": 1, "best": 0, "worst": 100}
        for row in default_health_config()
    ]
    weight_version_update(version=draft, health_config=config)
    weight_version_activate(version=draft)
    person("Ana", local(2026, 4, 10), local(2026, 4, 20))
    person("Ben", local(2026, 4, 25))
    person("Cai", local(2026, 3, 1), local(2026, 4, 2))
    person("Dan", local(2026, 1, 15))
    CustomerFactory.create(name="Eve", acquired_at=local(2026, 4, 20))  # no order: no score
    # Today's band says red for everyone: the breakdown must not read it.
    Customer.objects.update(health_band="red")
    for month in (APRIL, MAY):
        compute_period(granularity="month", period_start=month, kpi_keys=KPIS, now=NOW)


def by_band(kpi, month, field="value"):
    return {
        row.dimension_value: getattr(row, field)
        for row in KpiSnapshot.objects.filter(
            kpi=kpi, granularity="month", period_start=month, dimension="health_band"
        )
    }


def test_the_run_stores_each_customers_band_at_the_period_end(company):
    stored = dict(
        CustomerHealthSnapshot.objects.filter(period_start=APRIL).values_list(
            "customer__name", "band"
        )
    )
    # at 1 May 00:00: Ana 10.5 days → 89.5 green; Ben 5.5 → 94.5 green; Cai (2 April) 28.5 →
    # 71.5 yellow; Dan (15 January) 105.5 → 0 red; Eve has no order → no score, no band
    assert stored == {"Ana": "green", "Ben": "green", "Cai": "yellow", "Dan": "red", "Eve": ""}


def test_customer_kpis_break_down_by_the_band_at_the_period_end(company):
    # April revenue: Ana 2 × 100 + Ben 100 = 300 green; Cai's 2 April order 100 yellow
    assert by_band("revenue", APRIL) == {"green": Decimal("300"), "yellow": Decimal("100")}
    assert by_band("orders", APRIL) == {"green": Decimal("3"), "yellow": Decimal("1")}
    # active at 1 May: Ana, Ben green; Cai yellow; Eve (acquired 20 April) without a band;
    # Dan's last order is 106 days old → inactive, no red row
    assert by_band("active_customers", APRIL) == {
        "": Decimal("1"),
        "green": Decimal("2"),
        "yellow": Decimal("1"),
    }
    # active at 1 April: Cai (1 March) and Dan (15 January); Dan churned in April → red 1 of 1,
    # yellow 0 of 1
    assert by_band("churn_rate", APRIL) == {"red": Decimal("1"), "yellow": Decimal("0")}
    # 2 green customers ordered in April, Ana on two days → 1 of 2 → 0.5; Cai 0 of 1
    assert by_band("repeat_purchase_rate", APRIL) == {"green": Decimal("0.5"), "yellow": 0}
    # May, as of 1 June: Ana 41.5 days → 58.5 yellow; Ben 37.5 → 62.5 yellow; Cai 60.5 → 39.5
    # red; Eve still without a band — Ana moved from green to yellow, April keeps her green
    assert by_band("active_customers", MAY) == {
        "": Decimal("1"),
        "yellow": Decimal("2"),
        "red": Decimal("1"),
    }
    assert by_band("revenue", APRIL)["green"] == Decimal("300")


def test_the_drilldown_counts_equal_the_stored_figures(company):
    ctx = KpiContext.build(granularity="month", period_start=APRIL, period_end=MAY, now=NOW)
    checked = 0
    for kpi in ("active_customers", "churn_rate", "repeat_purchase_rate", "orders"):
        definition = registry.get(kpi)
        for row in KpiSnapshot.objects.filter(
            kpi=kpi, period_start=APRIL, granularity="month", dimension="health_band"
        ):
            numerator = definition.records(ctx, "health_band", row.dimension_value)
            assert numerator is not None
            assert numerator.count() == row.numerator, (kpi, row.dimension_value)
            if row.denominator is not None:
                denominator = definition.records(
                    ctx, "health_band", row.dimension_value, "denominator"
                )
                assert denominator is not None
                assert denominator.count() == row.denominator, (kpi, row.dimension_value)
            checked += 1
    # active 3 values + churn 2 + repeat 2 + orders 2
    assert checked == 9
    names = lambda queryset: sorted(queryset.values_list("name", flat=True))  # noqa: E731
    churn = registry.get("churn_rate")
    assert names(churn.records(ctx, "health_band", "red")) == ["Dan"]
    assert names(registry.get("active_customers").records(ctx, "health_band", "")) == ["Eve"]
    revenue = registry.get("revenue").records(ctx, "health_band", "green")
    assert revenue is not None
    assert sorted(order.customer.name for order in revenue) == ["Ana", "Ana", "Ben"]


def test_the_kpi_page_offers_the_band_breakdown_with_translated_labels(client, company):
    client.force_login(UserFactory(role="Admin"))

    page = client.get(reverse("kpis:kpi_detail", args=["revenue"]), {"granularity": "month"})
    assert page.status_code == 200
    assert 'value="health_band"' in page.content.decode()

    breakdown = reverse("kpis:kpi_breakdown", args=["revenue"])
    params = {"granularity": "month", "period": APRIL.isoformat(), "by": "health_band"}
    with translation.override("zh-hans"):
        chart = client.get(breakdown, params, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    # largest first: green 300, yellow 100
    assert chart["labels"] == ["绿色", "黄色"]

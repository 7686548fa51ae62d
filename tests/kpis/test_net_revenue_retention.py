"""net_revenue_retention: revenue in P of the customers active at P.start ÷ their revenue in the
previous period — March 2026 against February, d = 90 days."""

from decimal import Decimal

import pytest

from kpis.selectors import snapshot_drilldown
from sales.models import Order
from tests.customers.factories import TeamFactory
from tests.kpis.conftest import MARCH, customer, local, snapshot
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db


def order(person, when, amount, status=Order.Status.COMPLETED):
    return OrderFactory.create(
        customer=person, ordered_at=when, total=Decimal(amount), status=status
    )


@pytest.fixture
def company():
    """Five customers around March 2026 (active at P.start = ordered since Dec 1, 2025).

    a (T1): 100 in Feb, 150 in Mar, a cancelled 999 in Mar  → 150 of 100
    b (T1): 50 in Feb, a cancelled 500 in Feb, nothing in Mar → 0 of 50
    c (T2): 40 in Jan, nothing in Feb, 30 in Mar             → 30 of 0
    d (T2): acquired in P, 80 in Mar                         → not active at P.start: not counted
    e:      last order Jun 2025, 70 in Mar                   → lapsed at P.start: not counted
    """
    t1, t2 = TeamFactory.create(name="T1"), TeamFactory.create(name="T2")
    a = customer(local(2025, 11, 1), team=t1)
    order(a, local(2026, 2, 10), "100.00")
    order(a, local(2026, 3, 10), "150.00")
    order(a, local(2026, 3, 12), "999.00", Order.Status.CANCELLED)
    b = customer(local(2025, 11, 1), team=t1)
    order(b, local(2026, 2, 5), "50.00")
    order(b, local(2026, 2, 6), "500.00", Order.Status.CANCELLED)
    c = customer(local(2025, 11, 1), team=t2)
    order(c, local(2026, 1, 10), "40.00")
    order(c, local(2026, 3, 20), "30.00")
    d = customer(local(2026, 3, 5), team=t2)
    order(d, local(2026, 3, 5), "80.00")
    e = customer(local(2025, 6, 1))
    order(e, local(2025, 6, 1), "70.00")
    order(e, local(2026, 3, 15), "70.00")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "t1": t1, "t2": t2}


def test_revenue_kept_from_the_customers_active_at_the_start(company, compute):
    row = compute("net_revenue_retention")
    # Active at P.start: a, b, c (d acquired in P; e's last order Jun 2025 is 90+ days before).
    # Numerator, March: a 150 + b 0 + c 30 = 180 (a's cancelled 999 and d's, e's orders left out).
    # Denominator, February: a 100 + b 50 + c 0 = 150 (b's cancelled 500 left out).
    # 180 / 150 = 1.2 → 120.0 %; the sample is the 2 February orders.
    assert (row.numerator, row.denominator, row.value) == (
        Decimal("180"),
        Decimal("150"),
        Decimal("1.2"),
    )
    assert row.sample_size == 2


def test_by_team_with_a_zero_denominator(company, compute):
    compute("net_revenue_retention")
    t1 = snapshot("net_revenue_retention", dimension="team", value=company["t1"].pk)
    t2 = snapshot("net_revenue_retention", dimension="team", value=company["t2"].pk)
    # T1: a 150 + b 0 of a 100 + b 50 → 150 / 150 → 100.0 %
    assert (t1.numerator, t1.denominator, t1.value) == (
        Decimal("150"),
        Decimal("150"),
        Decimal("1"),
    )
    # T2: c 30 in March of 0 in February (d, acquired in P, is not counted) → 30 / 0 → n/a
    assert (t2.numerator, t2.denominator, t2.value) == (Decimal("30"), Decimal("0"), None)


def test_no_revenue_in_the_previous_period_is_n_a(compute):
    # Active at P.start on a January order (40), nothing in February, 60 in March → 60 / 0 → n/a.
    only = customer(local(2025, 11, 1))
    order(only, local(2026, 1, 10), "40.00")
    order(only, local(2026, 3, 10), "60.00")
    row = compute("net_revenue_retention")
    assert (row.numerator, row.denominator, row.value) == (Decimal("60"), Decimal("0"), None)


def test_drilldown_lists_the_orders_behind_each_part(company, compute):
    compute("net_revenue_retention")

    def listed(part: str) -> list[Decimal]:
        records = snapshot_drilldown(
            kpi="net_revenue_retention", granularity="month", period_start=MARCH, part=part
        )
        assert records is not None
        return sorted(records.values_list("net_amount", flat=True))

    # March orders of a and c (150 + 30 = 180), February orders of a and b (100 + 50 = 150).
    assert listed("numerator") == [Decimal("30.00"), Decimal("150.00")]
    assert listed("denominator") == [Decimal("50.00"), Decimal("100.00")]

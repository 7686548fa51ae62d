"""Enhancement KPIs for March 2026: revenue, orders, AOV, top-20% share, CLV, historic CLV,
cross-sell and up-sell."""

from decimal import Decimal

import pytest

from kpis.models import KpiSnapshot
from sales.models import Opportunity
from tests.customers.factories import ChannelFactory, TeamFactory
from tests.kpis.conftest import buyer, customer, local, snapshot
from tests.sales.factories import (
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    ProductLineFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def march_orders():
    """Orders of March 2026 in several currencies, with a refund and a cancellation."""
    team = TeamFactory.create(name="Sales")
    web = ChannelFactory.create(code="web")
    home = customer(local(2025, 1, 1), team=team, channel=web)
    abroad = customer(local(2025, 1, 1))
    software, services = (
        ProductLineFactory.create(code="software"),
        ProductLineFactory.create(code="services"),
    )
    eur = OrderFactory.create(customer=home, ordered_at=local(2026, 3, 2), total=Decimal("100.00"))
    OrderLineFactory.create(
        order=eur, product=ProductFactory.create(product_line=software), unit_price=Decimal("60.00")
    )
    OrderLineFactory.create(
        order=eur, product=ProductFactory.create(product_line=services), unit_price=Decimal("40.00")
    )
    # 200 USD at 0.9 → net 180 EUR
    usd = OrderFactory.create(
        customer=abroad,
        ordered_at=local(2026, 3, 3),
        currency="USD",
        total=Decimal("200.00"),
        exchange_rate=Decimal("0.9"),
    )
    OrderLineFactory.create(
        order=usd,
        product=ProductFactory.create(product_line=software),
        unit_price=Decimal("200.00"),
    )
    OrderFactory.create(
        customer=home, ordered_at=local(2026, 3, 4), total=Decimal("500.00"), status="cancelled"
    )
    # refunded 30 of 100 → net 70
    OrderFactory.create(
        customer=home,
        ordered_at=local(2026, 3, 5),
        total=Decimal("100.00"),
        refunded_total=Decimal("30.00"),
    )
    OrderFactory.create(customer=home, ordered_at=local(2026, 2, 5), total=Decimal("999.00"))
    return {"team": team, "web": web, "software": software, "services": services}


def test_revenue_uses_converted_net_amounts(march_orders, compute):
    row = compute("revenue")
    # 100 + 180 (200 USD × 0.9) + 70 (100 − 30 refunded); cancelled and February excluded
    assert row.value == Decimal("350")
    assert row.sample_size == 3
    assert snapshot("revenue", dimension="team", value=march_orders["team"].pk).value == 170
    assert snapshot("revenue", dimension="channel", value=march_orders["web"].pk).value == 170


def test_revenue_by_product_line_shares_each_order_net(march_orders, compute):
    compute("revenue")
    software = snapshot("revenue", dimension="product_line", value=march_orders["software"].pk)
    services = snapshot("revenue", dimension="product_line", value=march_orders["services"].pk)
    # software: 60/100 × 100 + 200/200 × 180 = 240; services: 40/100 × 100 = 40
    assert software.value == Decimal("240")
    assert services.value == Decimal("40")
    assert software.dimension_label == "Software"


def test_orders_and_aov(march_orders, compute):
    orders = compute("orders")
    aov = compute("aov")
    # 3 countable orders; 350 / 3 = 116.666667
    assert orders.value == 3
    assert (aov.numerator, aov.denominator, aov.value) == (350, 3, Decimal("116.666667"))


def test_aov_is_na_without_orders(compute):
    assert compute("aov").value is None


def test_top20_revenue_share(compute):
    for amount in ("600.00", "100.00", "100.00", "100.00", "50.00", "50.00"):
        OrderFactory.create(
            customer=customer(local(2025, 1, 1)),
            ordered_at=local(2026, 3, 9),
            total=Decimal(amount),
        )
    row = compute("top20_revenue_share")
    # 6 customers → top ceil(1.2) = 2: (600 + 100) / 1000 = 0.7
    assert (row.numerator, row.denominator, row.value) == (700, 1000, Decimal("0.7"))
    assert row.details == {"top_customers": 2}
    assert row.sample_size == 6


def test_clv_from_trailing_12_months(compute):
    # c1 orders Jan 10, Feb 10, Mar 10 2026; c2 one order Dec 20 2025 (lapses Mar 20)
    t1, t2 = TeamFactory.create(name="T1"), TeamFactory.create(name="T2")
    buyer(local(2026, 1, 10), local(2026, 2, 10), local(2026, 3, 10), team=t1)
    buyer(local(2025, 12, 20), team=t2)

    row = compute("clv")
    by_t1 = snapshot("clv", dimension="team", value=t1.pk)
    by_t2 = snapshot("clv", dimension="team", value=t2.pk)

    # revenue 400, orders 4, customers 2 → AOV 100, frequency 4 / 2 / 12 = 0.1667
    # active at month starts: c1 Feb 1, Mar 1; c2 Jan 1, Feb 1, Mar 1 → Σ 5; churned: c2 in
    # March → Σ 1; lifespan 5 / 1 = 5 months; CLV = 100 × 4/24 × 5 = 83.333333
    assert row.value == Decimal("83.333333")
    assert row.details["lifespan_months"] == "5.00"
    assert row.details["lifespan_capped"] is False
    assert (row.details["active_month_starts"], row.details["churned"]) == (5, 1)
    # T1 (c1): no churn → capped: 100 × (3 / 1 / 12) × 60 = 1500
    assert by_t1.value == Decimal("1500")
    assert by_t1.details["lifespan_capped"] is True
    # T2 (c2): 3 month starts, 1 churn → 3 months: 100 × (1 / 1 / 12) × 3 = 25
    assert by_t2.value == Decimal("25")


def test_clv_lifespan_is_capped_without_churn(compute):
    buyer(local(2026, 2, 10), local(2026, 3, 10))
    row = compute("clv")
    # no churn → 60 months; AOV 100 × (2 / 1 / 12) × 60 = 1000
    assert row.value == Decimal("1000")
    assert row.details["lifespan_capped"] is True


def test_clv_is_na_without_orders(compute):
    assert compute("clv").value is None


def test_clv_historic_averages_revenue_to_date_of_active_customers(compute):
    buyer(local(2025, 6, 1), local(2026, 2, 1), local(2026, 3, 1))  # 300 to date, active
    buyer(local(2025, 5, 1))  # lapsed: not active at Apr 1
    big = customer(local(2026, 3, 2))
    OrderFactory.create(customer=big, ordered_at=local(2026, 3, 2), total=Decimal("500.00"))
    OrderFactory.create(
        customer=big, ordered_at=local(2026, 4, 2), total=Decimal("999.00")
    )  # after P

    row = compute("clv_historic")
    # (300 + 500) / 2 active customers = 400
    assert (row.numerator, row.denominator, row.value) == (800, 2, Decimal("400"))


def test_cross_sell_rate_excludes_first_time_buyers(compute):
    software, services = (
        ProductLineFactory.create(code="software"),
        ProductLineFactory.create(code="services"),
    )

    def order_line(person, when, line):
        order = OrderFactory.create(customer=person, ordered_at=when)
        OrderLineFactory.create(order=order, product=ProductFactory.create(product_line=line))

    widened = customer(local(2026, 1, 5))
    order_line(widened, local(2026, 1, 5), software)
    order_line(widened, local(2026, 3, 5), services)
    same = customer(local(2026, 1, 5))
    order_line(same, local(2026, 1, 5), software)
    order_line(same, local(2026, 3, 6), software)
    newcomer = customer(local(2026, 3, 7))
    order_line(newcomer, local(2026, 3, 7), services)

    row = compute("cross_sell_rate")
    # existing buyers in March: widened, same; widened bought a new line → 1/2
    assert (row.numerator, row.denominator) == (1, 2)


def test_upsell_rate(compute):
    upsold = buyer(local(2026, 2, 1))
    renewed = buyer(local(2026, 2, 1))
    lost = buyer(local(2026, 2, 1))
    won = {"outcome": Opportunity.Outcome.WON, "closed_at": local(2026, 3, 10)}
    OpportunityFactory.create(customer=upsold, kind="upsell", **won)
    OpportunityFactory.create(customer=renewed, kind="renewal", **won)
    OpportunityFactory.create(
        customer=lost, kind="cross_sell", outcome="lost", closed_at=local(2026, 3, 10)
    )

    row = compute("upsell_rate")
    # 1 of 3 customers active at Mar 1 won an up-/cross-sell in March
    assert (row.numerator, row.denominator) == (1, 3)


def test_revenue_by_rfm_segment_is_a_separate_dimension_from_business_segment(compute):
    # today's stored segment says champion; at the end of March the customer had ordered on
    # one day only, so March's revenue goes to first-time buyers
    champion = customer(local(2025, 1, 1), rfm_segment="champion")
    OrderFactory.create(customer=champion, ordered_at=local(2026, 3, 3), total=Decimal("80.00"))
    OrderFactory.create(customer=customer(local(2025, 1, 1)), ordered_at=local(2026, 3, 4))

    compute("revenue")

    row = snapshot("revenue", dimension="rfm_segment", value="first_time_buyer")
    unsegmented = snapshot("revenue", dimension="segment", value="")
    # both customers are first-time buyers at 1 April → 80 + 100 = 180; neither has a business
    # segment → 180 under "(none)"
    assert (row.value, row.dimension_label) == (Decimal("180"), "First-time buyer")
    assert (unsegmented.value, unsegmented.dimension_label) == (Decimal("180"), "(none)")
    assert not KpiSnapshot.objects.filter(
        kpi="revenue", dimension="rfm_segment", dimension_value="champion"
    ).exists()

"""Acquisition KPIs for March 2026: leads, conversion, new customers, CAC, marketing ROI."""

import datetime as dt
from decimal import Decimal

import pytest

from sales.models import Lead
from tests.customers.factories import ChannelFactory, TeamFactory, UserFactory
from tests.kpis.conftest import MATURE_NOW, customer, local, snapshot
from tests.sales.factories import (
    LeadFactory,
    MarketingSpendFactory,
    OrderFactory,
    SalesCostFactory,
)

pytestmark = pytest.mark.django_db


def test_leads_new_excludes_merged_duplicates_and_other_periods(compute):
    t1, t2 = TeamFactory.create(name="T1"), TeamFactory.create(name="T2")
    LeadFactory.create(created_at=local(2026, 3, 2), team=t1)
    kept = LeadFactory.create(created_at=local(2026, 3, 9), team=t1)
    LeadFactory.create(created_at=local(2026, 3, 20), team=t2)
    LeadFactory.create(
        created_at=local(2026, 3, 21), team=t1, status=Lead.Status.MERGED, merged_into=kept
    )
    LeadFactory.create(created_at=local(2026, 2, 27), team=t1)

    row = compute("leads_new")

    # 3 March leads (the merged duplicate and the February lead excluded)
    assert row.value == 3
    assert row.low_sample is False
    assert snapshot("leads_new", dimension="team", value=t1.pk).value == 2


def test_leads_new_zero_is_a_real_zero(compute):
    row = compute("leads_new")
    assert row.value == 0
    assert row.low_sample is False


def test_lead_conversion_rate_is_a_provisional_cohort(compute):
    owner = UserFactory.create()
    won = customer(local(2026, 3, 20))
    late = customer(local(2026, 7, 1))
    LeadFactory.create(
        created_at=local(2026, 3, 2),
        owner=owner,
        status=Lead.Status.CONVERTED,
        converted_at=local(2026, 3, 20),
        converted_customer=won,
    )
    LeadFactory.create(  # converted after 90 days (Mar 3 + 90 d = Jun 1): not counted
        created_at=local(2026, 3, 3),
        status=Lead.Status.CONVERTED,
        converted_at=local(2026, 7, 1),
        converted_customer=late,
    )
    LeadFactory.create(created_at=local(2026, 3, 4), owner=owner)
    LeadFactory.create(created_at=local(2026, 3, 5), status=Lead.Status.MERGED)

    immature = compute("lead_conversion_rate")
    # 1 converted within 90 days of 3 countable leads → 0.333333
    assert (immature.numerator, immature.denominator) == (1, 3)
    assert immature.value == Decimal("0.333333")
    # Apr 1 + 90 d = Jun 30 > now (Jun 15) → provisional
    assert immature.provisional is True
    assert snapshot("lead_conversion_rate", dimension="owner", value=owner.pk).value == Decimal(
        "0.5"
    )

    mature = compute("lead_conversion_rate", now=MATURE_NOW)
    assert mature.provisional is False
    assert mature.value == Decimal("0.333333")


def test_customers_new_by_channel_ignores_reactivations(compute):
    web, partner = ChannelFactory.create(code="web"), ChannelFactory.create(code="partner")
    customer(local(2026, 3, 5), channel=web)
    customer(local(2026, 3, 25), channel=web)
    customer(local(2026, 3, 9), channel=partner)
    comeback = customer(local(2025, 5, 1), channel=partner)
    OrderFactory.create(customer=comeback, ordered_at=local(2026, 3, 10))  # reactivation, not new

    row = compute("customers_new")

    assert row.value == 3
    assert snapshot("customers_new", dimension="channel", value=web.pk).value == 2
    assert snapshot("customers_new", dimension="channel", value=partner.pk).value == 1


def test_cac_blends_prorated_spend_and_sales_cost(compute):
    web, partner = ChannelFactory.create(code="web"), ChannelFactory.create(code="partner")
    team = TeamFactory.create(name="Hunters")
    customer(local(2026, 3, 5), channel=web, team=team)
    customer(local(2026, 3, 6), channel=web, team=team)
    customer(local(2026, 3, 7), channel=partner)
    march = {"period_start": dt.date(2026, 3, 1), "period_end": dt.date(2026, 4, 1)}
    MarketingSpendFactory.create(channel=web, amount=Decimal("1000.00"), **march)
    MarketingSpendFactory.create(channel=partner, amount=Decimal("500.00"), **march)
    # Feb 15 – Mar 17 is 30 days, 16 of them in March → 300 × 16/30 = 160
    MarketingSpendFactory.create(
        channel=web,
        amount=Decimal("300.00"),
        period_start=dt.date(2026, 2, 15),
        period_end=dt.date(2026, 3, 17),
    )
    SalesCostFactory.create(team=team, amount=Decimal("600.00"), **march)

    row = compute("cac")

    # (1000 + 500 + 160 + 600) / 3 new customers = 2260 / 3 = 753.333333
    assert (row.numerator, row.denominator) == (Decimal("2260"), 3)
    assert row.value == Decimal("753.333333")
    # web: (1000 + 160) / 2 = 580; partner: 500 / 1; team: sales cost only 600 / 2 = 300
    assert snapshot("cac", dimension="channel", value=web.pk).value == Decimal("580")
    assert snapshot("cac", dimension="channel", value=partner.pk).value == Decimal("500")
    assert snapshot("cac", dimension="team", value=team.pk).value == Decimal("300")


def test_cac_is_na_without_new_customers(compute):
    MarketingSpendFactory.create(
        amount=Decimal("100.00"), period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1)
    )
    row = compute("cac")
    assert (row.numerator, row.denominator, row.value) == (100, 0, None)


def test_marketing_roi_counts_the_first_90_days_of_the_cohort(compute):
    web = ChannelFactory.create(code="web")
    first = customer(local(2026, 3, 5), channel=web)
    OrderFactory.create(customer=first, ordered_at=local(2026, 3, 5), total=Decimal("100.00"))
    OrderFactory.create(customer=first, ordered_at=local(2026, 4, 10), total=Decimal("200.00"))
    # Mar 5 + 90 d = Jun 3: a July order is outside the window
    OrderFactory.create(customer=first, ordered_at=local(2026, 7, 1), total=Decimal("999.00"))
    second = customer(local(2026, 3, 20), channel=web)
    OrderFactory.create(
        customer=second, ordered_at=local(2026, 3, 21), total=Decimal("50.00"), status="cancelled"
    )
    MarketingSpendFactory.create(
        channel=web,
        amount=Decimal("1000.00"),
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 4, 1),
    )

    row = compute("marketing_roi", now=MATURE_NOW)

    # (100 + 200 − 1000) / 1000 = −0.7
    assert (row.numerator, row.denominator, row.value) == (-700, 1000, Decimal("-0.7"))
    assert row.provisional is False
    assert snapshot("marketing_roi", dimension="channel", value=web.pk).value == Decimal("-0.7")


def test_marketing_roi_is_na_without_spend(compute):
    OrderFactory.create(customer=customer(local(2026, 3, 5)), ordered_at=local(2026, 3, 5))
    row = compute("marketing_roi")
    assert row.value is None
    assert row.provisional is True

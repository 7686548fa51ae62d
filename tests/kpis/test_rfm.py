"""RFM quintiles and named segments (catalogue §1) on a small fixture."""

import datetime as dt
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from customers.models import Customer
from kpis.models import CustomerSegmentSnapshot
from kpis.rfm import quintile, rfm_recompute
from sales.models import Order
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2026, 7, 1, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))
Q2 = dt.date(2026, 4, 1)


def days_ago(days: int, hour: int = 12) -> dt.datetime:
    return (AS_OF - dt.timedelta(days=days)).replace(hour=hour)


def buyer(name: str, orders: list[tuple[int, str]], **fields) -> Customer:
    customer = cast(Customer, CustomerFactory(name=name, **fields))
    for days, amount in orders:
        OrderFactory(customer=customer, ordered_at=days_ago(days), total=Decimal(amount))
    return customer


@pytest.fixture
def five_buyers():
    # recency (days): Cora 2, Finn 10, Hugo 20, Ada 40, Dora 60 → R 5, 4, 3, 2, 1
    # frequency (days in 365): Hugo 7, Cora 6, Ada 3, Dora 2, Finn 1 → F 5, 4, 3, 2, 1
    # monetary (365 d): Cora 3000, Ada 900, Hugo 700, Dora 300, Finn 50 → M 5, 4, 3, 2, 1
    cora = buyer("Cora", [(d, "500") for d in (2, 12, 22, 32, 42, 52)] + [(400, "999")])
    hugo = buyer("Hugo", [(d, "100") for d in (20, 30, 40, 50, 60, 70, 80)])
    ada = buyer("Ada", [(40, "300"), (100, "300"), (200, "300")])
    dora = buyer("Dora", [(60, "150"), (150, "150")])
    finn = buyer("Finn", [(10, "50")])
    # a cancelled order never counts: Finn stays a one-day buyer with recency 10
    OrderFactory(customer=finn, ordered_at=days_ago(3), status=Order.Status.CANCELLED)
    return {"cora": cora, "hugo": hugo, "ada": ada, "dora": dora, "finn": finn}


def test_quintiles_and_named_segments(five_buyers, django_assert_max_num_queries):
    nobody = cast(Customer, CustomerFactory(name="Nora", rfm_segment="champion", rfm_recency=5))

    with django_assert_max_num_queries(10):
        summary = rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)

    scores = {
        c.name: (c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.rfm_segment)
        for c in Customer.objects.all()
    }
    assert scores["Cora"] == (5, 4, 5, "champion")  # R, F, M all ≥ 4
    assert scores["Hugo"] == (3, 5, 3, "high_frequency")  # F = 5, not a champion, R > 2
    assert scores["Ada"] == (2, 3, 4, "at_risk")  # R ≤ 2 and F ≥ 3, last order 40 ≤ 45 days
    assert scores["Dora"] == (1, 2, 2, "dormant")  # 60 days > d/2 = 45, not churned (≤ 90)
    assert scores["Finn"] == (4, 1, 1, "first_time_buyer")  # one order day
    # a customer without orders loses stale scores
    assert scores["Nora"] == (None, None, None, "")
    assert nobody.pk not in CustomerSegmentSnapshot.objects.values_list("customer", flat=True)
    assert summary.customers == 5


def test_history_rows_keep_the_measures_and_reruns_replace_them(five_buyers):
    rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)
    rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)

    rows = CustomerSegmentSnapshot.objects.filter(granularity="quarter", period_start=Q2)
    assert rows.count() == 5
    cora = rows.get(customer=five_buyers["cora"])
    # the order 400 days ago is outside the 365-day window
    assert (cora.recency_days, cora.frequency, cora.monetary) == (2, 6, Decimal("3000.00"))
    assert (cora.r, cora.f, cora.m, cora.rfm_segment) == (5, 4, 5, "champion")


def test_segment_history_survives_a_later_period(five_buyers):
    rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)
    # Dora orders again; the next quarter's run sees her as recent
    OrderFactory(customer=five_buyers["dora"], ordered_at=AS_OF + dt.timedelta(days=1))

    rfm_recompute(
        as_of=AS_OF + dt.timedelta(days=2), granularity="quarter", period_start=dt.date(2026, 7, 1)
    )

    history = dict(
        CustomerSegmentSnapshot.objects.filter(customer=five_buyers["dora"]).values_list(
            "period_start", "rfm_segment"
        )
    )
    assert history[Q2] == "dormant"
    assert history[dt.date(2026, 7, 1)] != "dormant"


def test_churned_customers():
    inactive = buyer("Inactive", [(120, "100"), (130, "100")])  # 120 > 90 inactivity days
    explicit = buyer("Explicit", [(20, "100"), (30, "100")], churned_at=days_ago(10))
    on_contract = buyer(
        "Contract", [(120, "100"), (130, "100")], contract_end_date=dt.date(2027, 1, 1)
    )
    comeback = buyer("Comeback", [(5, "100"), (30, "100")], churned_at=days_ago(20))

    rfm_recompute(as_of=AS_OF)

    segments = dict(Customer.objects.values_list("name", "rfm_segment"))
    assert segments[inactive.name] == "churned"
    assert segments[explicit.name] == "churned"  # explicit churn date, no order after it
    assert segments[on_contract.name] == "dormant"  # contract still running: not churned
    assert segments[comeback.name] != "churned"  # ordered after churning: reactivated


def test_equal_values_share_a_quintile():
    # three customers with one order day each, same amount and day: nothing tells them apart
    for name in ("A", "B", "C"):
        buyer(name, [(10, "100"), (11, "100")])

    rfm_recompute(as_of=AS_OF)

    assert set(Customer.objects.values_list("rfm_recency", "rfm_frequency", "rfm_monetary")) == {
        (1, 1, 1)
    }


@pytest.mark.parametrize(
    ("percent_rank", "score"),
    [(0.0, 1), (0.19, 1), (0.2, 2), (0.25, 2), (0.6 - 1e-12, 4), (0.75, 4), (0.99, 5), (1.0, 5)],
)
def test_quintile_from_percent_rank(percent_rank, score):
    assert quintile(percent_rank) == score


def test_old_sqlite_without_update_from_gets_the_same_scores(five_buyers, monkeypatch):
    # SQLite before 3.33 has no UPDATE … FROM: the writer falls back to bulk_update
    monkeypatch.setattr("kpis.rfm._supports_update_from", lambda: False)

    rfm_recompute(as_of=AS_OF)

    cora = Customer.objects.get(pk=five_buyers["cora"].pk)
    assert (cora.rfm_recency, cora.rfm_frequency, cora.rfm_monetary) == (5, 4, 5)
    assert cora.rfm_segment == "champion"


def test_a_rerun_for_the_same_moment_rewrites_no_customer(five_buyers):
    # The second run stores the same scores: the writer skips rows already holding them
    # (PostgreSQL: IS DISTINCT FROM; elsewhere a plain rewrite), and the result is unchanged.
    rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)
    rfm_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)

    cora = Customer.objects.get(pk=five_buyers["cora"].pk)
    assert (cora.rfm_recency, cora.rfm_frequency, cora.rfm_monetary) == (5, 4, 5)
    assert CustomerSegmentSnapshot.objects.filter(granularity="quarter").count() == 5


def test_a_backfilled_period_leaves_customer_scores_alone(five_buyers):
    # refresh_scores=False (every period of a backfill but its last): no RFM refresh
    from kpis.post_compute import after_period_computed

    after_period_computed(
        granularity="quarter", period_start=Q2, period_end=AS_OF.date(), refresh_scores=False
    )

    assert not CustomerSegmentSnapshot.objects.exists()
    assert Customer.objects.get(pk=five_buyers["cora"].pk).rfm_segment == ""

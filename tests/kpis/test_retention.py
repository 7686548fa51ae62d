"""Retention KPIs and the activity rule (catalogue §1): churn, retention, reactivation,
active customers, win-back and retention cost — March 2026, d = 90 days unless stated."""

import datetime as dt
from decimal import Decimal

import pytest

from kpis.activity import ActivityRules, active_customers_at
from kpis.periods import to_datetime_range
from sales.models import Order, RetentionCase
from tests.customers.factories import ChannelFactory, SegmentFactory, TeamFactory, UserFactory
from tests.kpis.conftest import MARCH, buyer, customer, local, snapshot
from tests.sales.factories import OrderFactory, RetentionCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def population():
    """Eight customers around March 2026 (A(s) = Mar 1 − 90 d = Dec 1; A(e) = Apr 1 − 90 d = Jan 1).

    a: ordered Jan 10 and Mar 10                → active at s and e (retained)
    b: last order Dec 15                        → active at s, not at e (churned in P)
    c: last order Oct 1, orders again Mar 20    → churned at s, reactivated in P
    d: first order Mar 5                        → new in P
    e: contract ending Mar 15, no orders        → active at s, churned in P (explicit date)
    f: contract ending Dec 31 2026              → active at s and e
    g: order Dec 10 (lapses Mar 10), again Mar 20 → churned and back within P: not churned
    h: real order Jun 2025, cancelled order Feb → churned at s (cancelled ignored), no order in P
    """
    t1, t2 = TeamFactory.create(name="T1"), TeamFactory.create(name="T2")
    web, partner = ChannelFactory.create(code="web"), ChannelFactory.create(code="partner")
    people = {
        "a": buyer(local(2026, 1, 10), local(2026, 3, 10), team=t1, channel=web),
        "b": buyer(local(2025, 12, 15), team=t1, channel=web),
        "c": buyer(local(2025, 6, 1), local(2025, 10, 1), local(2026, 3, 20), channel=partner),
        "d": buyer(local(2026, 3, 5), channel=partner),
        "e": customer(local(2025, 1, 1), contract_end_date=dt.date(2026, 3, 15), team=t2),
        "f": customer(local(2025, 1, 1), contract_end_date=dt.date(2026, 12, 31), team=t2),
        "g": buyer(local(2025, 12, 10), local(2026, 3, 20), team=t2, channel=partner),
        "h": buyer(local(2025, 6, 1)),
    }
    OrderFactory.create(
        customer=people["h"], ordered_at=local(2026, 2, 1), status=Order.Status.CANCELLED
    )
    return people | {"t1": t1, "t2": t2, "web": web, "partner": partner}


def test_active_sets_follow_the_activity_rule(population):
    start, end = to_datetime_range(MARCH, dt.date(2026, 4, 1))
    rules = ActivityRules.load()
    names = {v.pk: k for k, v in population.items() if hasattr(v, "acquired_at")}

    active_start = {names[c.pk] for c in active_customers_at(start, rules)}
    active_end = {names[c.pk] for c in active_customers_at(end, rules)}

    assert active_start == {"a", "b", "e", "f", "g"}
    assert active_end == {"a", "c", "d", "f", "g"}


def test_churn_rate(population, compute):
    row = compute("churn_rate")
    # A(s) = {a, b, e, f, g}; churned = A(s) \ A(e) = {b, e} → 2 / 5 = 0.4 (g came back in P)
    assert (row.numerator, row.denominator, row.value) == (2, 5, Decimal("0.4"))
    assert row.low_sample is False
    assert row.provisional is False


def test_churn_rate_by_team_and_channel(population, compute):
    compute("churn_rate")
    t1 = snapshot("churn_rate", dimension="team", value=population["t1"].pk)
    t2 = snapshot("churn_rate", dimension="team", value=population["t2"].pk)
    web = snapshot("churn_rate", dimension="channel", value=population["web"].pk)
    # T1: A(s) = {a, b}, churned {b} → 1/2; T2: A(s) = {e, f, g}, churned {e} → 1/3
    assert t1.value == Decimal("0.5")
    assert t1.dimension_label == "T1"
    assert (t2.numerator, t2.denominator, t2.value) == (1, 3, Decimal("0.333333"))
    # web: a, b → 1/2
    assert web.value == Decimal("0.5")


def test_retention_rate_is_retained_over_active_at_start(population, compute):
    row = compute("retention_rate")
    # A(s) ∩ A(e) = {a, f, g} → 3/5 = 0.6 = (|A(e)| 5 − new 1 − reactivated 1) / 5
    assert (row.numerator, row.denominator, row.value) == (3, 5, Decimal("0.6"))


def test_active_customers_at_period_end(population, compute):
    row = compute("active_customers")
    # A(e) = {a, c, d, f, g} → 5
    assert row.value == 5
    assert row.denominator is None


def test_reactivation_rate(population, compute):
    row = compute("reactivation_rate")
    # churned at s = acquired before s, not in A(s) = {c, h}; c ordered in P → 1/2
    # (h's February order is cancelled, so it neither kept h active nor reactivated it)
    assert (row.numerator, row.denominator, row.value) == (1, 2, Decimal("0.5"))


def test_segment_inactivity_days_override_the_default(compute):
    short = SegmentFactory.create(code="short", inactivity_days=30)
    buyer(local(2026, 1, 20), segment=short)  # 30 d: lapsed Feb 19, before Mar 1
    buyer(local(2026, 1, 20))  # default 90 d: active until Apr 20

    row = compute("active_customers", period_start=dt.date(2026, 2, 1))
    # at Mar 1: only the default-rule customer is active → 1
    assert row.value == 1


def test_explicit_churned_at_overrides_recent_orders(compute):
    # Ordered Feb 20 but explicitly churned Mar 3: churned in P despite the recent order.
    person = buyer(local(2026, 2, 20))
    person.churned_at = local(2026, 3, 3)
    person.save()

    row = compute("churn_rate")
    # A(s) = {person} (contract rule: churned_at ≥ s); not active at e → 1/1
    assert (row.numerator, row.denominator) == (1, 1)


def test_explicitly_churned_customer_ordering_again_is_reactivated(compute):
    person = buyer(local(2025, 11, 1))
    person.churned_at = local(2025, 12, 1)
    person.save()
    OrderFactory.create(customer=person, ordered_at=local(2026, 3, 12))

    row = compute("reactivation_rate")
    assert (row.numerator, row.denominator, row.value) == (1, 1, Decimal("1"))


def test_churn_rate_is_na_without_active_customers(compute):
    buyer(local(2026, 3, 5))  # only a new customer: in neither part

    row = compute("churn_rate")
    assert (row.numerator, row.denominator, row.value) == (0, 0, None)
    assert row.low_sample is True


def test_winback_rate_and_retention_cost(compute):
    owner = UserFactory.create()
    team = TeamFactory.create(name="Care")
    target = customer(local(2025, 1, 1), team=team)
    closed = {"status": RetentionCase.Status.CLOSED, "closed_at": local(2026, 3, 10)}
    RetentionCaseFactory.create(
        customer=target, owner=owner, outcome="retained", cost=Decimal("120.00"), **closed
    )
    RetentionCaseFactory.create(
        customer=target, outcome="retained", cost=Decimal("30.00"), **closed
    )
    RetentionCaseFactory.create(customer=target, outcome="lost", cost=Decimal("50.00"), **closed)
    RetentionCaseFactory.create(customer=target, cost=Decimal("999.00"))  # still open: not counted

    winback = compute("winback_rate")
    cost = compute("retention_cost")
    by_owner = snapshot("winback_rate", dimension="owner", value=owner.pk)

    # 2 retained of 3 closed → 0.666667; cost (120 + 30 + 50) / 2 retained = 100
    assert (winback.numerator, winback.denominator) == (2, 3)
    assert winback.value == Decimal("0.666667")
    assert (cost.numerator, cost.denominator, cost.value) == (200, 2, Decimal("100"))
    assert by_owner.value == 1  # the owner's one case was retained
    assert snapshot("winback_rate", dimension="team", value=team.pk).denominator == 3


def test_retention_cost_is_na_when_nobody_was_retained(compute):
    RetentionCaseFactory.create(
        customer=customer(local(2025, 1, 1)),
        status="closed",
        outcome="lost",
        closed_at=local(2026, 3, 10),
        cost=Decimal("80.00"),
    )
    row = compute("retention_cost")
    assert (row.numerator, row.denominator, row.value) == (80, 0, None)

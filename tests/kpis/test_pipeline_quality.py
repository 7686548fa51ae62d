"""Pipeline and data-quality KPIs for March 2026."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory, UserFactory
from tests.kpis.conftest import local, snapshot
from tests.sales.factories import ActivityFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_win_rate_by_owner(compute):
    rep = UserFactory.create(first_name="Ada", last_name="Rep")
    closed = local(2026, 3, 10)
    OpportunityFactory.create(owner=rep, outcome="won", closed_at=closed)
    OpportunityFactory.create(owner=rep, outcome="lost", closed_at=closed)
    OpportunityFactory.create(outcome="won", closed_at=closed)
    OpportunityFactory.create()  # open
    OpportunityFactory.create(outcome="won", closed_at=local(2026, 2, 10))

    row = compute("win_rate")
    by_rep = snapshot("win_rate", dimension="owner", value=rep.pk)

    # 2 won of 3 closed in March → 0.666667; the rep 1 of 2 → 0.5
    assert (row.numerator, row.denominator) == (2, 3)
    assert by_rep.value == Decimal("0.5")
    assert by_rep.dimension_label == "Ada Rep"


def test_pipeline_value_open_at_period_end_with_weighted_detail(compute):
    march = local(2026, 3, 1)
    OpportunityFactory.create(
        amount=Decimal("1000.00"), probability=Decimal("0.5"), created_at=march
    )
    # closed after the period end: still open at Apr 1
    OpportunityFactory.create(
        amount=Decimal("2000.00"),
        probability=Decimal("0.2"),
        created_at=march,
        outcome="won",
        closed_at=local(2026, 4, 10),
    )
    OpportunityFactory.create(
        amount=Decimal("400.00"), created_at=march, outcome="lost", closed_at=local(2026, 3, 15)
    )
    OpportunityFactory.create(amount=Decimal("800.00"), created_at=local(2026, 4, 5))

    row = compute("pipeline_value")
    # 1000 + 2000 = 3000; weighted 1000 × 0.5 + 2000 × 0.2 = 900
    assert row.value == Decimal("3000")
    assert row.details["weighted"] == "900.00"


def test_sales_cycle_days_median(compute):
    closed = dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC)
    for created in (
        dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),  # 10 days
        dt.datetime(2026, 2, 9, 12, tzinfo=dt.UTC),  # 30 days
        dt.datetime(2026, 2, 19, 12, tzinfo=dt.UTC),
    ):  # 20 days
        OpportunityFactory.create(created_at=created, outcome="won", closed_at=closed)
    OpportunityFactory.create(
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), outcome="lost", closed_at=closed
    )

    row = compute("sales_cycle_days")
    # 10, 20, 30 → median 20 days, mean 20
    assert row.value == Decimal("20")
    assert row.details["mean"] == pytest.approx(20)


def test_activities_logged_by_team(compute):
    team = TeamFactory.create(name="Field")
    ActivityFactory.create(team=team, done_at=local(2026, 3, 3))
    ActivityFactory.create(team=team, done_at=local(2026, 3, 4))
    ActivityFactory.create(done_at=local(2026, 3, 5))
    ActivityFactory.create(due_at=local(2026, 3, 5))  # not done
    ActivityFactory.create(done_at=local(2026, 2, 5))

    row = compute("activities_logged")
    assert row.value == 3
    assert snapshot("activities_logged", dimension="team", value=team.pk).value == 2


def test_data_completeness_and_duplicates(compute):
    owner, segment = UserFactory.create(), SegmentFactory.create()
    before = local(2026, 2, 1)
    CustomerFactory.create(
        email="Dup@Example.com ", owner=owner, segment=segment, created_at=before
    )
    CustomerFactory.create(
        email="", phone="+49 30 1234", owner=owner, segment=segment, created_at=before
    )
    CustomerFactory.create(email="dup@example.com", segment=segment, created_at=before)  # no owner
    CustomerFactory.create(email="", phone="", owner=owner, segment=segment, created_at=before)
    CustomerFactory.create(email="", phone="+49-30-1234", created_at=before)
    CustomerFactory.create(created_at=local(2026, 4, 2))  # after the period

    row = compute("data_completeness")
    # complete: the first two of 5 customers existing at Apr 1 → 0.4
    assert (row.numerator, row.denominator, row.value) == (2, 5, Decimal("0.4"))
    # two share an e-mail after lower/trim; two share a phone after removing separators
    assert row.details == {"duplicate_email_customers": 2, "duplicate_phone_customers": 2}

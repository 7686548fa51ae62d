"""Service KPIs for March 2026: response and resolution times, SLA, reopens, one-touch,
engagement. Tickets carry the denormalised fields the ticket services keep."""

from decimal import Decimal

import pytest

from support.models import Ticket, TicketMessage
from tests.customers.factories import TeamFactory, UserFactory
from tests.kpis.conftest import buyer, customer, local, snapshot
from tests.sales.factories import ActivityFactory
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.surveys.factories import SurveyResponseFactory

pytestmark = pytest.mark.django_db


def test_first_response_time_median_mean_p90(compute):
    team = TeamFactory.create(name="Desk")
    agent = UserFactory.create()
    for minutes in (10, 20, 30, 100):
        TicketFactory.create(
            team=team,
            assignee=agent,
            first_response_at=local(2026, 3, 10),
            first_response_business_minutes=minutes,
            first_response_calendar_minutes=minutes * 2,
        )
    spam = TicketFactory.create(
        is_spam=True, first_response_at=local(2026, 3, 10), first_response_business_minutes=5
    )
    TicketFactory.create(
        merged_into=spam, first_response_at=local(2026, 3, 10), first_response_business_minutes=1
    )
    TicketFactory.create(first_response_at=local(2026, 2, 10), first_response_business_minutes=999)

    row = compute("first_response_time")

    # 10, 20, 30, 100: median (20 + 30) / 2 = 25; mean 160 / 4 = 40;
    # p90 at rank 0.9 × 3 = 2.7 → 30 + 0.7 × (100 − 30) = 79
    assert row.value == Decimal("25")
    assert (row.numerator, row.denominator, row.sample_size) == (160, 4, 4)
    assert row.details["count"] == 4
    assert row.details["mean"] == pytest.approx(40)
    assert row.details["p90"] == pytest.approx(79)
    assert row.details["calendar_minutes"]["median"] == pytest.approx(50)
    assert snapshot("first_response_time", dimension="team", value=team.pk).value == 25
    assert snapshot("first_response_time", dimension="owner", value=agent.pk).value == 25


def test_resolution_time_counts_reopened_tickets_once_at_final_solve(compute):
    TicketFactory.create(
        status=Ticket.Status.SOLVED,
        last_solved_at=local(2026, 3, 20),
        reopen_count=1,
        public_agent_replies=3,
        resolution_business_minutes=500,
    )
    TicketFactory.create(
        status=Ticket.Status.CLOSED,
        last_solved_at=local(2026, 3, 12),
        public_agent_replies=1,
        resolution_business_minutes=100,
    )
    # solved on Mar 5, reopened and still open: not finally solved
    TicketFactory.create(
        status=Ticket.Status.OPEN,
        last_solved_at=local(2026, 3, 5),
        reopen_count=1,
        resolution_business_minutes=40,
    )
    TicketFactory.create(
        status=Ticket.Status.SOLVED,
        last_solved_at=local(2026, 3, 5),
        is_spam=True,
        resolution_business_minutes=1,
    )

    resolution = compute("resolution_time")
    reopen = compute("reopen_rate")
    one_touch = compute("one_touch_rate")

    # 500 and 100 → median 300
    assert resolution.value == Decimal("300")
    assert resolution.sample_size == 2
    # 1 of 2 finally solved tickets had been reopened
    assert (reopen.numerator, reopen.denominator) == (1, 2)
    # 1 of 2 with fewer than 2 public agent replies
    assert (one_touch.numerator, one_touch.denominator) == (1, 2)


def test_durations_are_na_without_tickets(compute):
    row = compute("first_response_time")
    assert row.value is None
    assert row.sample_size == 0
    assert row.low_sample is True


def test_sla_first_response_attainment(compute):
    due = local(2026, 3, 10)
    TicketFactory.create(first_response_due_at=due, sla_first_response_met=True)
    TicketFactory.create(first_response_due_at=due, sla_first_response_met=True)
    TicketFactory.create(first_response_due_at=due, sla_first_response_met=False)
    TicketFactory.create(first_response_due_at=due)  # no reply and the due time has passed: missed
    TicketFactory.create(first_response_due_at=due, sla_first_response_met=False, is_spam=True)
    TicketFactory.create(first_response_due_at=local(2026, 4, 2), sla_first_response_met=True)

    row = compute("sla_first_response_attainment")
    # 2 met of 4 due in March → 0.5
    assert (row.numerator, row.denominator, row.value) == (2, 4, Decimal("0.5"))


def test_sla_resolution_attainment(compute):
    due = local(2026, 3, 10)
    TicketFactory.create(resolution_due_at=due, sla_resolution_met=True)
    TicketFactory.create(resolution_due_at=due, sla_resolution_met=False)
    row = compute("sla_resolution_attainment")
    assert row.value == Decimal("0.5")


def test_engagement_rate(compute):
    called = buyer(local(2026, 3, 2))
    ActivityFactory.create(customer=called, kind="call", done_at=local(2026, 3, 4))
    mailed = buyer(local(2026, 3, 2))
    ActivityFactory.create(customer=mailed, kind="email", is_bulk=True, done_at=local(2026, 3, 4))
    ActivityFactory.create(customer=mailed, kind="note", done_at=local(2026, 3, 4))
    ticketed = buyer(local(2026, 3, 2))
    TicketMessageFactory.create(
        ticket=TicketFactory.create(customer=ticketed, created_at=local(2026, 3, 3)),
        author_kind=TicketMessage.AuthorKind.CUSTOMER,
        created_at=local(2026, 3, 3),
    )
    answered = buyer(local(2026, 3, 2))
    SurveyResponseFactory.create(customer=answered, responded_at=local(2026, 3, 9))
    buyer(local(2026, 3, 2))
    silent_prospect = customer()  # never acquired: not active, not in the denominator
    ActivityFactory.create(customer=silent_prospect, kind="call", done_at=local(2026, 3, 4))

    row = compute("engagement_rate")
    # call, ticket message and survey answer count; bulk mail and a note do not → 3 / 5
    assert (row.numerator, row.denominator, row.value) == (3, 5, Decimal("0.6"))

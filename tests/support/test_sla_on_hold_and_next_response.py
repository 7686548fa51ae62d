# mypy: disable-error-code="arg-type,attr-defined,misc"
"""SLA clocks with a frozen clock: the resolution clock pauses while on hold (as while pending)
when the policy says so, and the next-response clock runs from an unanswered customer message
until the agent's next public reply — with its due time, clearing, queue state and escalation."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.models import Notification
from support.models import SLAEscalation, Ticket, TicketMessage
from support.selectors import SLAState, tickets_with_sla_state
from support.services import (
    NEXT_RESPONSE_CLOCK,
    sla_escalations_run,
    ticket_create,
    ticket_message_add,
    ticket_status_change,
)
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import SLAPolicyFactory, business_week_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
AGENT = TicketMessage.AuthorKind.AGENT
CUSTOMER = TicketMessage.AuthorKind.CUSTOMER
WARNING, BREACHED = SLAEscalation.Level.WARNING, SLAEscalation.Level.BREACHED


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


# Monday 16:30; Mon–Fri 9–17 → resolution (480 business min) due Tue 16:30 without pauses.
MONDAY_1630 = berlin(2026, 11, 23, 16, 30)


@pytest.fixture
def people():
    manager = UserFactory(username="manager")
    agent = UserFactory(username="agent")
    team = TeamFactory(name="Helpdesk", manager=manager)
    team.members.add(agent)
    return agent, manager, team


def make_policy(**kwargs):
    defaults = {
        "schedule": business_week_schedule(),
        "first_response_minutes": 60,
        "next_response_minutes": 120,
        "resolution_minutes": 480,
        "pause_on_pending": True,
        "warning_minutes": 60,
    }
    return SLAPolicyFactory(**{**defaults, **kwargs})


def open_ticket(people) -> Ticket:
    agent, _manager, team = people
    return ticket_create(
        customer=CustomerFactory(),
        subject="Printer on fire",
        body="Help!",
        team=team,
        assignee=agent,
        created_at=MONDAY_1630,
    )


def move(ticket: Ticket, status: str, at: dt.datetime) -> Ticket:
    return ticket_status_change(ticket=ticket, to_status=status, at=at)


def state_at(ticket: Ticket, moment: dt.datetime) -> str:
    return tickets_with_sla_state(Ticket.objects.filter(pk=ticket.pk), at=moment).get().sla_state


def run_at(moment: dt.datetime) -> list[SLAEscalation]:
    with time_machine.travel(moment, tick=False):
        return sla_escalations_run()


# --- resolution clock paused while on hold ---------------------------------------------------


def test_on_hold_pauses_the_resolution_clock_and_pushes_the_due_time_back(people):
    # given an answered ticket under a pausing policy, resolution due Tue 16:30
    make_policy()
    ticket = answered_ticket(people)
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 16, 30)
    # when it goes on hold Tue 10:00 (90 business min used) …
    ticket = move(ticket, "on_hold", berlin(2026, 11, 24, 10))
    # … then the clock is stopped: no due time, no SLA state
    assert ticket.resolution_due_at is None
    assert state_at(ticket, berlin(2026, 11, 25, 9, 30)) == SLAState.NONE
    # when it is back open Wed 10:00 (paused Tue 10–17 + Wed 9–10 = 480 business min)
    ticket = move(ticket, "open", berlin(2026, 11, 25, 10))
    # then the due time moves by those 480 min = one business day: Wed 16:30
    # (390 min left: Wed 10:00 + 390 min = 16:30)
    assert ticket.resolution_due_at == berlin(2026, 11, 25, 16, 30)


def test_pending_then_on_hold_is_one_continuous_pause(people):
    # given pending Tue 10:00, on hold Tue 14:00, open again Wed 10:00
    make_policy()
    ticket = open_ticket(people)
    ticket = move(ticket, "pending", berlin(2026, 11, 24, 10))
    ticket = move(ticket, "on_hold", berlin(2026, 11, 24, 14))
    # then the clock is still stopped while on hold
    assert ticket.resolution_due_at is None
    ticket = move(ticket, "open", berlin(2026, 11, 25, 10))
    # and the whole Tue 10:00 → Wed 10:00 span (480 business min) pushed the due time back
    assert ticket.resolution_due_at == berlin(2026, 11, 25, 16, 30)


def test_solving_after_an_on_hold_pause_is_measured_against_the_pushed_back_due_time(people):
    # given 480 business min on hold, then solved Wed 15:00 (after the unpaused Tue 16:30 due)
    make_policy()
    ticket = open_ticket(people)
    move(ticket, "on_hold", berlin(2026, 11, 24, 10))
    move(ticket, "open", berlin(2026, 11, 25, 10))
    ticket = move(ticket, "solved", berlin(2026, 11, 25, 15))
    # then the resolution SLA is met (due Wed 16:30)
    assert ticket.sla_resolution_met is True


def test_on_hold_keeps_the_clock_running_when_the_policy_does_not_pause(people):
    # given a policy that does not pause
    make_policy(pause_on_pending=False)
    ticket = answered_ticket(people)
    # when the ticket is on hold from Tue 10:00
    ticket = move(ticket, "on_hold", berlin(2026, 11, 24, 10))
    # then the due time stays Tue 16:30 and the on-hold ticket breaches like any other
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 16, 30)
    assert state_at(ticket, berlin(2026, 11, 24, 16)) == SLAState.BREACHING_SOON
    assert state_at(ticket, berlin(2026, 11, 24, 16, 31)) == SLAState.BREACHED
    escalations = run_at(berlin(2026, 11, 24, 16, 31))
    assert [(e.ticket_id, e.clock, e.level) for e in escalations if e.clock == "resolution"] == [
        (ticket.pk, "resolution", BREACHED)
    ]


def test_a_customer_message_does_not_take_a_ticket_off_hold(people):
    make_policy()
    ticket = open_ticket(people)
    move(ticket, "on_hold", berlin(2026, 11, 24, 10))
    ticket_message_add(
        ticket=ticket, body="Any news?", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    ticket.refresh_from_db()
    assert ticket.status == "on_hold"
    assert ticket.resolution_due_at is None


# --- next-response clock -----------------------------------------------------------------------


def answered_ticket(people) -> Ticket:
    """Opened Mon 16:30, first response Tue 9:15."""
    agent, _manager, _team = people
    ticket = open_ticket(people)
    ticket_message_add(
        ticket=ticket,
        body="On it.",
        author_kind=AGENT,
        author_user=agent,
        at=berlin(2026, 11, 24, 9, 15),
    )
    ticket.refresh_from_db()
    return ticket


def test_no_next_response_clock_before_the_first_response(people):
    # given a ticket not answered yet, when the customer writes again
    make_policy()
    ticket = open_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Hello?", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 9)
    )
    ticket.refresh_from_db()
    # then only the first-response clock runs
    assert ticket.next_response_due_at is None
    assert ticket.first_response_due_at is not None


def test_customer_message_after_the_first_response_starts_the_next_response_clock(people):
    make_policy()
    ticket = answered_ticket(people)
    assert ticket.next_response_due_at is None
    # when the customer writes Tue 11:00
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    ticket.refresh_from_db()
    # then the next reply is due 120 business min later: Tue 13:00
    assert ticket.next_response_due_at == berlin(2026, 11, 24, 13)
    # when the customer writes again Tue 12:00, the earliest unanswered message still counts
    ticket_message_add(
        ticket=ticket, body="Hello??", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 12)
    )
    ticket.refresh_from_db()
    assert ticket.next_response_due_at == berlin(2026, 11, 24, 13)


def test_next_response_due_time_runs_on_business_hours(people):
    make_policy()
    ticket = answered_ticket(people)
    # when the customer writes Tue 16:00 (60 business min left that day)
    ticket_message_add(
        ticket=ticket, body="Update?", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 16)
    )
    ticket.refresh_from_db()
    # then 60 min Tue + 60 min Wed → Wed 10:00
    assert ticket.next_response_due_at == berlin(2026, 11, 25, 10)


def test_the_agents_public_reply_clears_the_next_response_clock_and_a_note_does_not(people):
    agent, _manager, _team = people
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    # when the agent writes an internal note
    ticket_message_add(
        ticket=ticket,
        body="Ask facilities",
        author_kind=AGENT,
        author_user=agent,
        is_public=False,
        at=berlin(2026, 11, 24, 11, 30),
    )
    ticket.refresh_from_db()
    # then the customer still waits
    assert ticket.next_response_due_at == berlin(2026, 11, 24, 13)
    # when the agent replies publicly
    ticket_message_add(
        ticket=ticket,
        body="Extinguisher sent",
        author_kind=AGENT,
        author_user=agent,
        at=berlin(2026, 11, 24, 12),
    )
    ticket.refresh_from_db()
    # then the clock is cleared, and the next customer message starts a new one
    assert ticket.next_response_due_at is None
    ticket_message_add(
        ticket=ticket, body="Thanks, but", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 14)
    )
    ticket.refresh_from_db()
    assert ticket.next_response_due_at == berlin(2026, 11, 24, 16)


def test_no_next_response_clock_without_a_target_or_once_solved(people):
    # given a policy without a next-response target
    make_policy(next_response_minutes=None)
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    ticket.refresh_from_db()
    assert ticket.next_response_due_at is None


def test_solving_stops_the_next_response_clock(people):
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    ticket = move(ticket, "solved", berlin(2026, 11, 24, 11, 30))
    assert ticket.next_response_due_at is None


def test_a_customer_reply_to_a_pending_ticket_reopens_it_and_starts_the_next_response_clock(people):
    make_policy()
    ticket = answered_ticket(people)
    move(ticket, "pending", berlin(2026, 11, 24, 9, 20))
    ticket_message_add(
        ticket=ticket, body="Here is the photo", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 10)
    )
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.next_response_due_at == berlin(2026, 11, 24, 12)


def test_next_response_breach_shows_in_the_queue_state(people):
    # given a next response due Tue 13:00 (the resolution is due Tue 16:30, far off)
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    # then: on track at 11:30, breaching soon within the 60-min window, breached after 13:00
    assert state_at(ticket, berlin(2026, 11, 24, 11, 30)) == SLAState.ON_TRACK
    assert state_at(ticket, berlin(2026, 11, 24, 12, 30)) == SLAState.BREACHING_SOON
    assert state_at(ticket, berlin(2026, 11, 24, 13, 1)) == SLAState.BREACHED


def test_next_response_breach_is_escalated_once_per_level(people):
    agent, manager, _team = people
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    # when the beat task runs inside the warning window, then after the due time, then again
    warned = run_at(berlin(2026, 11, 24, 12, 30))
    breached = run_at(berlin(2026, 11, 24, 13, 5))
    again = run_at(berlin(2026, 11, 24, 13, 10))
    # then one warning and one breach for the next-response clock, nothing the third time
    assert [(e.clock, e.level) for e in warned] == [(NEXT_RESPONSE_CLOCK, WARNING)]
    assert [(e.clock, e.level) for e in breached] == [(NEXT_RESPONSE_CLOCK, BREACHED)]
    assert again == []
    assert breached[0].due_at == berlin(2026, 11, 24, 13)
    # and the assignee and the team manager were notified of the breach
    titles = Notification.objects.filter(title__contains="SLA breached").values_list(
        "user_id", "title"
    )
    assert sorted(user_id for user_id, _title in titles) == sorted([agent.pk, manager.pk])
    assert all("Next response" in title for _user, title in titles)


def test_a_later_next_response_cycle_is_escalated_again(people):
    agent, _manager, _team = people
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    first = run_at(berlin(2026, 11, 24, 13, 5))
    # the agent answers, the customer writes again: a new cycle due two business hours later
    ticket_message_add(
        ticket=ticket, body="On it", author_kind=AGENT, author_user=agent,
        at=berlin(2026, 11, 24, 13, 10),
    )  # fmt: skip
    ticket_message_add(
        ticket=ticket, body="Still not fixed", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 14)
    )
    second = run_at(berlin(2026, 11, 24, 16, 5))

    assert [(e.clock, e.level) for e in first] == [(NEXT_RESPONSE_CLOCK, BREACHED)]
    next_breaches = [e for e in second if e.clock == NEXT_RESPONSE_CLOCK and e.level == BREACHED]
    assert [e.due_at for e in next_breaches] == [berlin(2026, 11, 24, 16)]


def test_an_answered_customer_message_is_not_escalated(people):
    agent, _manager, _team = people
    make_policy()
    ticket = answered_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Still burning", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 11)
    )
    ticket_message_add(
        ticket=ticket,
        body="Coming",
        author_kind=AGENT,
        author_user=agent,
        at=berlin(2026, 11, 24, 11, 10),
    )
    assert [e for e in run_at(berlin(2026, 11, 24, 13, 5)) if e.clock == NEXT_RESPONSE_CLOCK] == []

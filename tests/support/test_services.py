# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from support.models import Ticket, TicketMessage, TicketStatusChange
from support.services import (
    sla_policy_for,
    ticket_assign,
    ticket_create,
    ticket_mark_spam,
    ticket_merge,
    ticket_message_add,
    ticket_status_change,
    ticket_update,
)
from tests.customers.factories import (
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)
from tests.support.factories import SLAPolicyFactory, business_week_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
AGENT, CUSTOMER = TicketMessage.AuthorKind.AGENT, TicketMessage.AuthorKind.CUSTOMER


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


MONDAY_1630 = berlin(2026, 11, 23, 16, 30)


@pytest.fixture
def office():
    return business_week_schedule()


@pytest.fixture
def policy(office):
    """1 business hour to first reply, 8 business hours to resolve, paused while pending."""
    return SLAPolicyFactory(
        schedule=office, first_response_minutes=60, resolution_minutes=480, pause_on_pending=True
    )


@pytest.fixture
def agent():
    return UserFactory(role="Support agent")


def open_ticket(**kwargs) -> Ticket:
    defaults = {"customer": CustomerFactory(), "subject": "Printer on fire", "body": "Help!"}
    return ticket_create(**{**defaults, "created_at": MONDAY_1630, **kwargs})


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- creation -------------------------------------------------------------------------------


def test_the_body_becomes_the_first_customer_message_and_due_times_are_set(policy):
    ticket = open_ticket()
    message = ticket.messages.get()
    assert (message.author_kind, message.body, message.created_at) == (
        CUSTOMER,
        "Help!",
        MONDAY_1630,
    )
    assert ticket.status == Ticket.Status.NEW
    assert ticket.sla_policy == policy
    # 30 min on Monday (16:30–17:00) + 30 on Tuesday → Tuesday 09:30
    assert ticket.first_response_due_at == berlin(2026, 11, 24, 9, 30)
    # 30 on Monday + 450 on Tuesday → Tuesday 16:30
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 16, 30)


def test_bad_input_is_refused_and_nothing_written():
    other_contact = ContactFactory()
    with pytest.raises(ValidationError) as refused:
        open_ticket(priority="asap", contact=other_contact, subject=" ")
    assert set(refused.value.message_dict) == {"priority", "contact", "subject"}
    assert not Ticket.objects.exists()


def test_a_naive_time_is_refused():
    with pytest.raises(ValidationError, match="time zone"):
        open_ticket(created_at=dt.datetime(2026, 11, 23, 9))  # noqa: DTZ001


# --- first response -------------------------------------------------------------------------


def test_notes_and_automated_messages_are_not_a_first_response(policy, agent):
    ticket = open_ticket()
    ticket_message_add(
        ticket=ticket,
        body="internal",
        author_kind=AGENT,
        author_user=agent,
        is_public=False,
        at=berlin(2026, 11, 23, 16, 40),
    )
    ticket_message_add(
        ticket=ticket,
        body="We got it",
        author_kind=AGENT,
        automated=True,
        at=berlin(2026, 11, 23, 16, 41),
    )
    ticket = reload(ticket)
    assert ticket.first_response_at is None
    assert ticket.public_agent_replies == 0
    assert ticket.status == Ticket.Status.NEW


def test_the_first_public_agent_reply_stops_the_clock(policy, agent):
    # given a ticket created Monday 16:30
    ticket = open_ticket()
    # when the agent replies Tuesday 09:15
    ticket_message_add(
        ticket=ticket,
        body="On it",
        author_kind=AGENT,
        author_user=agent,
        at=berlin(2026, 11, 24, 9, 15),
    )
    ticket = reload(ticket)
    assert ticket.first_response_at == berlin(2026, 11, 24, 9, 15)
    # business: 30 (Mon) + 15 (Tue) = 45; calendar: 16h45 = 1005
    assert ticket.first_response_business_minutes == 45
    assert ticket.first_response_calendar_minutes == 1005
    assert ticket.sla_first_response_met is True
    assert ticket.public_agent_replies == 1
    # an agent public reply on a new ticket opens it, recorded in the history
    assert ticket.status == Ticket.Status.OPEN
    assert list(ticket.status_changes.values_list("from_status", "to_status")) == [("new", "open")]


def test_a_late_first_reply_misses_the_sla_and_later_replies_do_not_move_it(policy, agent):
    ticket = open_ticket()
    ticket_message_add(ticket=ticket, body="Sorry", author_kind=AGENT, at=berlin(2026, 11, 24, 11))
    ticket_message_add(ticket=ticket, body="More", author_kind=AGENT, at=berlin(2026, 11, 24, 12))
    ticket = reload(ticket)
    assert ticket.first_response_at == berlin(2026, 11, 24, 11)
    # 30 + 120 = 150 business minutes > 60 target
    assert ticket.first_response_business_minutes == 150
    assert ticket.sla_first_response_met is False
    assert ticket.public_agent_replies == 2


def test_an_agent_opened_ticket_starts_its_clock_at_the_customer_answer(policy, agent):
    # given an agent opens a ticket with an outbound message Monday 16:30
    ticket = open_ticket(opened_by_agent=True, author=agent)
    opening = ticket.messages.get()
    assert (opening.author_kind, opening.author_user) == (AGENT, agent)
    assert ticket.first_response_due_at is None
    # an agent follow-up before the customer answered is not a response
    ticket_message_add(
        ticket=ticket, body="Ping", author_kind=AGENT, at=berlin(2026, 11, 23, 16, 45)
    )
    assert reload(ticket).first_response_at is None
    # when the customer answers Tuesday 10:00 and the agent replies Tuesday 10:20
    ticket_message_add(
        ticket=ticket, body="Here", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 10)
    )
    assert reload(ticket).first_response_due_at == berlin(2026, 11, 24, 11)
    ticket_message_add(
        ticket=ticket, body="Thx", author_kind=AGENT, at=berlin(2026, 11, 24, 10, 20)
    )
    ticket = reload(ticket)
    # then the first response took 20 minutes from the customer's answer
    assert ticket.first_response_at == berlin(2026, 11, 24, 10, 20)
    assert ticket.first_response_business_minutes == 20
    assert ticket.sla_first_response_met is True
    # the opening message is not a reply; "Ping" and "Thx" are
    assert ticket.public_agent_replies == 2


def test_without_any_schedule_minutes_are_calendar_minutes():
    ticket = open_ticket()
    ticket_message_add(ticket=ticket, body="Hi", author_kind=AGENT, at=berlin(2026, 11, 24, 9, 15))
    ticket = reload(ticket)
    # no policy, no default schedule: 16h45 = 1005 both ways, no SLA verdict
    assert ticket.first_response_business_minutes == ticket.first_response_calendar_minutes == 1005
    assert ticket.sla_policy is None
    assert ticket.sla_first_response_met is None


def test_without_a_policy_the_default_schedule_measures_business_minutes():
    business_week_schedule(name="Default", is_default=True)
    ticket = open_ticket()
    ticket_message_add(ticket=ticket, body="Hi", author_kind=AGENT, at=berlin(2026, 11, 24, 9, 15))
    assert reload(ticket).first_response_business_minutes == 45


# --- status machine -------------------------------------------------------------------------


def test_an_impossible_transition_is_refused_and_nothing_written(policy):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 10))
    with pytest.raises(ValidationError, match="cannot go from Solved to Pending"):
        ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 24, 11))
    assert reload(ticket).status == Ticket.Status.SOLVED
    assert TicketStatusChange.objects.filter(ticket=ticket).count() == 1


def test_a_closed_ticket_cannot_change_status():
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="closed", at=berlin(2026, 11, 24, 10))
    with pytest.raises(ValidationError, match="closed"):
        ticket_status_change(ticket=ticket, to_status="open")


def test_an_agent_reply_on_a_closed_ticket_is_refused(agent):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="closed", at=berlin(2026, 11, 24, 10))
    with pytest.raises(ValidationError, match="ticket is closed"):
        ticket_message_add(ticket=ticket, body="Late", author_kind=AGENT, author_user=agent)
    assert ticket.messages.count() == 1


def test_a_customer_message_on_a_closed_ticket_opens_a_follow_up():
    ticket = open_ticket(priority="high")
    ticket_status_change(ticket=ticket, to_status="closed", at=berlin(2026, 11, 24, 10))
    message = ticket_message_add(
        ticket=ticket, body="Again!", author_kind=CUSTOMER, at=berlin(2026, 11, 30, 9)
    )
    follow_up = message.ticket
    assert follow_up.pk != ticket.pk
    assert follow_up.follow_up_of_id == ticket.pk
    assert (follow_up.status, follow_up.priority, follow_up.created_at) == (
        "new",
        "high",
        berlin(2026, 11, 30, 9),
    )
    assert reload(ticket).status == Ticket.Status.CLOSED
    assert reload(ticket).reopen_count == 0


def test_a_customer_message_on_a_pending_ticket_reopens_without_counting(policy):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 24, 9))
    ticket_message_add(
        ticket=ticket, body="Answer", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 10)
    )
    ticket = reload(ticket)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.reopen_count == 0


def test_a_customer_message_on_a_solved_ticket_reopens_it(policy):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 9))
    ticket_message_add(
        ticket=ticket, body="Not fixed", author_kind=CUSTOMER, at=berlin(2026, 11, 24, 10)
    )
    ticket = reload(ticket)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.reopen_count == 1
    last = ticket.status_changes.latest("changed_at")
    assert (last.from_status, last.to_status, last.changed_at) == (
        "solved",
        "open",
        berlin(2026, 11, 24, 10),
    )


# --- solving and resolution -----------------------------------------------------------------


def test_solving_twice_keeps_the_first_and_measures_to_the_last(policy, agent):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 10))
    ticket_status_change(ticket=ticket, to_status="open", at=berlin(2026, 11, 24, 11))
    ticket_status_change(
        ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 12), actor=agent
    )
    ticket = reload(ticket)
    assert ticket.first_solved_at == berlin(2026, 11, 24, 10)
    assert ticket.last_solved_at == berlin(2026, 11, 24, 12)
    assert ticket.reopen_count == 1
    # Monday 16:30–17:00 (30) + Tuesday 09:00–12:00 (180) = 210; calendar 19h30 = 1170
    assert ticket.resolution_business_minutes == 210
    assert ticket.resolution_calendar_minutes == 1170
    assert ticket.sla_resolution_met is True


def test_pending_time_extends_the_resolution_due_time_but_counts_in_resolution(policy):
    ticket = open_ticket()
    # due without pauses: Tuesday 16:30 (see creation test)
    ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 24, 9))
    # while pending the resolution clock is stopped
    assert reload(ticket).resolution_due_at is None
    ticket_status_change(ticket=ticket, to_status="open", at=berlin(2026, 11, 24, 12))
    # 180 business minutes pending push the due time from Tue 16:30 to Wed 11:30 (30 + 150)
    assert reload(ticket).resolution_due_at == berlin(2026, 11, 25, 11, 30)
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 25, 10))
    ticket = reload(ticket)
    # resolution includes pending time: 30 + 480 + 60 = 570 > 480 target, yet the SLA is met
    assert ticket.resolution_business_minutes == 570
    assert ticket.sla_resolution_met is True


def test_a_policy_that_does_not_pause_keeps_its_due_time(office):
    SLAPolicyFactory(
        schedule=office, first_response_minutes=60, resolution_minutes=480, pause_on_pending=False
    )
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 24, 9))
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 25, 10))
    ticket = reload(ticket)
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 16, 30)
    assert ticket.sla_resolution_met is False


def test_closing_an_unsolved_ticket_counts_as_its_resolution(policy):
    ticket = open_ticket()
    ticket_status_change(ticket=ticket, to_status="closed", at=berlin(2026, 11, 24, 10))
    ticket = reload(ticket)
    assert ticket.closed_at == ticket.last_solved_at == ticket.first_solved_at
    assert ticket.resolution_business_minutes == 90  # 30 + 60


def test_a_status_change_before_creation_is_refused():
    ticket = open_ticket()
    with pytest.raises(ValidationError, match="before the ticket was created"):
        ticket_status_change(ticket=ticket, to_status="open", at=berlin(2026, 11, 1))


# --- SLA policy choice ----------------------------------------------------------------------


def test_the_first_matching_active_policy_by_position_wins(office):
    team = TeamFactory()
    segment = SegmentFactory()
    customer = CustomerFactory(segment=segment)
    SLAPolicyFactory(name="inactive", schedule=office, position=0, is_active=False)
    urgent = SLAPolicyFactory(name="urgent", schedule=office, position=1, priority="urgent")
    team_rule = SLAPolicyFactory(name="team", schedule=office, position=2, team=team)
    both = SLAPolicyFactory(name="seg", schedule=office, position=3, segment=segment)
    fallback = SLAPolicyFactory(name="any", schedule=office, position=9)

    assert sla_policy_for(Ticket(customer=customer, priority="urgent")) == urgent
    assert sla_policy_for(Ticket(customer=customer, priority="low", team=team)) == team_rule
    assert sla_policy_for(Ticket(customer=customer, priority="low")) == both
    assert sla_policy_for(Ticket(customer=CustomerFactory(), priority="low")) == fallback


def test_no_matching_policy_means_no_policy(office):
    SLAPolicyFactory(schedule=office, priority="urgent")
    assert sla_policy_for(Ticket(customer=CustomerFactory(), priority="low")) is None


def test_assigning_to_another_team_re_evaluates_the_policy(office, agent):
    team = TeamFactory()
    team_policy = SLAPolicyFactory(
        schedule=office, team=team, position=0, first_response_minutes=30
    )
    ticket = open_ticket(assignee=agent)
    assert ticket.sla_policy is None
    ticket = ticket_assign(ticket=ticket, team=team)
    assert ticket.sla_policy == team_policy
    assert ticket.first_response_due_at == berlin(2026, 11, 23, 17)
    # assignee None sends the ticket back to the team queue
    assert ticket.assignee is None
    assert reload(ticket).team == team


def test_changing_priority_re_evaluates_the_policy(office):
    urgent = SLAPolicyFactory(schedule=office, priority="urgent")
    ticket = open_ticket()
    ticket = ticket_update(ticket=ticket, priority="urgent")
    assert reload(ticket).sla_policy == urgent
    with pytest.raises(ValidationError):
        ticket_update(ticket=ticket, status="solved")


# --- spam and merge -------------------------------------------------------------------------


def test_spam_is_closed_without_a_resolution():
    ticket = ticket_mark_spam(ticket=open_ticket())
    assert (ticket.is_spam, ticket.status) == (True, Ticket.Status.CLOSED)
    assert ticket.last_solved_at is None
    assert not ticket.counts_in_kpis
    with pytest.raises(ValidationError, match="already"):
        ticket_mark_spam(ticket=ticket)


def test_merging_closes_the_duplicate_and_notes_both():
    customer = CustomerFactory()
    into = open_ticket(customer=customer)
    duplicate = open_ticket(customer=customer, subject="Same again")
    result = ticket_merge(duplicate=duplicate, into=into)
    duplicate = reload(duplicate)
    assert result.pk == into.pk
    assert duplicate.merged_into_id == into.pk
    assert duplicate.status == Ticket.Status.CLOSED
    assert duplicate.last_solved_at is None
    assert into.messages.filter(author_kind="system", is_public=False).count() == 1
    with pytest.raises(ValidationError, match="already merged"):
        ticket_merge(duplicate=duplicate, into=into)


def test_merge_refusals():
    ticket = open_ticket()
    with pytest.raises(ValidationError, match="itself"):
        ticket_merge(duplicate=ticket, into=ticket)
    with pytest.raises(ValidationError, match="same customer"):
        ticket_merge(duplicate=open_ticket(), into=ticket)
    closed = open_ticket(customer=ticket.customer)
    ticket_status_change(ticket=closed, to_status="closed", at=berlin(2026, 11, 24))
    with pytest.raises(ValidationError, match="closed ticket"):
        ticket_merge(duplicate=ticket, into=closed)
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_a_customer_cannot_write_an_internal_note():
    ticket = open_ticket()
    with pytest.raises(ValidationError) as refused:
        ticket_message_add(ticket=ticket, body="psst", author_kind=CUSTOMER, is_public=False)
    assert "is_public" in refused.value.message_dict


def test_a_customer_writing_to_a_merged_duplicate_reaches_the_merged_ticket():
    customer = CustomerFactory()
    into = open_ticket(customer=customer)
    duplicate = open_ticket(customer=customer)
    ticket_merge(duplicate=duplicate, into=into)
    message = ticket_message_add(ticket=duplicate, body="Any news?", author_kind=CUSTOMER)
    assert message.ticket_id == into.pk
    assert not Ticket.objects.filter(follow_up_of=duplicate).exists()


def test_an_event_on_a_long_lived_ticket_costs_a_constant_number_of_queries(
    policy, django_assert_max_num_queries
):
    # given a ticket opened a year earlier that went pending and back 30 times
    ticket = open_ticket(created_at=berlin(2025, 11, 24, 9))
    for week in range(30):
        start = berlin(2025, 12, 1, 9) + dt.timedelta(weeks=week)
        ticket_status_change(ticket=ticket, to_status="pending", at=start)
        ticket_status_change(ticket=ticket, to_status="open", at=start + dt.timedelta(days=1))
    # when it is solved a year later, with the 365-day business-time walk
    with django_assert_max_num_queries(9):
        ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 23, 12))
    ticket = reload(ticket)
    # then the schedule was read once, not per day, and the pauses pushed the due time
    assert (ticket.resolution_business_minutes or 0) > 480
    assert ticket.resolution_due_at is not None
    assert ticket.sla_resolution_met is False


def test_spam_and_merge_can_be_dated_for_imports():
    customer = CustomerFactory()
    spam = ticket_mark_spam(ticket=open_ticket(customer=customer), at=berlin(2026, 11, 24, 8))
    assert spam.closed_at == berlin(2026, 11, 24, 8)
    into, duplicate = open_ticket(customer=customer), open_ticket(customer=customer)
    ticket_merge(duplicate=duplicate, into=into, at=berlin(2026, 11, 24, 9))
    assert reload(duplicate).closed_at == berlin(2026, 11, 24, 9)
    assert into.messages.get(author_kind="system").created_at == berlin(2026, 11, 24, 9)

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""SLA escalation with a frozen clock: warning, breach, once per clock, pause on pending,
policy actions, and the automatic close of solved tickets."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from crm.models import Notification
from support.models import SLAEscalation, Ticket, TicketMessage
from support.services import (
    sla_escalations_run,
    ticket_create,
    ticket_message_add,
    ticket_status_change,
    tickets_auto_close,
)
from support.tasks import BEAT_ENTRIES, beat_schedule_install, sla_escalations_run_task
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import SLAPolicyFactory, business_week_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
AGENT = TicketMessage.AuthorKind.AGENT
FIRST, RESOLUTION = SLAEscalation.Clock.FIRST_RESPONSE, SLAEscalation.Clock.RESOLUTION
WARNING, BREACHED = SLAEscalation.Level.WARNING, SLAEscalation.Level.BREACHED


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


# Monday 16:30; Mon–Fri 9–17 → first response (60 min) due Tue 9:30, resolution (480) Tue 16:30.
MONDAY_1630 = berlin(2026, 11, 23, 16, 30)


@pytest.fixture
def policy():
    return SLAPolicyFactory(
        schedule=business_week_schedule(),
        first_response_minutes=60,
        resolution_minutes=480,
        pause_on_pending=True,
        warning_minutes=60,
    )


@pytest.fixture
def people():
    manager = UserFactory(username="manager")
    agent = UserFactory(username="agent")
    team = TeamFactory(name="Helpdesk", manager=manager)
    team.members.add(agent)
    return agent, manager, team


def open_ticket(people, **kwargs) -> Ticket:
    agent, _manager, team = people
    return ticket_create(
        customer=CustomerFactory(),
        subject="Printer on fire",
        body="Help!",
        team=team,
        assignee=agent,
        created_at=MONDAY_1630,
        **kwargs,
    )


def run_at(moment: dt.datetime) -> list[SLAEscalation]:
    with time_machine.travel(moment, tick=False):
        return sla_escalations_run()


def escalated(ticket: Ticket) -> list[tuple[str, str]]:
    return list(
        SLAEscalation.objects.filter(ticket=ticket)
        .order_by("notified_at", "id")
        .values_list("clock", "level")
    )


def test_due_times_on_the_business_schedule(policy, people):
    ticket = open_ticket(people)
    assert ticket.first_response_due_at == berlin(2026, 11, 24, 9, 30)
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 16, 30)


def test_warning_then_breach_each_notified_once(policy, people):
    agent, manager, _team = people
    ticket = open_ticket(people)
    # Monday evening: 16 h before the due time (calendar) → nothing
    assert run_at(berlin(2026, 11, 23, 17, 5)) == []
    # Tuesday 8:45, inside the 60-minute window before 9:30 → "breaching soon", twice run
    assert len(run_at(berlin(2026, 11, 24, 8, 45))) == 1
    assert run_at(berlin(2026, 11, 24, 8, 50)) == []
    # Tuesday 9:31 → breached, once
    assert len(run_at(berlin(2026, 11, 24, 9, 31))) == 1
    assert run_at(berlin(2026, 11, 24, 9, 40)) == []
    assert escalated(ticket) == [(FIRST, WARNING), (FIRST, BREACHED)]
    # the assignee and the team manager got one notification per escalation: 2 × 2
    notes = Notification.objects.filter(kind=Notification.Kind.ALERT)
    assert sorted(notes.values_list("user__username", flat=True)) == [
        "agent",
        "agent",
        "manager",
        "manager",
    ]
    breach = SLAEscalation.objects.get(level=BREACHED)
    assert set(breach.notified_users.values_list("pk", flat=True)) == {agent.pk, manager.pk}
    assert breach.due_at == berlin(2026, 11, 24, 9, 30)
    assert notes.filter(title__startswith="SLA breached: First response").count() == 2


def test_a_clock_first_seen_breached_is_not_also_warned(policy, people):
    ticket = open_ticket(people)
    run_at(berlin(2026, 11, 24, 10, 0))
    assert escalated(ticket) == [(FIRST, BREACHED)]


def test_answered_ticket_has_no_first_response_escalation(policy, people):
    agent, _manager, _team = people
    ticket = open_ticket(people)
    ticket_message_add(
        ticket=ticket, body="On it", author_kind=AGENT, author_user=agent, at=MONDAY_1630
    )
    # Tue 15:45: resolution (due 16:30) is breaching soon; first response was met
    run_at(berlin(2026, 11, 24, 15, 45))
    assert escalated(ticket) == [(RESOLUTION, WARNING)]


def test_pending_pauses_the_resolution_clock(policy, people):
    agent, _manager, _team = people
    ticket = open_ticket(people)
    ticket_message_add(
        ticket=ticket, body="Need info", author_kind=AGENT, author_user=agent, at=MONDAY_1630
    )
    # pending from Tue 9:00: 30 business minutes used, 450 left
    ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 24, 9))
    # Wednesday 12:00, long after the original 16:30 due time: the clock is stopped
    assert run_at(berlin(2026, 11, 25, 12)) == []
    # the customer answers Thursday 9:00 → due 450 business minutes later: Thu 16:30
    ticket_message_add(
        ticket=ticket, body="Here", author_kind="customer", at=berlin(2026, 11, 26, 9)
    )
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == berlin(2026, 11, 26, 16, 30)
    assert run_at(berlin(2026, 11, 26, 15, 0)) == []
    run_at(berlin(2026, 11, 26, 16, 31))
    assert escalated(ticket) == [(RESOLUTION, BREACHED)]


def test_solved_spam_and_policy_less_tickets_are_not_escalated(people):
    # no policy at all → no due times → nothing to escalate
    ticket = open_ticket(people)
    assert ticket.first_response_due_at is None
    assert run_at(berlin(2026, 12, 1, 12)) == []


def test_solved_ticket_is_not_escalated(policy, people):
    ticket = open_ticket(people)
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 9))
    assert run_at(berlin(2026, 11, 25, 12)) == []


def test_breach_actions_raise_priority_and_reassign(policy, people):
    # given a policy that escalates by raising priority and handing over to a senior
    senior = UserFactory(username="senior")
    policy.escalate_raise_priority = True
    policy.escalate_reassign_to = senior
    policy.save()
    ticket = open_ticket(people)
    # when the first response breaches
    [escalation] = run_at(berlin(2026, 11, 24, 10))
    # then the ticket is high priority, assigned to the senior, and the action is recorded
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee_id) == ("high", senior.pk)
    assert escalation.action == f"priority→high, assignee→{senior.pk}"
    # the assignee at the breach, the manager and the new assignee were notified
    assert set(escalation.notified_users.values_list("username", flat=True)) == {
        "agent",
        "manager",
        "senior",
    }


def test_escalation_emails_go_out_after_commit(policy, people):
    open_ticket(people)
    with time_machine.travel(berlin(2026, 11, 24, 10), tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):
            sla_escalations_run_task.delay()
    assert sorted(m.to[0] for m in mail.outbox) == ["agent@example.com", "manager@example.com"]


def test_query_count_does_not_grow_with_tickets(policy, people, django_assert_max_num_queries):
    for _ in range(15):
        open_ticket(people)
    with time_machine.travel(berlin(2026, 11, 24, 10), tick=False):
        with django_assert_max_num_queries(12):
            escalations = sla_escalations_run()
    assert len(escalations) == 15


# --- automatic close ---------------------------------------------------------------------------


def test_solved_tickets_close_after_the_configured_days(settings, people):
    settings.SUPPORT_AUTOCLOSE_DAYS = 7
    old = open_ticket(people)
    recent = open_ticket(people)
    ticket_status_change(ticket=old, to_status="solved", at=berlin(2026, 11, 24, 10))
    ticket_status_change(ticket=recent, to_status="solved", at=berlin(2026, 11, 28, 10))
    with time_machine.travel(berlin(2026, 12, 1, 10, 5), tick=False):
        assert tickets_auto_close() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == ("closed", "solved")
    assert old.closed_at == berlin(2026, 12, 1, 10, 5)
    # closing after the solve keeps the resolution time of the solve
    assert old.last_solved_at == berlin(2026, 11, 24, 10)


def test_auto_close_can_be_switched_off(settings, people):
    settings.SUPPORT_AUTOCLOSE_DAYS = 0
    ticket = open_ticket(people)
    ticket_status_change(ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 10))
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        assert tickets_auto_close() == 0


def test_support_beat_entries_install():
    from django_celery_beat.models import PeriodicTask

    beat_schedule_install()
    beat_schedule_install()
    tasks = PeriodicTask.objects.filter(name__in=[entry["name"] for entry in BEAT_ENTRIES])
    assert sorted(tasks.values_list("task", flat=True)) == [
        "support.tasks.sla_escalations_run_task",
        "support.tasks.tickets_auto_close_task",
    ]

# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""Invitations created by the beat task from triggers, sent by Celery, reminded once."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from crm.celery import app as celery_app
from customers.models import Customer
from sales.services import order_mark_delivered
from support.services import ticket_status_change
from surveys.models import Survey, SurveyInvitation, SurveyKind
from surveys.services import survey_invitations_create_due, survey_response_record
from surveys.tasks import (
    BEAT_ENTRIES,
    beat_schedule_install,
    survey_reminders_send_all,
)
from surveys.tasks import survey_invitations_create_all as create_all_task
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory
from tests.support.factories import TicketFactory
from tests.surveys import backends
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db

SOLVED = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)


@pytest.fixture
def csat():
    return SurveyFactory(
        name="After ticket",
        kind=SurveyKind.CSAT,
        trigger=Survey.Trigger.TICKET_SOLVED,
        question="How satisfied are you with our help?",
        delay_hours=24,
    )


def survey_invitations_create_all() -> int:
    """The beat task, with its on-commit send hooks run as a real commit would run them."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return create_all_task()


def solved_ticket(*, customer=None, at=SOLVED):
    ticket = TicketFactory(
        customer=customer or CustomerFactory(), created_at=at - dt.timedelta(hours=2)
    )
    return ticket_status_change(ticket=ticket, to_status="solved", at=at)


def test_solved_ticket_is_surveyed_after_the_delay_once(csat):
    # given a ticket solved at 10:00
    ticket = solved_ticket()
    # when the beat runs 23 h later, then nothing yet
    with time_machine.travel(SOLVED + dt.timedelta(hours=23), tick=False):
        assert survey_invitations_create_all() == 0
    # when it runs after the 24 h delay, twice
    with time_machine.travel(SOLVED + dt.timedelta(hours=24, minutes=5), tick=False):
        assert survey_invitations_create_all() == 1
        assert survey_invitations_create_all() == 0
    # then one invitation, sent by e-mail
    invitation = SurveyInvitation.objects.get()
    assert invitation.ticket_id == ticket.pk
    assert invitation.status == SurveyInvitation.Status.SENT
    assert invitation.sent_at == SOLVED + dt.timedelta(hours=24, minutes=5)
    assert invitation.expires_at == invitation.sent_at + dt.timedelta(days=14)
    assert len(mail.outbox) == 1


def test_invitation_email_has_text_html_and_one_link_per_score(csat):
    # given a solved ticket of a customer writing Chinese
    solved_ticket(customer=CustomerFactory(language="zh-hans", email="li@example.cn"))
    # when the beat task runs after the delay
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        survey_invitations_create_all()
    # then one message to the customer with plain text and an HTML alternative
    message = mail.outbox[0]
    invitation = SurveyInvitation.objects.get()
    assert message.to == ["li@example.cn"]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    # CSAT 1–5 → five links, each pre-selecting its score
    for body in (message.body, html):
        links = re.findall(r"https://crm\.example\.com/s/([\w-]+)/\?score=(\d+)", body)
        assert [score for _token, score in links] == ["1", "2", "3", "4", "5"]
        assert {token for token, _score in links} == {invitation.token}


def test_nps_invitation_has_eleven_links():
    # given a relationship NPS survey and an active customer
    SurveyFactory(kind=SurveyKind.NPS, trigger=Survey.Trigger.RELATIONSHIP)
    CustomerFactory(status=Customer.Status.ACTIVE)
    # when the beat runs
    survey_invitations_create_all()
    # then the e-mail carries scores 0..10
    scores = re.findall(r"\?score=(\d+)", mail.outbox[0].body)
    assert scores == [str(n) for n in range(11)]


def test_ticket_reopened_before_sending_is_not_surveyed(csat):
    # given a ticket solved, then reopened by the customer before the delay passed
    ticket = solved_ticket()
    ticket_status_change(ticket=ticket, to_status="open", at=SOLVED + dt.timedelta(hours=3))
    # when the beat runs after the delay
    with time_machine.travel(SOLVED + dt.timedelta(days=2), tick=False):
        created = survey_invitations_create_all()
    # then nobody is asked
    assert created == 0
    assert mail.outbox == []


def test_ticket_reopened_between_creation_and_send_is_withdrawn(csat):
    # given an invitation created for a solved ticket but not yet sent
    ticket = solved_ticket()
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        [invitation] = survey_invitations_create_due(survey=csat)
    # when the ticket is reopened before the send task runs
    ticket_status_change(
        ticket=ticket, to_status="open", at=SOLVED + dt.timedelta(days=1, minutes=2)
    )
    from surveys.tasks import survey_invitation_email_send

    sent = survey_invitation_email_send.delay(invitation_id=invitation.pk).get()
    # then nothing is sent and the invitation is gone
    assert sent is False
    assert mail.outbox == []
    assert not SurveyInvitation.objects.exists()


def test_one_invitation_per_resolution(csat):
    # given a ticket solved, surveyed, reopened and solved again 40 days later
    ticket = solved_ticket()
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        survey_invitations_create_all()
    ticket_status_change(ticket=ticket, to_status="open", at=SOLVED + dt.timedelta(days=39))
    ticket_status_change(ticket=ticket, to_status="solved", at=SOLVED + dt.timedelta(days=40))
    # when the beat runs after the second resolution's delay (the 30-day cooldown has passed)
    with time_machine.travel(SOLVED + dt.timedelta(days=41, minutes=1), tick=False):
        created = survey_invitations_create_all()
    # then the second resolution gets its own invitation: two in all
    assert created == 1
    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 2


def test_customer_within_cooldown_of_any_survey_is_not_asked(csat):
    # given a customer invited by another survey 10 days before (cooldown 30 days)
    customer = CustomerFactory()
    SurveyInvitationFactory(customer=customer, created_at=SOLVED - dt.timedelta(days=10))
    solved_ticket(customer=customer)
    # when the beat runs
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        created = survey_invitations_create_all()
    # then no new invitation
    assert created == 0


def test_one_invitation_per_customer_per_run(csat):
    # given one customer with two tickets solved the same day
    customer = CustomerFactory()
    solved_ticket(customer=customer)
    solved_ticket(customer=customer, at=SOLVED + dt.timedelta(minutes=30))
    # when the beat runs
    with time_machine.travel(SOLVED + dt.timedelta(days=2), tick=False):
        created = survey_invitations_create_all()
    # then one invitation (the cooldown applies within a run too)
    assert created == 1


@pytest.mark.parametrize("email", ["", "not-an-address"])
def test_customer_without_deliverable_email_is_not_asked(csat, email):
    # given the ticket of a customer whose address is missing or invalid
    solved_ticket(customer=CustomerFactory(email=email))
    # when the beat runs
    with time_machine.travel(SOLVED + dt.timedelta(days=2), tick=False):
        created = survey_invitations_create_all()
    # then nothing is created
    assert created == 0
    assert not SurveyInvitation.objects.exists()


def test_sampling_is_deterministic(csat):
    # given a 50 % sample and 40 tickets of different customers
    csat.sampling_rate = Decimal("0.5")
    csat.save()
    for _ in range(40):
        solved_ticket()
    # when the beat runs twice
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        first = survey_invitations_create_all()
        second = survey_invitations_create_all()
    # then some but not all are asked, and a ticket left out is not drawn again
    assert 5 < first < 35
    assert second == 0


def test_delivered_order_is_surveyed_after_seven_days():
    # given an order survey with a 7-day delay and an order delivered
    SurveyFactory(kind=SurveyKind.NPS, trigger=Survey.Trigger.ORDER_DELIVERED, delay_hours=7 * 24)
    order = OrderFactory(ordered_at=SOLVED - dt.timedelta(days=2))
    order_mark_delivered(order=order, at=SOLVED)
    # when the beat runs after 6 days, then after 7
    with time_machine.travel(SOLVED + dt.timedelta(days=6), tick=False):
        assert survey_invitations_create_all() == 0
    with time_machine.travel(SOLVED + dt.timedelta(days=7, minutes=1), tick=False):
        assert survey_invitations_create_all() == 1
        assert survey_invitations_create_all() == 0
    # then the order's customer is invited about that order
    assert SurveyInvitation.objects.get().order_id == order.pk


def test_relationship_survey_asks_active_customers_only():
    # given a relationship survey, an active customer and a prospect
    SurveyFactory(kind=SurveyKind.NPS, trigger=Survey.Trigger.RELATIONSHIP)
    active = CustomerFactory(status=Customer.Status.ACTIVE)
    CustomerFactory(status=Customer.Status.PROSPECT)
    # when the beat runs
    survey_invitations_create_all()
    # then only the active customer is invited
    assert list(SurveyInvitation.objects.values_list("customer_id", flat=True)) == [active.pk]


def test_inactive_survey_creates_nothing(csat):
    csat.is_active = False
    csat.save()
    solved_ticket()
    with time_machine.travel(SOLVED + dt.timedelta(days=2), tick=False):
        assert survey_invitations_create_all() == 0


def test_send_failure_marks_undeliverable_after_retries(csat, settings, request):
    # given a mail server that is down (and eager Celery running retries instead of raising them)
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    request.addfinalizer(lambda: setattr(celery_app.conf, "task_eager_propagates", previous))
    settings.EMAIL_BACKEND = "tests.surveys.backends.UnreachableSMTPBackend"
    backends.ATTEMPTS.clear()
    solved_ticket()
    # when the beat creates and sends the invitation
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        survey_invitations_create_all()
    # then the task tried 1 + 3 retries, then marked the invitation undeliverable
    assert len(backends.ATTEMPTS) == 4
    invitation = SurveyInvitation.objects.get()
    assert invitation.status == SurveyInvitation.Status.UNDELIVERABLE
    assert invitation.sent_at is None


def test_one_reminder_to_non_responders_after_five_days(csat):
    # given two invitations sent, one of them answered
    solved_ticket()
    solved_ticket()
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        survey_invitations_create_all()
    answered, silent = SurveyInvitation.objects.order_by("id")
    survey_response_record(invitation=answered, score=5, at=SOLVED + dt.timedelta(days=2))
    mail.outbox.clear()
    # when the reminder job runs after 4 days, then after 5 days, twice
    with time_machine.travel(SOLVED + dt.timedelta(days=5), tick=False):
        assert survey_reminders_send_all() == 0
    with time_machine.travel(SOLVED + dt.timedelta(days=6, minutes=2), tick=False):
        assert survey_reminders_send_all() == 1
        assert survey_reminders_send_all() == 0
    # then only the non-responder got one reminder, with the same links
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [silent.customer.email]
    assert "Reminder" in mail.outbox[0].subject
    assert silent.token in mail.outbox[0].body
    silent.refresh_from_db()
    assert silent.reminded_at == SOLVED + dt.timedelta(days=6, minutes=2)


def test_reminders_can_be_switched_off(csat):
    csat.reminder_days = None
    csat.save()
    solved_ticket()
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        survey_invitations_create_all()
    with time_machine.travel(SOLVED + dt.timedelta(days=10), tick=False):
        assert survey_reminders_send_all() == 0


def test_beat_schedule_install_is_idempotent():
    from django_celery_beat.models import PeriodicTask

    beat_schedule_install()
    beat_schedule_install()
    names = {entry["name"] for entry in BEAT_ENTRIES}
    tasks = PeriodicTask.objects.filter(name__in=names)
    assert tasks.count() == len(BEAT_ENTRIES)
    assert all(task.expire_seconds for task in tasks)


def test_invitation_creation_query_count(csat, django_assert_max_num_queries):
    # given 20 solved tickets
    for _ in range(20):
        solved_ticket()
    # when invitations are created, the queries do not grow with the number of tickets
    with time_machine.travel(SOLVED + dt.timedelta(days=1, minutes=1), tick=False):
        with django_assert_max_num_queries(6):
            created = survey_invitations_create_due(survey=csat)
    assert len(created) == 20


def test_schedule_command_installs_the_beat_entries():
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    out = StringIO()
    call_command("surveys_schedule", stdout=out)
    assert PeriodicTask.objects.filter(task="surveys.tasks.survey_reminders_send_all").exists()
    assert "installed: surveys: send reminders" in out.getvalue()

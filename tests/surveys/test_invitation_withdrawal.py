# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""Issue 5 "none for tickets reopened before sending", read strictly: an invitation is about one
resolution; if the ticket was reopened since (even if solved again), flagged spam or merged,
the pending invitation is withdrawn, and no reminder goes out while the ticket is open again."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from support.services import ticket_mark_spam, ticket_message_add, ticket_status_change
from surveys.models import Survey, SurveyInvitation, SurveyKind
from surveys.services import (
    survey_invitation_remind,
    survey_invitation_send,
    survey_invitations_create_due,
)
from surveys.tasks import survey_invitations_create_all as create_all_task
from tests.customers.factories import CustomerFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory

pytestmark = pytest.mark.django_db

SOLVED = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def csat():
    return SurveyFactory(
        name="After ticket",
        kind=SurveyKind.CSAT,
        trigger=Survey.Trigger.TICKET_SOLVED,
        question="How satisfied are you with our help?",
        delay_hours=24,
        cooldown_days=30,
    )


def solved_ticket():
    ticket = TicketFactory(customer=CustomerFactory(), created_at=SOLVED - dt.timedelta(hours=2))
    return ticket_status_change(ticket=ticket, to_status="solved", at=SOLVED)


def pending_invitation(survey) -> SurveyInvitation:
    with time_machine.travel(SOLVED + DAY + dt.timedelta(minutes=1), tick=False):
        [invitation] = survey_invitations_create_due(survey=survey)
    return invitation


def test_ticket_reopened_and_solved_again_before_sending_withdraws_the_old_invitation(csat):
    # given an invitation created for the first resolution, not sent yet
    ticket = solved_ticket()
    invitation = pending_invitation(csat)
    # when the ticket is reopened and solved again before the send task runs
    ticket_status_change(ticket=ticket, to_status="open", at=SOLVED + DAY + dt.timedelta(minutes=2))
    ticket_status_change(ticket=ticket, to_status="solved", at=SOLVED + DAY + dt.timedelta(hours=1))
    sent = survey_invitation_send(
        invitation_id=invitation.pk, at=SOLVED + DAY + dt.timedelta(hours=2)
    )
    # then nothing is sent about the old resolution and the invitation is gone …
    assert sent is False
    assert mail.outbox == []
    assert not SurveyInvitation.objects.exists()
    # … and the new resolution is surveyed once its own delay has passed (the withdrawn
    # invitation does not hold the customer in the cooldown)
    with time_machine.travel(SOLVED + 2 * DAY + dt.timedelta(hours=1, minutes=5), tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert create_all_task() == 1
    assert len(mail.outbox) == 1
    assert SurveyInvitation.objects.get().status == SurveyInvitation.Status.SENT


def test_ticket_flagged_spam_before_sending_is_not_surveyed(csat):
    ticket = solved_ticket()
    invitation = pending_invitation(csat)
    ticket_mark_spam(ticket=ticket, at=SOLVED + DAY + dt.timedelta(minutes=2))
    assert survey_invitation_send(invitation_id=invitation.pk) is False
    assert mail.outbox == []
    assert not SurveyInvitation.objects.exists()


def test_closing_a_solved_ticket_does_not_withdraw_its_invitation(csat):
    # solved → closed is the normal end of a resolution, not a reopen
    ticket = solved_ticket()
    invitation = pending_invitation(csat)
    ticket_status_change(
        ticket=ticket, to_status="closed", at=SOLVED + DAY + dt.timedelta(minutes=2)
    )
    assert survey_invitation_send(invitation_id=invitation.pk) is True
    assert len(mail.outbox) == 1


def test_no_reminder_while_the_ticket_is_reopened(csat):
    # given an invitation sent, then the customer replies and the ticket reopens
    ticket = solved_ticket()
    invitation = pending_invitation(csat)
    assert survey_invitation_send(
        invitation_id=invitation.pk, at=SOLVED + DAY + dt.timedelta(minutes=2)
    )
    ticket_message_add(
        ticket=ticket, body="It broke again", author_kind="customer", at=SOLVED + 2 * DAY
    )
    mail.outbox.clear()
    # when the reminder is due (5 days after sending)
    reminded = survey_invitation_remind(invitation_id=invitation.pk, at=SOLVED + 7 * DAY)
    # then no reminder goes out
    assert reminded is False
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert invitation.reminded_at is None


def test_reminder_still_goes_out_for_a_ticket_that_stayed_solved(csat):
    solved_ticket()
    invitation = pending_invitation(csat)
    survey_invitation_send(invitation_id=invitation.pk, at=SOLVED + DAY + dt.timedelta(minutes=2))
    mail.outbox.clear()
    assert survey_invitation_remind(invitation_id=invitation.pk, at=SOLVED + 7 * DAY) is True
    assert len(mail.outbox) == 1

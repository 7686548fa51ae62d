# mypy: disable-error-code="arg-type,attr-defined,misc"
"""A detractor (NPS 0–6) or an unhappy CSAT (1–2) becomes a task for someone, once."""

import datetime as dt

import pytest

from crm.models import Notification
from sales.models import Activity
from surveys.models import Survey, SurveyInvitation, SurveyKind
from surveys.services import survey_answer_submit
from tests.customers.factories import CustomerFactory, UserFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)


def invite(*, kind, owner=None, ticket_assignee=None):
    customer = CustomerFactory(owner=owner)
    ticket = TicketFactory(customer=customer, assignee=ticket_assignee) if ticket_assignee else None
    survey = SurveyFactory(
        kind=kind,
        trigger=Survey.Trigger.TICKET_SOLVED if ticket else Survey.Trigger.RELATIONSHIP,
    )
    return SurveyInvitationFactory(
        survey=survey,
        customer=customer,
        ticket=ticket,
        status=SurveyInvitation.Status.SENT,
        sent_at=AT - dt.timedelta(days=1),
        expires_at=AT + dt.timedelta(days=10),
    )


@pytest.mark.parametrize(
    ("kind", "score", "follows_up"),
    [
        ("nps", 0, True),
        ("nps", 6, True),
        ("nps", 7, False),
        ("nps", 10, False),
        ("csat", 1, True),
        ("csat", 2, True),
        ("csat", 3, False),
    ],
)
def test_negative_answers_create_a_task_for_the_owner(kind, score, follows_up):
    # given an invitation of a customer with an owner
    owner = UserFactory(email="owner@example.com")
    invitation = invite(kind=kind, owner=owner)
    # when the customer answers
    survey_answer_submit(invitation=invitation, score=score, comment="Meh", at=AT)
    # then a task and a notification exist exactly for the negative scores
    tasks = Activity.objects.filter(kind=Activity.Kind.TASK, owner=owner)
    assert tasks.count() == (1 if follows_up else 0)
    assert Notification.objects.filter(user=owner).count() == (1 if follows_up else 0)
    if follows_up:
        task = tasks.get()
        assert task.customer_id == invitation.customer_id
        assert task.due_at == AT + dt.timedelta(days=1)
        # The comment stays encrypted on the response: the task points to it, never copies it.
        assert "Meh" not in task.notes
        assert f"survey response {invitation.response.pk}" in task.notes
        assert Notification.objects.get(user=owner).body == ""
        assert SurveyKind(kind).name in task.subject


def test_without_an_owner_the_ticket_assignee_follows_up():
    agent = UserFactory()
    invitation = invite(kind=SurveyKind.CSAT, ticket_assignee=agent)
    survey_answer_submit(invitation=invitation, score=1, at=AT)
    task = Activity.objects.get()
    assert task.owner_id == agent.pk
    assert f"#{invitation.ticket_id}" in task.notes


def test_resubmitting_does_not_create_a_second_task():
    owner = UserFactory()
    invitation = invite(kind=SurveyKind.NPS, owner=owner)
    survey_answer_submit(invitation=invitation, score=2, at=AT)
    survey_answer_submit(invitation=invitation, score=3, at=AT + dt.timedelta(hours=1))
    assert Activity.objects.count() == 1
    assert Notification.objects.filter(user=owner).count() == 1


def test_nobody_to_follow_up_records_the_answer_anyway():
    invitation = invite(kind=SurveyKind.NPS)
    response = survey_answer_submit(invitation=invitation, score=0, at=AT)
    assert response.score == 0
    assert not Activity.objects.exists()

# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from surveys.models import SurveyInvitation, SurveyKind, SurveyResponse
from surveys.services import (
    survey_invitation_create,
    survey_invitations_mark_sent,
    survey_response_record,
)
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)


@pytest.fixture
def nps():
    return SurveyFactory(kind=SurveyKind.NPS, expiry_days=14)


@pytest.fixture
def csat():
    return SurveyFactory(kind=SurveyKind.CSAT, trigger="ticket_solved")


def test_an_invitation_expires_after_the_survey_expiry_days(nps):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(), at=SENT)
    assert invitation.status == SurveyInvitation.Status.PENDING
    assert invitation.created_at == SENT
    # 2 Nov + 14 days = 16 Nov
    assert invitation.expires_at == dt.datetime(2026, 11, 16, 10, tzinfo=dt.UTC)


def test_a_customer_without_email_gets_an_undeliverable_invitation(nps):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(email=""), at=SENT)
    assert invitation.status == SurveyInvitation.Status.UNDELIVERABLE


def test_an_inactive_survey_or_someone_elses_ticket_is_refused(nps, csat):
    nps.is_active = False
    nps.save()
    with pytest.raises(ValidationError, match="not active"):
        survey_invitation_create(survey=nps, customer=CustomerFactory())
    with pytest.raises(ValidationError) as refused:
        survey_invitation_create(survey=csat, customer=CustomerFactory(), ticket=TicketFactory())
    assert "ticket" in refused.value.message_dict
    assert not SurveyInvitation.objects.exists()


def test_a_response_copies_kind_customer_ticket_and_order_from_the_invitation(csat):
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)
    order = OrderFactory(customer=customer)
    invitation = survey_invitation_create(
        survey=csat, customer=customer, ticket=ticket, order=order, at=SENT
    )
    response = survey_response_record(
        invitation=invitation, score=4, comment="Quick", at=SENT + dt.timedelta(hours=2)
    )
    assert (response.kind, response.customer, response.ticket, response.order) == (
        "csat",
        customer,
        ticket,
        order,
    )
    assert response.survey == csat
    assert response.responded_at == SENT + dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("kind", "score", "message"),
    [
        ("nps", 11, "from 0 to 10 for NPS surveys"),
        ("csat", 0, "from 1 to 5 for CSAT surveys"),
        ("csat", 6, "from 1 to 5 for CSAT surveys"),
    ],
)
def test_a_score_outside_the_kind_range_is_refused(kind, score, message):
    survey = SurveyFactory(kind=kind)
    with pytest.raises(ValidationError, match=message):
        survey_response_record(survey=survey, customer=CustomerFactory(), score=score)
    assert not SurveyResponse.objects.exists()


def test_the_edges_of_each_range_are_accepted():
    customer = CustomerFactory()
    for kind, score in (("nps", 0), ("nps", 10), ("csat", 1), ("csat", 5)):
        survey = SurveyFactory(kind=kind)
        assert survey_response_record(survey=survey, customer=customer, score=score).score == score


def test_answering_again_updates_the_one_response_within_the_window(nps):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(), at=SENT)
    first = survey_response_record(invitation=invitation, score=3, at=SENT + dt.timedelta(days=1))
    second = survey_response_record(
        invitation=invitation, score=9, comment="Changed my mind", at=SENT + dt.timedelta(days=2)
    )
    assert second.pk == first.pk
    assert SurveyResponse.objects.count() == 1
    stored = SurveyResponse.objects.get()
    assert (stored.score, stored.comment) == (9, "Changed my mind")
    assert stored.responded_at == SENT + dt.timedelta(days=2)


def test_an_expired_link_cannot_answer_nor_change_the_answer(nps):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(), at=SENT)
    survey_response_record(invitation=invitation, score=3, at=SENT + dt.timedelta(days=1))
    # "now" matters here: the default `at` is the current time, 15 days after sending
    with (
        time_machine.travel(SENT + dt.timedelta(days=15)),
        pytest.raises(ValidationError, match="expired"),
    ):
        survey_response_record(invitation=invitation, score=10)
    assert SurveyResponse.objects.get().score == 3


def test_an_undeliverable_invitation_cannot_be_answered(nps):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(email=""), at=SENT)
    with pytest.raises(ValidationError, match="undeliverable"):
        survey_response_record(invitation=invitation, score=8, at=SENT)


def test_the_invitation_must_match_the_given_survey_and_customer(nps, csat):
    invitation = survey_invitation_create(survey=nps, customer=CustomerFactory(), at=SENT)
    with pytest.raises(ValidationError) as refused:
        survey_response_record(invitation=invitation, survey=csat, score=4, at=SENT)
    assert "survey" in refused.value.message_dict
    with pytest.raises(ValidationError, match="either an invitation"):
        survey_response_record(survey=nps, score=4)


def test_an_external_id_makes_imports_idempotent(nps):
    customer = CustomerFactory()
    first = survey_response_record(survey=nps, customer=customer, score=6, external_id="imp-1")
    again = survey_response_record(survey=nps, customer=customer, score=7, external_id="imp-1")
    assert again.pk == first.pk
    assert SurveyResponse.objects.get().score == 7


@pytest.mark.django_db
def test_invitations_sent_outside_pulse_are_marked_sent_at_creation_without_mail(mailoutbox):
    pending = SurveyInvitationFactory(status=SurveyInvitation.Status.PENDING, sent_at=None)
    delivered = SurveyInvitationFactory(status=SurveyInvitation.Status.DELIVERED)
    delivered_sent_at = delivered.sent_at

    marked = survey_invitations_mark_sent(invitations=SurveyInvitation.objects.all())

    pending.refresh_from_db()
    delivered.refresh_from_db()
    # 1 of 2: only the pending one; the delivered one keeps its state and time.
    assert marked == 1
    assert (pending.status, pending.sent_at) == (SurveyInvitation.Status.SENT, pending.created_at)
    assert (delivered.status, delivered.sent_at) == (
        SurveyInvitation.Status.DELIVERED,
        delivered_sent_at,
    )
    assert mailoutbox == []

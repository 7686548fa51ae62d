# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt

import pytest
from django.urls import reverse

from surveys.models import SurveyInvitation, SurveyResponse
from tests.customers.factories import CustomerFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["survey", "surveyinvitation", "surveyresponse"])
def test_changelists_render_with_a_bounded_query_count(
    admin_client, django_assert_max_num_queries, model
):
    # given 15 surveys, each with an invitation and a response about a ticket
    for index in range(15):
        survey = SurveyFactory(name=f"Survey {index}", kind="csat")
        customer = CustomerFactory()
        invitation = SurveyInvitationFactory(survey=survey, customer=customer)
        SurveyResponseFactory(
            survey=survey,
            invitation=invitation,
            customer=customer,
            ticket=TicketFactory(customer=customer),
            score=4,
        )
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse(f"admin:surveys_{model}_changelist"))
    assert response.status_code == 200


def add_response(admin_client, survey, customer, score):
    return admin_client.post(
        reverse("admin:surveys_surveyresponse_add"),
        {
            "survey": survey.pk,
            "customer": customer.pk,
            "score": score,
            "comment": "",
            "responded_at_0": "2026-11-20",
            "responded_at_1": "10:00:00",
        },
    )


def test_a_score_out_of_range_shows_the_service_message(admin_client):
    survey = SurveyFactory(kind="csat")
    response = add_response(admin_client, survey, CustomerFactory(), 0)
    assert response.status_code == 200
    assert (
        "The score must be a whole number from 1 to 5 for CSAT surveys."
        in response.content.decode()
    )
    assert not SurveyResponse.objects.exists()


def test_a_valid_response_is_recorded_with_the_survey_kind(admin_client):
    survey = SurveyFactory(kind="nps")
    response = add_response(admin_client, survey, CustomerFactory(), 10)
    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = SurveyResponse.objects.get()
    assert (stored.kind, stored.score) == ("nps", 10)


def test_correcting_a_score_is_checked_too(admin_client):
    stored = SurveyResponseFactory(survey=SurveyFactory(kind="nps"), score=7)
    url = reverse("admin:surveys_surveyresponse_change", args=[stored.pk])
    refused = admin_client.post(url, {"score": 11, "comment": ""})
    assert (
        "The score must be a whole number from 0 to 10 for NPS surveys." in refused.content.decode()
    )
    accepted = admin_client.post(url, {"score": 8, "comment": "re-typed"})
    assert accepted.status_code == 302
    stored.refresh_from_db()
    assert (stored.score, stored.comment) == (8, "re-typed")


def test_an_invitation_added_in_the_admin_goes_through_the_service(admin_client):
    survey = SurveyFactory(expiry_days=7)
    response = admin_client.post(
        reverse("admin:surveys_surveyinvitation_add"),
        {"survey": survey.pk, "customer": CustomerFactory(email="").pk},
    )
    assert response.status_code == 302
    invitation = SurveyInvitation.objects.get()
    assert invitation.status == SurveyInvitation.Status.UNDELIVERABLE
    assert invitation.expires_at == invitation.created_at + dt.timedelta(days=7)


@pytest.mark.parametrize(
    ("trigger", "hours"), [("ticket_solved", 24), ("order_delivered", 168), ("relationship", 0)]
)
def test_a_new_survey_gets_its_triggers_default_delay(admin_client, trigger, hours):
    from surveys.models import Survey

    response = admin_client.post(
        reverse("admin:surveys_survey_add"),
        {
            "name": f"S {trigger}",
            "kind": "csat",
            "question": "How did we do?",
            "trigger": trigger,
            "delay_hours": 24,  # the form's initial value, left untouched
            "cooldown_days": 30,
            "sampling_rate": "1",
            "expiry_days": 14,
            "reminder_days": 5,
            "is_active": "on",
            "initial-delay_hours": 24,
        },
    )
    assert response.status_code == 302
    assert Survey.objects.get(name=f"S {trigger}").delay_hours == hours


def test_an_explicit_delay_is_kept(admin_client):
    from surveys.models import Survey

    admin_client.post(
        reverse("admin:surveys_survey_add"),
        {
            "name": "Quick",
            "kind": "nps",
            "question": "Recommend us?",
            "trigger": "order_delivered",
            "delay_hours": 2,
            "cooldown_days": 30,
            "sampling_rate": "1",
            "expiry_days": 14,
            "is_active": "on",
        },
    )
    assert Survey.objects.get(name="Quick").delay_hours == 2

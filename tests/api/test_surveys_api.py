import datetime as dt

import pytest
from django.utils import timezone

from surveys.models import SurveyKind, SurveyResponse
from tests.customers.factories import CustomerFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/survey-responses/"


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    [("nps", 10, 201), ("nps", 11, 400), ("csat", 0, 400), ("csat", 5, 201)],
)
def test_score_range_depends_on_the_survey_kind(crew, client_as, kind, score, expected):
    survey = SurveyFactory(kind=kind)
    customer = CustomerFactory(team=crew.team_a)

    response = client_as(crew.admin).post(
        URL, {"survey": survey.pk, "customer": customer.pk, "score": score}
    )

    assert response.status_code == expected
    if expected == 400:
        assert "score" in response.json()


def test_response_to_an_invitation_and_its_update(crew, client_as):
    invitation = SurveyInvitationFactory(
        customer=CustomerFactory(team=crew.team_a, email="x@example.com"),
        expires_at=timezone.now() + dt.timedelta(days=3),
    )
    client = client_as(crew.admin)

    first = client.post(URL, {"invitation": invitation.pk, "score": 6})
    second = client.post(URL, {"invitation": invitation.pk, "score": 9, "comment": "better"})

    assert first.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert SurveyResponse.objects.get().score == 9


def test_response_upsert_by_external_id(crew, client_as):
    survey = SurveyFactory(kind=SurveyKind.CSAT)
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.admin)
    url = f"{URL}by-external-id/typeform-9/"

    created = client.put(url, {"survey": survey.pk, "customer": customer.pk, "score": 4})
    updated = client.put(url, {"survey": survey.pk, "customer": customer.pk, "score": 2})

    assert (created.status_code, updated.status_code) == (201, 200)
    assert SurveyResponse.objects.get(external_id="typeform-9").score == 2


def test_responses_follow_customer_visibility(crew, client_as):
    mine = SurveyResponseFactory(customer=CustomerFactory(team=crew.team_a))
    SurveyResponseFactory(customer=CustomerFactory(team=crew.team_b))

    rows = client_as(crew.rep).get(URL).json()["results"]

    assert [row["id"] for row in rows] == [mine.pk]


def test_response_filters(crew, client_as):
    detractor = SurveyResponseFactory(score=3)
    SurveyResponseFactory(score=10)

    rows = client_as(crew.admin).get(URL, {"score_max": 6}).json()["results"]

    assert [row["id"] for row in rows] == [detractor.pk]


def test_response_search_finds_the_customer_by_name_not_inside_encrypted_comments(crew, client_as):
    ada = SurveyResponseFactory(customer=CustomerFactory(name="Ada Lovelace"), comment="Slow")
    SurveyResponseFactory(customer=CustomerFactory(name="Bob"), comment="Ada was great")

    response = client_as(crew.admin).get(URL, {"search": "lovelace"})

    # The comment naming Ada is ciphertext in the database: only the customer's name matches.
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ada.pk]


def test_reps_read_responses_but_cannot_record_them(crew, client_as):
    survey = SurveyFactory()
    customer = CustomerFactory(team=crew.team_a)

    response = client_as(crew.rep).post(
        URL, {"survey": survey.pk, "customer": customer.pk, "score": 9}
    )

    assert response.status_code == 403


def test_invitation_create_hides_the_token_and_inactive_survey_is_refused(crew, client_as):
    customer = CustomerFactory(team=crew.team_a, email="c@example.com")
    active = SurveyFactory(name="Active")
    inactive = SurveyFactory(name="Off", is_active=False)
    client = client_as(crew.admin)

    created = client.post(
        "/api/v1/survey-invitations/", {"survey": active.pk, "customer": customer.pk}
    )
    refused = client.post(
        "/api/v1/survey-invitations/", {"survey": inactive.pk, "customer": customer.pk}
    )

    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert "token" not in created.json()
    assert refused.status_code == 400
    assert "survey" in refused.json()


def test_invitations_cannot_be_patched(crew, client_as):
    invitation = SurveyInvitationFactory()

    response = client_as(crew.admin).patch(
        f"/api/v1/survey-invitations/{invitation.pk}/", {"status": "sent"}
    )

    assert response.status_code == 405


def test_surveys_admin_writes(crew, client_as):
    bad = client_as(crew.admin).post(
        "/api/v1/surveys/",
        {
            "name": "S",
            "kind": "nps",
            "question": "?",
            "trigger": "relationship",
            "sampling_rate": "1.5",
        },
    )
    ok = client_as(crew.admin).post(
        "/api/v1/surveys/",
        {"name": "S", "kind": "csat", "question": "?", "trigger": "ticket_solved"},
    )

    assert "sampling_rate" in bad.json()
    assert ok.status_code == 201
    assert client_as(crew.agent).get(f"/api/v1/surveys/{ok.json()['id']}/").status_code == 200

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The public answer page: nothing recorded on GET, one response per invitation on POST,
friendly refusals with the right status, no staff answers, CSRF and a rate limit."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from surveys.models import Survey, SurveyInvitation, SurveyKind, SurveyResponse
from tests.customers.factories import CustomerFactory, UserFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)


@pytest.fixture
def invitation():
    survey = SurveyFactory(
        kind=SurveyKind.NPS,
        trigger=Survey.Trigger.RELATIONSHIP,
        question="How likely are you to recommend us?",
    )
    return SurveyInvitationFactory(
        survey=survey,
        customer=CustomerFactory(name="Acme Secret Ltd"),
        status=SurveyInvitation.Status.SENT,
        sent_at=SENT,
        expires_at=SENT + dt.timedelta(days=14),
    )


def answer_url(invitation, score=None):
    url = reverse("survey_public:answer", kwargs={"token": invitation.token})
    return f"{url}?score={score}" if score is not None else url


@pytest.fixture
def at_day_one():
    with time_machine.travel(SENT + dt.timedelta(days=1), tick=False):
        yield


def test_opening_a_link_preselects_the_score_and_records_nothing(client, invitation, at_day_one):
    # when the customer (or a mail scanner) opens the "7" link
    response = client.get(answer_url(invitation, 7))
    # then the question is shown with 7 checked, and no response exists
    assert response.status_code == 200
    html = response.content.decode()
    assert "How likely are you to recommend us?" in html
    assert 'value="7" checked' in html
    assert html.count(" checked") == 1
    assert not SurveyResponse.objects.exists()
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"


def test_out_of_range_score_in_link_preselects_nothing(client, invitation, at_day_one):
    response = client.get(answer_url(invitation, 11))
    assert response.status_code == 200
    assert " checked" not in response.content.decode()


def test_submitting_records_once_and_resubmitting_updates(client, invitation, at_day_one):
    # when the form is submitted, then submitted again with another score
    first = client.post(answer_url(invitation), {"score": "9", "comment": " Great "})
    second = client.post(answer_url(invitation), {"score": "10", "comment": "Even better"})
    # then one response holds the latest answer, and both redirect to the thank-you page
    assert first.status_code == second.status_code == 302
    assert first["Location"] == reverse("survey_public:thanks", kwargs={"token": invitation.token})
    response = SurveyResponse.objects.get()
    assert (response.score, response.comment) == (10, "Even better")
    assert response.invitation_id == invitation.pk
    assert response.customer_id == invitation.customer_id
    assert client.get(first["Location"]).status_code == 200


def test_reopening_after_answering_shows_the_stored_answer(client, invitation, at_day_one):
    client.post(answer_url(invitation), {"score": "3", "comment": "Slow"})
    html = client.get(answer_url(invitation)).content.decode()
    assert 'value="3" checked' in html
    assert "Slow" in html


@pytest.mark.parametrize("score", ["11", "-1", "abc", ""])
def test_invalid_score_is_refused_and_nothing_recorded(client, invitation, at_day_one, score):
    response = client.post(answer_url(invitation), {"score": score})
    assert response.status_code == 400
    assert not SurveyResponse.objects.exists()


def test_honeypot_filled_by_a_bot_is_refused(client, invitation, at_day_one):
    response = client.post(
        answer_url(invitation), {"score": "10", "website": "http://spam.example"}
    )
    assert response.status_code == 400
    assert not SurveyResponse.objects.exists()


def test_post_without_csrf_token_is_refused(invitation, at_day_one):
    client = Client(enforce_csrf_checks=True)
    response = client.post(answer_url(invitation), {"score": "9"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_post_with_csrf_token_from_the_page_is_accepted(invitation, at_day_one):
    client = Client(enforce_csrf_checks=True)
    client.get(answer_url(invitation, 9))
    token = client.cookies["csrftoken"].value
    response = client.post(answer_url(invitation), {"score": "9", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert SurveyResponse.objects.count() == 1


def test_unknown_token_is_a_friendly_404(client, at_day_one):
    response = client.get("/s/forged-token-123/?score=9")
    assert response.status_code == 404
    assert "no longer available" in response.content.decode()


def test_expired_link_is_a_friendly_410_revealing_nothing(client, invitation):
    # given the link expired (sent 15 days ago, 14-day expiry)
    with time_machine.travel(SENT + dt.timedelta(days=15), tick=False):
        opened = client.get(answer_url(invitation, 9))
        posted = client.post(answer_url(invitation), {"score": "9"})
    # then both get 410, without the customer's name or the question
    assert opened.status_code == posted.status_code == 410
    for response in (opened, posted):
        html = response.content.decode()
        assert "Acme Secret Ltd" not in html
        assert "recommend" not in html
    assert not SurveyResponse.objects.exists()


def test_undeliverable_invitation_is_gone(client, invitation, at_day_one):
    invitation.status = SurveyInvitation.Status.UNDELIVERABLE
    invitation.save()
    assert client.get(answer_url(invitation, 9)).status_code == 410
    assert client.post(answer_url(invitation), {"score": "9"}).status_code == 410
    assert not SurveyResponse.objects.exists()


def test_staff_cannot_answer(client, invitation, at_day_one):
    # given a signed-in CRM user
    client.force_login(UserFactory())
    # when they open or submit the customer's link
    opened = client.get(answer_url(invitation, 9))
    posted = client.post(answer_url(invitation), {"score": "9"})
    # then a 403 page and nothing recorded
    assert opened.status_code == posted.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_page_is_rate_limited_per_ip_and_token(client, invitation, settings, at_day_one):
    # given an allowance of 5 requests per hour
    settings.SURVEY_RATE_LIMIT_PER_HOUR = 5
    statuses = [client.get(answer_url(invitation, 9)).status_code for _ in range(6)]
    # then the sixth request is refused, and a POST too
    assert statuses == [200] * 5 + [429]
    assert client.post(answer_url(invitation), {"score": "9"}).status_code == 429
    assert not SurveyResponse.objects.exists()
    # another IP is not affected
    other = client.get(answer_url(invitation, 9), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_page_is_shown_in_the_customer_language(client, invitation, at_day_one):
    invitation.customer.language = "zh-hans"
    invitation.customer.save()
    html = client.get(answer_url(invitation, 9)).content.decode()
    assert 'lang="zh-hans"' in html


def test_head_request_from_a_link_scanner_records_nothing(client, invitation, at_day_one):
    response = client.head(answer_url(invitation, 0))
    assert response.status_code == 200
    assert not SurveyResponse.objects.exists()


def test_guessing_tokens_is_limited_per_ip(client, invitation, settings, at_day_one):
    # given an allowance of 5 per hour and an IP trying 5 made-up tokens
    settings.SURVEY_RATE_LIMIT_PER_HOUR = 5
    statuses = [client.get(f"/s/guess-{n}/").status_code for n in range(5)]
    assert statuses == [404] * 5
    # then even a real token is refused from that IP for the rest of the hour
    assert client.get(answer_url(invitation, 9)).status_code == 429
    assert client.get(answer_url(invitation, 9), REMOTE_ADDR="10.0.0.7").status_code == 200

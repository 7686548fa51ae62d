# mypy: disable-error-code="arg-type,attr-defined,misc,return-value,operator"
"""The survey question is shown in the customer's language (Survey.question_translations) in
the invitation e-mail and on the public answer page; untranslated languages get the default."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from surveys.emails import invitation_email_build
from surveys.models import Survey, SurveyInvitation, SurveyKind
from tests.customers.factories import CustomerFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
ENGLISH = "How likely are you to recommend Pulse?"
CHINESE = "您向朋友推荐 Pulse 的可能性有多大？"


def invitation_for(language: str) -> SurveyInvitation:
    survey = SurveyFactory(
        name="Relationship NPS",
        kind=SurveyKind.NPS,
        trigger=Survey.Trigger.RELATIONSHIP,
        question=ENGLISH,
        question_translations={"zh-hans": CHINESE},
    )
    return SurveyInvitationFactory(
        survey=survey,
        customer=CustomerFactory(language=language, email=f"{language}@example.com"),
        status=SurveyInvitation.Status.SENT,
        sent_at=SENT,
        expires_at=SENT + dt.timedelta(days=14),
    )


@pytest.mark.parametrize(
    ("language", "question"),
    [("zh-hans", CHINESE), ("zh", CHINESE), ("en", ENGLISH), ("fr", ENGLISH)],
)
def test_invitation_email_asks_in_the_customers_language(language, question):
    # given a survey translated to zh-hans, when a customer speaking `language` is invited
    message = invitation_email_build(invitation=invitation_for(language))
    # then both parts carry the question in that language ("zh" falls back to zh-hans)
    html = message.alternatives[0][0]
    assert question in message.body
    assert question in html
    other = ENGLISH if question == CHINESE else CHINESE
    assert other not in message.body


@pytest.mark.parametrize(("language", "question"), [("zh-hans", CHINESE), ("en", ENGLISH)])
def test_public_page_asks_in_the_customers_language(client, language, question):
    invitation = invitation_for(language)
    with time_machine.travel(SENT + dt.timedelta(days=1), tick=False):
        response = client.get(reverse("survey_public:answer", kwargs={"token": invitation.token}))
    assert response.status_code == 200
    assert question in response.content.decode()

"""The survey invitation e-mail: HTML and plain text, in the customer's language.

The score scale is one link per score to the public answer page; opening a link records
nothing (mail scanners open every link), it only pre-selects the score on the form.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from surveys.models import SCORE_RANGES, SurveyInvitation, SurveyKind


def site_url() -> str:
    """Absolute base of links in e-mails (settings.SITE_URL, no trailing slash)."""
    return str(getattr(settings, "SITE_URL", "http://localhost:8000")).rstrip("/")


def survey_question_text(question: str) -> str:
    """The question in the active language when the catalogue has it (gettext("") would
    return the catalogue header, hence the guard)."""
    return gettext(question) if question else ""


def invitation_question(invitation: SurveyInvitation) -> str:
    """The survey question in the customer's language: the survey's own translation for the
    customer's language (or the supported variant it falls back to), else the message
    catalogue's translation of the default text, else the default text itself."""
    survey = invitation.survey
    customer_language = (invitation.customer.language or "").lower()
    for language in (customer_language, invitation_language(invitation)):
        if language and (text := survey.question_for(language)) != survey.question:
            return text
    return survey_question_text(survey.question)


def invitation_answer_url(*, invitation: SurveyInvitation, score: int | None = None) -> str:
    path = reverse("survey_public:answer", kwargs={"token": invitation.token})
    query = f"?score={score}" if score is not None else ""
    return f"{site_url()}{path}{query}"


def invitation_language(invitation: SurveyInvitation) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    language = (invitation.customer.language or "").lower()
    if language in supported:
        return language
    # "zh" or "zh-cn" fall back to the closest supported variant, anything else to the default.
    prefix = language.split("-")[0]
    return next(
        (code for code in supported if code.split("-")[0] == prefix), settings.LANGUAGE_CODE
    )


def invitation_email_build(
    *, invitation: SurveyInvitation, reminder: bool = False
) -> EmailMultiAlternatives:
    survey = invitation.survey
    low, high = SCORE_RANGES[survey.kind]
    with translation.override(invitation_language(invitation)):
        context = {
            "invitation": invitation,
            "survey": survey,
            "question": invitation_question(invitation),
            "customer": invitation.customer,
            "ticket": invitation.ticket,
            "reminder": reminder,
            "is_nps": survey.kind == SurveyKind.NPS,
            "scores": [
                {"score": score, "url": invitation_answer_url(invitation=invitation, score=score)}
                for score in range(low, high + 1)
            ],
            "answer_url": invitation_answer_url(invitation=invitation),
            "expires_at": invitation.expires_at,
        }
        subject = render_to_string("surveys/email/invitation_subject.txt", context)
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=getattr(settings, "SUPPORT_FROM_EMAIL", settings.DEFAULT_FROM_EMAIL),
        to=[invitation.customer.email],
        headers={
            # Auto-responders must not answer a survey mail (RFC 3834).
            "Auto-Submitted": "auto-generated",
            "X-Pulse-Survey-Invitation": str(invitation.pk),
        },
    )
    message.attach_alternative(html, "text/html")
    return message

"""The public survey answer page (no login), reached from the links in the invitation e-mail.

- GET shows the question with the clicked score pre-selected and records nothing: mail
  scanners and link previews open every link in a message.
- POST (CSRF-protected form) records the score and optional comment through
  `survey_answer_submit`; a second POST within the expiry window updates the answer.
- Unknown token → 404, expired or undeliverable → 410, both a friendly page that says nothing
  about the invitation or its customer. Signed-in CRM users get a 403 page: staff never answer
  for a customer. Every request counts against a per-IP+token limit in the cache (429 beyond).
- A hidden honeypot field must stay empty; bots that fill every field are refused.
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from crm.client_address import client_address
from surveys.emails import invitation_language, invitation_question
from surveys.models import SCORE_RANGES, SurveyInvitation, SurveyKind, SurveyResponse
from surveys.services import survey_answer_submit

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60 * 60


class SurveyAnswerForm(forms.Form):
    score = forms.TypedChoiceField(label=_("Your score"), coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # Honeypot: hidden from people by CSS, filled in by form-spamming bots.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, *args: object, kind: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        low, high = SCORE_RANGES[kind]
        score_field = self.fields["score"]
        assert isinstance(score_field, forms.TypedChoiceField)
        score_field.choices = [(score, str(score)) for score in range(low, high + 1)]

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise ValidationError(_("Please leave this field empty."))
        return ""


def _client_ip(request: HttpRequest) -> str:
    # The address after the trusted proxies: X-Forwarded-For hops left of them are client-written.
    return client_address(request)


def _rate_limit() -> int:
    return int(getattr(settings, "SURVEY_RATE_LIMIT_PER_HOUR", 20))


def _count(key: str) -> int:
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        return 1


def _misses_key(request: HttpRequest) -> str:
    return f"survey-public-miss:{_client_ip(request)}"


def _rate_limited(request: HttpRequest, token: str) -> bool:
    """Count this request for IP+token; True once the hourly allowance is spent, or once the
    IP has tried too many unknown tokens (guessing tokens is limited per IP, not per token)."""
    if int(cache.get(_misses_key(request), 0)) >= _rate_limit():
        return True
    return _count(f"survey-public:{_client_ip(request)}:{token[:64]}") > _rate_limit()


def _page(
    request: HttpRequest, template: str, status: int, context: dict[str, object] | None = None
) -> HttpResponse:
    response = render(request, f"surveys/public/{template}", context or {}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the URL: never leak it to other sites through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _unavailable(request: HttpRequest, status: int) -> HttpResponse:
    return _page(request, "unavailable.html", status, {"status": status})


def _initial_score(request: HttpRequest, kind: str) -> int | None:
    low, high = SCORE_RANGES[kind]
    raw = request.GET.get("score", "")
    if raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    return None


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    if _rate_limited(request, token):
        logger.warning("survey answer page rate limited for %s", _client_ip(request))
        return _page(request, "rate_limited.html", 429)
    if request.user.is_authenticated:
        return _page(request, "staff.html", 403)
    invitation = (
        SurveyInvitation.objects.select_related("survey", "customer").filter(token=token).first()
    )
    if invitation is None:
        _count(_misses_key(request))
        return _unavailable(request, 404)
    now = timezone.now()
    if invitation.status == SurveyInvitation.Status.UNDELIVERABLE or (
        invitation.expires_at is not None and invitation.expires_at <= now
    ):
        return _unavailable(request, 410)

    survey = invitation.survey
    with translation.override(invitation_language(invitation)):
        existing = SurveyResponse.objects.filter(invitation=invitation).first()
        if request.method == "POST":
            form = SurveyAnswerForm(request.POST, kind=survey.kind)
            if form.is_valid():
                try:
                    survey_answer_submit(
                        invitation=invitation,
                        score=form.cleaned_data["score"],
                        comment=form.cleaned_data["comment"].strip(),
                    )
                except ValidationError as exc:
                    # The link expired between the checks above and the locked write.
                    logger.info("survey answer refused for invitation %s: %s", invitation.pk, exc)
                    return _unavailable(request, 410)
                return redirect("survey_public:thanks", token=token)
            status = 400
        else:
            initial: dict[str, object] = {}
            if existing is not None:
                initial = {"score": existing.score, "comment": existing.comment}
            clicked = _initial_score(request, survey.kind)
            if clicked is not None:
                initial["score"] = clicked
            form = SurveyAnswerForm(initial=initial, kind=survey.kind)
            status = 200
        return _page(
            request,
            "answer.html",
            status,
            {
                "form": form,
                "survey": survey,
                "question": invitation_question(invitation),
                "is_nps": survey.kind == SurveyKind.NPS,
                "already_answered": existing is not None,
                "expires_at": invitation.expires_at,
            },
        )


@never_cache
@require_http_methods(["GET"])
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    if _rate_limited(request, token):
        return _page(request, "rate_limited.html", 429)
    invitation = SurveyInvitation.objects.select_related("customer").filter(token=token).first()
    if invitation is None:
        return _unavailable(request, 404)
    with translation.override(invitation_language(invitation)):
        return _page(
            request,
            "thanks.html",
            200,
            {"can_change": invitation.expires_at is None or invitation.expires_at > timezone.now()},
        )

"""Survey writes: inviting a customer and recording (or correcting) their answer."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers.models import Customer
from sales.models import Order
from support.models import Ticket
from surveys.models import SCORE_RANGES, Survey, SurveyInvitation, SurveyKind, SurveyResponse


def _moment(at: dt.datetime | None) -> dt.datetime:
    moment = at if at is not None else timezone.now()
    if timezone.is_naive(moment):
        raise ValidationError({"at": _("The time must include a time zone.")})
    return moment


def _check_subjects(customer: Customer, ticket: Ticket | None, order: Order | None) -> None:
    errors: dict[str, str] = {}
    if ticket is not None and ticket.customer_id != customer.pk:
        errors["ticket"] = _("The ticket belongs to another customer.")
    if order is not None and order.customer_id != customer.pk:
        errors["order"] = _("The order belongs to another customer.")
    if errors:
        raise ValidationError(errors)


SCORE_RANGE_MESSAGE = gettext_noop(
    "The score must be a whole number from %(low)s to %(high)s for %(kind)s surveys."
)


def survey_score_check(*, kind: str, score: object) -> int:
    """The score as an int, or a refusal naming the range of its kind (NPS 0–10, CSAT 1–5)."""
    low, high = SCORE_RANGES[kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise ValidationError(
            {
                "score": _(SCORE_RANGE_MESSAGE)
                % {"kind": SurveyKind(kind).name, "low": low, "high": high}
            }
        )
    return score


def survey_invitation_answer_check(*, invitation: SurveyInvitation, at: dt.datetime) -> None:
    """Refuse answers to undeliverable invitations and to expired links."""
    if invitation.status == SurveyInvitation.Status.UNDELIVERABLE:
        raise ValidationError(_("An undeliverable invitation cannot be answered."))
    if invitation.expires_at is not None and at > invitation.expires_at:
        raise ValidationError(_("This survey link has expired."))


@transaction.atomic
def survey_invitation_create(
    *,
    survey: Survey,
    customer: Customer,
    ticket: Ticket | None = None,
    order: Order | None = None,
    at: dt.datetime | None = None,
) -> SurveyInvitation:
    """Invite a customer; without an e-mail address the invitation is undeliverable at once.

    The link expires `survey.expiry_days` after `at` (creation), whether or not it is sent.
    """
    if not survey.is_active:
        raise ValidationError({"survey": _("The survey is not active.")})
    _check_subjects(customer, ticket, order)
    moment = _moment(at)
    return SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        ticket=ticket,
        order=order,
        status=(
            SurveyInvitation.Status.PENDING
            if customer.email
            else SurveyInvitation.Status.UNDELIVERABLE
        ),
        created_at=moment,
        expires_at=moment + dt.timedelta(days=survey.expiry_days),
    )


@transaction.atomic
def survey_response_record(
    *,
    survey: Survey | None = None,
    invitation: SurveyInvitation | None = None,
    customer: Customer | None = None,
    score: int,
    comment: str = "",
    at: dt.datetime | None = None,
    ticket: Ticket | None = None,
    order: Order | None = None,
    external_id: str | None = None,
) -> SurveyResponse:
    """Record an answer, either to an invitation or to a survey for a customer.

    With an invitation: survey, customer, ticket and order come from it; a second answer updates
    the first (one response per invitation) while the link is valid; after `expires_at` and for
    undeliverable invitations answers are refused. Without one, `external_id` makes imports
    idempotent: a known id updates its response instead of adding another.
    """
    moment = _moment(at)
    existing: SurveyResponse | None = None
    if invitation is not None:
        # Lock the invitation so two quick submissions cannot both create a response.
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("survey", "customer")
            .get(pk=invitation.pk)
        )
        if survey is not None and survey.pk != invitation.survey_id:
            raise ValidationError({"survey": _("The invitation is for another survey.")})
        if customer is not None and customer.pk != invitation.customer_id:
            raise ValidationError({"customer": _("The invitation is for another customer.")})
        survey_invitation_answer_check(invitation=invitation, at=moment)
        survey, customer = invitation.survey, invitation.customer
        ticket, order = invitation.ticket, invitation.order
        existing = SurveyResponse.objects.filter(invitation=invitation).first()
    elif survey is None or customer is None:
        raise ValidationError(_("Give either an invitation, or a survey and a customer."))
    else:
        _check_subjects(customer, ticket, order)
    if existing is None and external_id:
        existing = SurveyResponse.objects.filter(external_id=external_id).first()
        if existing is not None and (
            existing.survey_id != survey.pk or existing.customer_id != customer.pk
        ):
            raise ValidationError(
                {"external_id": _("This external id belongs to another survey response.")}
            )
    checked_score = survey_score_check(kind=survey.kind, score=score)

    if existing is not None:
        existing.score = checked_score
        existing.comment = comment
        existing.responded_at = moment
        existing.save(update_fields=["score", "comment", "responded_at"])
        return existing
    return SurveyResponse.objects.create(
        survey=survey,
        kind=survey.kind,
        invitation=invitation,
        customer=customer,
        ticket=ticket,
        order=order,
        score=checked_score,
        comment=comment,
        responded_at=moment,
        external_id=external_id or None,
    )


@transaction.atomic
def survey_response_update(
    *, response: SurveyResponse, score: int, comment: str = ""
) -> SurveyResponse:
    """Staff correction of a stored answer (admin): same score rule, no link-expiry rule."""
    response = SurveyResponse.objects.select_for_update(of=("self",)).get(pk=response.pk)
    response.score = survey_score_check(kind=response.kind, score=score)
    response.comment = comment
    response.save(update_fields=["score", "comment"])
    return response

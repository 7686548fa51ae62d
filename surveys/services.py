"""Survey writes: inviting a customer and recording (or correcting) their answer."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.models import Notification
from crm.notifications import notification_create
from customers.models import Customer
from sales.models import Activity, Order
from sales.services import activity_log
from support.models import Ticket
from surveys.emails import invitation_email_build
from surveys.models import (
    SCORE_RANGES,
    Survey,
    SurveyInvitation,
    SurveyKind,
    SurveyResponse,
    new_token,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


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


# --- invitations from triggers, sending, reminders --------------------------------------------

# A trigger looks back this far past its delay, so turning a survey on never mails about
# tickets or orders finished long ago, and a beat run missed for a few days still catches up.
TRIGGER_LOOKBACK = dt.timedelta(days=7)
# A relationship survey asks the same active customer again after this many days at the earliest.
RELATIONSHIP_INTERVAL_DAYS = 90
# At most this many invitations per survey and run; the rest wait for the next run.
INVITATIONS_PER_RUN = 1000


def _sampled(*, survey: Survey, key: str) -> bool:
    """Deterministic sampling: the same resolution/order is always in or always out, so a
    record that was not sampled is not drawn again on every beat run."""
    if survey.sampling_rate >= 1:
        return True
    digest = hashlib.sha256(f"{survey.pk}:{key}".encode()).digest()
    fraction = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    return fraction < survey.sampling_rate


def customer_email_deliverable(email: str) -> bool:
    """A syntactically valid address; invitations are never created for anything else."""
    if not email:
        return False
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _customers_within_cooldown(*, survey: Survey, moment: dt.datetime) -> QuerySet[Customer]:
    """Customers invited by any survey during this survey's cooldown (the cooldown is global)."""
    since = moment - dt.timedelta(days=survey.cooldown_days)
    invited = SurveyInvitation.objects.filter(customer=OuterRef("pk"), created_at__gt=since)
    return Customer.objects.filter(Exists(invited))


def _ticket_candidates(
    survey: Survey, moment: dt.datetime
) -> list[tuple[Customer, Ticket | None, Order | None]]:
    due_before = moment - dt.timedelta(hours=survey.delay_hours)
    # One invitation per resolution: none for this survey created since the ticket was solved.
    already = SurveyInvitation.objects.filter(
        survey=survey, ticket=OuterRef("pk"), created_at__gte=OuterRef("last_solved_at")
    )
    tickets = (
        Ticket.objects.filter(
            # Still solved (or closed since): a ticket reopened before sending is not asked.
            status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED],
            last_solved_at__lte=due_before,
            last_solved_at__gt=due_before - TRIGGER_LOOKBACK,
            is_spam=False,
            merged_into__isnull=True,
        )
        .exclude(customer__email="")
        .exclude(Exists(already))
        .exclude(customer__in=_customers_within_cooldown(survey=survey, moment=moment))
        .select_related("customer")
        .order_by("last_solved_at", "id")
    )
    return [
        (ticket.customer, ticket, None)
        for ticket in tickets[: INVITATIONS_PER_RUN * 2]
        # reopen_count numbers the resolutions: each one is drawn once.
        if _sampled(survey=survey, key=f"ticket:{ticket.pk}:{ticket.reopen_count}")
    ]


def _order_candidates(
    survey: Survey, moment: dt.datetime
) -> list[tuple[Customer, Ticket | None, Order | None]]:
    due_before = moment - dt.timedelta(hours=survey.delay_hours)
    already = SurveyInvitation.objects.filter(survey=survey, order=OuterRef("pk"))
    orders = (
        Order.objects.filter(
            status=Order.Status.DELIVERED,
            delivered_at__lte=due_before,
            delivered_at__gt=due_before - TRIGGER_LOOKBACK,
        )
        .exclude(customer__email="")
        .exclude(Exists(already))
        .exclude(customer__in=_customers_within_cooldown(survey=survey, moment=moment))
        .select_related("customer")
        .order_by("delivered_at", "id")
    )
    return [
        (order.customer, None, order)
        for order in orders[: INVITATIONS_PER_RUN * 2]
        if _sampled(survey=survey, key=f"order:{order.pk}")
    ]


def _relationship_candidates(
    survey: Survey, moment: dt.datetime
) -> list[tuple[Customer, Ticket | None, Order | None]]:
    interval = max(RELATIONSHIP_INTERVAL_DAYS, survey.cooldown_days)
    asked = SurveyInvitation.objects.filter(
        survey=survey,
        customer=OuterRef("pk"),
        created_at__gt=moment - dt.timedelta(days=interval),
    )
    customers = (
        Customer.objects.filter(status=Customer.Status.ACTIVE)
        .exclude(email="")
        .exclude(Exists(asked))
        .exclude(pk__in=_customers_within_cooldown(survey=survey, moment=moment).values("pk"))
        .order_by("id")
    )
    period = moment.date().toordinal() // interval
    return [
        (customer, None, None)
        for customer in customers[: INVITATIONS_PER_RUN * 2]
        if _sampled(survey=survey, key=f"customer:{customer.pk}:{period}")
    ]


_CANDIDATES = {
    Survey.Trigger.TICKET_SOLVED: _ticket_candidates,
    Survey.Trigger.ORDER_DELIVERED: _order_candidates,
    Survey.Trigger.RELATIONSHIP: _relationship_candidates,
}


@transaction.atomic
def survey_invitations_create_due(
    *, survey: Survey, at: dt.datetime | None = None
) -> list[SurveyInvitation]:
    """Create the invitations the survey's trigger calls for at `at` (the beat job).

    Rules: ticket solved / order delivered at least `delay_hours` ago (within a week's look-back);
    at most one invitation per ticket resolution or order; none for a ticket no longer solved or
    closed (reopened); none for a customer invited by any survey within the cooldown (also within
    this run: one per customer); none without a valid e-mail address; deterministic sampling.
    The survey row is locked so two overlapping runs cannot invite twice.
    """
    moment = _moment(at)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if not survey.is_active:
        return []
    seen: set[int] = set()
    invitations: list[SurveyInvitation] = []
    for customer, ticket, order in _CANDIDATES[Survey.Trigger(survey.trigger)](survey, moment):
        if customer.pk in seen or not customer_email_deliverable(customer.email):
            continue
        seen.add(customer.pk)
        invitations.append(
            SurveyInvitation(
                survey=survey,
                customer=customer,
                ticket=ticket,
                order=order,
                token=new_token(),
                status=SurveyInvitation.Status.PENDING,
                created_at=moment,
                expires_at=moment + dt.timedelta(days=survey.expiry_days),
            )
        )
        if len(invitations) >= INVITATIONS_PER_RUN:
            break
    created = SurveyInvitation.objects.bulk_create(invitations)
    if created:
        logger.info("survey %s: %d invitations created", survey.pk, len(created))
    return created


def _locked_invitation(invitation_id: int) -> SurveyInvitation | None:
    return (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("survey", "customer", "ticket")
        .filter(pk=invitation_id)
        .first()
    )


def _ticket_still_surveyable(ticket: Ticket, *, since: dt.datetime) -> bool:
    """The resolution the invitation asks about still stands: the ticket is solved or closed,
    was not reopened and solved again after `since`, and was not flagged spam or merged."""
    return (
        ticket.status in (Ticket.Status.SOLVED, Ticket.Status.CLOSED)
        and (ticket.last_solved_at is None or ticket.last_solved_at <= since)
        and not ticket.is_spam
        and ticket.merged_into_id is None
    )


@transaction.atomic
def survey_invitation_send(*, invitation_id: int, at: dt.datetime | None = None) -> bool:
    """E-mail a pending invitation once; True when a message went out.

    Safe to retry: only a pending invitation is sent, and the status is written in the same
    transaction. A ticket reopened since the invitation was created is not surveyed (the
    invitation is withdrawn); an address that became invalid makes it undeliverable. A send
    error propagates (the task retries, then marks it undeliverable).
    """
    moment = _moment(at)
    invitation = _locked_invitation(invitation_id)
    if invitation is None or invitation.status != SurveyInvitation.Status.PENDING:
        return False
    ticket = invitation.ticket
    if ticket is not None and not _ticket_still_surveyable(ticket, since=invitation.created_at):
        # Deleted, not kept: a withdrawn invitation must not count in the customer's cooldown,
        # so the ticket's next resolution can be surveyed.
        logger.info("survey invitation %s withdrawn: ticket %s reopened", invitation.pk, ticket.pk)
        invitation.delete()
        return False
    if not customer_email_deliverable(invitation.customer.email):
        invitation.status = SurveyInvitation.Status.UNDELIVERABLE
        invitation.save(update_fields=["status"])
        return False
    invitation_email_build(invitation=invitation, reminder=False).send()
    invitation.status = SurveyInvitation.Status.SENT
    invitation.sent_at = moment
    # The link lives `expiry_days` from the day the customer actually received it.
    invitation.expires_at = moment + dt.timedelta(days=invitation.survey.expiry_days)
    invitation.save(update_fields=["status", "sent_at", "expires_at"])
    return True


@transaction.atomic
def survey_invitations_mark_sent(*, invitations: QuerySet[SurveyInvitation]) -> int:
    """Record pending invitations as sent when they were created, without mailing them: for
    invitations that went out outside Pulse (imported history, demo data). The sending task
    never picks them up afterwards. Returns how many were marked."""
    return invitations.filter(status=SurveyInvitation.Status.PENDING, sent_at__isnull=True).update(
        status=SurveyInvitation.Status.SENT, sent_at=F("created_at")
    )


@transaction.atomic
def survey_invitation_remind(*, invitation_id: int, at: dt.datetime | None = None) -> bool:
    """Send the single reminder to a non-responder; True when a message went out. None while
    the surveyed ticket is reopened (or was re-solved, flagged spam or merged) since."""
    moment = _moment(at)
    invitation = _locked_invitation(invitation_id)
    if (
        invitation is None
        or invitation.status != SurveyInvitation.Status.SENT
        or invitation.reminded_at is not None
        or invitation.survey.reminder_days is None
        or (invitation.expires_at is not None and invitation.expires_at <= moment)
        or SurveyResponse.objects.filter(invitation=invitation).exists()
    ):
        return False
    ticket = invitation.ticket
    if ticket is not None and not _ticket_still_surveyable(ticket, since=invitation.created_at):
        # The customer wrote back since: no "how did we do?" while the request is open again.
        logger.info("reminder %s skipped: ticket %s reopened", invitation.pk, ticket.pk)
        return False
    invitation_email_build(invitation=invitation, reminder=True).send()
    invitation.reminded_at = moment
    invitation.save(update_fields=["reminded_at"])
    return True


def survey_invitations_due_reminder(*, at: dt.datetime | None = None) -> QuerySet[SurveyInvitation]:
    """Sent, unanswered, unexpired invitations whose survey's reminder delay has passed."""
    moment = _moment(at)
    # Each survey has its own delay: one OR-ed condition per survey, still a single query.
    due = Q(pk__in=[])
    for survey_id, reminder_days in Survey.objects.filter(
        is_active=True, reminder_days__isnull=False
    ).values_list("pk", "reminder_days"):
        due |= Q(survey_id=survey_id, sent_at__lte=moment - dt.timedelta(days=reminder_days or 0))
    return SurveyInvitation.objects.filter(
        due,
        status=SurveyInvitation.Status.SENT,
        reminded_at__isnull=True,
        expires_at__gt=moment,
        response__isnull=True,
    )


@transaction.atomic
def survey_invitation_mark_undeliverable(*, invitation_id: int, reason: str = "") -> bool:
    """After the send retries are exhausted (or a bounce): never mailed again, never counted."""
    updated = SurveyInvitation.objects.filter(
        pk=invitation_id,
        status__in=[SurveyInvitation.Status.PENDING, SurveyInvitation.Status.SENT],
    ).update(status=SurveyInvitation.Status.UNDELIVERABLE)
    if updated:
        logger.warning("survey invitation %s undeliverable: %s", invitation_id, reason)
    return bool(updated)


# --- answers from the public page and their follow-up ----------------------------------------


def survey_response_is_negative(*, kind: str, score: int) -> bool:
    """A detractor (NPS 0–6) or an unhappy CSAT (1–2): someone should call the customer."""
    return score <= 6 if kind == SurveyKind.NPS else score <= 2


def _follow_up_owner(response: SurveyResponse) -> User | None:
    owner = response.customer.owner
    if owner is None and response.ticket is not None:
        owner = response.ticket.assignee
    return owner if owner is not None and owner.is_active else None


def survey_follow_up_create(
    *, response: SurveyResponse, at: dt.datetime | None = None
) -> Activity | None:
    """A follow-up task for the customer's owner (else the ticket's assignee), once per
    response, plus a notification. Nothing when the answer is not negative or nobody owns it."""
    if not survey_response_is_negative(kind=response.kind, score=response.score):
        return None
    key = f"survey-follow-up:{response.pk}"
    if Activity.objects.filter(external_id=key).exists():
        return None
    owner = _follow_up_owner(response)
    if owner is None:
        logger.warning("survey response %s is negative but nobody owns the customer", response.pk)
        return None
    moment = _moment(at)
    subject = _("Follow up on %(kind)s score %(score)s from %(customer)s") % {
        "kind": SurveyKind(response.kind).name,
        "score": response.score,
        "customer": response.customer.name,
    }
    # The comment is encrypted at rest: the task and the notification point to it (the
    # customer's timeline shows it) instead of copying its text into unencrypted columns.
    notes = (
        _("The customer left a comment; it is on their timeline (survey response %(id)s).")
        % {"id": response.pk}
        if response.comment
        else ""
    )
    if response.ticket_id is not None:
        notes = (_("Ticket #%s") % response.ticket_id + "\n\n" + notes).strip()
    activity = activity_log(
        kind=Activity.Kind.TASK,
        subject=subject[:200],
        owner=owner,
        customer=response.customer,
        notes=notes,
        due_at=moment + dt.timedelta(days=1),
        created_at=moment,
        external_id=key,
    )
    try:
        link = reverse("customers:detail", kwargs={"pk": response.customer_id})
    except NoReverseMatch:
        link = ""
    notification_create(
        user=owner,
        kind=Notification.Kind.ASSIGNMENT,
        title=subject,
        link=link,
    )
    return activity


@transaction.atomic
def survey_answer_submit(
    *, invitation: SurveyInvitation, score: int, comment: str = "", at: dt.datetime | None = None
) -> SurveyResponse:
    """The customer's answer from the public page: record (or update) it, then follow up."""
    response = survey_response_record(invitation=invitation, score=score, comment=comment, at=at)
    survey_follow_up_create(response=response, at=at)
    return response

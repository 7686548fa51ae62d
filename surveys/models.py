"""NPS and CSAT surveys, the invitations sent for them and the answers received."""

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import EncryptedTextField
from customers.models import Customer
from sales.models import Order
from support.models import Ticket


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")


SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5)}


class Survey(models.Model):
    class Trigger(models.TextChoices):
        TICKET_SOLVED = "ticket_solved", _("Ticket solved")
        ORDER_DELIVERED = "order_delivered", _("Order delivered")
        RELATIONSHIP = "relationship", _("Periodic relationship survey")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    question = models.CharField(_("question"), max_length=300)
    # {"zh-hans": "…"}: the question in other languages; `question` is the default language's.
    question_translations = models.JSONField(
        _("question translations"),
        default=dict,
        blank=True,
        help_text=_(
            'The question in other languages, e.g. {"zh-hans": "您向朋友推荐我们的可能性有多大？"}'
        ),
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    delay_hours = models.PositiveIntegerField(_("delay (hours)"), default=24)
    cooldown_days = models.PositiveIntegerField(
        _("cooldown (days)"),
        default=30,
        help_text=_("No new invitation to the same customer within these days, across surveys."),
    )
    sampling_rate = models.DecimalField(
        _("sampling rate"), max_digits=4, decimal_places=3, default=1
    )
    expiry_days = models.PositiveIntegerField(
        _("link expiry (days)"),
        default=14,
        help_text=_("The answer link stops working after these days."),
    )
    reminder_days = models.PositiveIntegerField(
        _("reminder after (days)"), null=True, blank=True, default=5
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_rate__gt=0) & Q(sampling_rate__lte=1),
                name="survey_sampling_rate_range",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def question_for(self, language: str) -> str:
        """The question in `language` when translated, else in the default language."""
        translations = self.question_translations or {}
        return (
            translations.get(language) or translations.get(language.split("-")[0]) or self.question
        )


def new_token() -> str:
    return secrets.token_urlsafe(32)


class SurveyInvitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERABLE = "undeliverable", _("Undeliverable")

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="invitations"
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_invitations",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations",
    )
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations",
    )
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_token)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        indexes = [models.Index(fields=["sent_at"]), models.Index(fields=["customer", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.survey_id} → {self.customer_id} ({self.status})"


class SurveyResponse(models.Model):
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="responses"
    )
    # Copied from the survey so the database can check the score range per kind.
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    invitation = models.OneToOneField(
        SurveyInvitation,
        verbose_name=_("invitation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="response",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = EncryptedTextField(_("comment"), blank=True)  # encrypted at rest
    responded_at = models.DateTimeField(_("responded at"), default=timezone.now)
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )

    class Meta:
        ordering = ["-responded_at", "id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["kind", "responded_at"]),
            models.Index(fields=["customer", "responded_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="nps") & Q(score__gte=0) & Q(score__lte=10))
                | (Q(kind="csat") & Q(score__gte=1) & Q(score__lte=5)),
                name="survey_response_score_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} by {self.customer_id}"

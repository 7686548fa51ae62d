"""Annotations explaining KPI periods, digest subscriptions and the digest send log.

The tables keep their kpis_ names (`db_table`): kpis migration 0004 creates them and reports
migration 0001 takes the models over in the migration state only, with no schema change.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kpis.models import Granularity


class Annotation(models.Model):
    """A note explaining a period: on one KPI and period, or on a date range for all KPIs.

    The days are inclusive (``starts_on`` to ``ends_on``) because that is how people name an
    outage or a campaign; reports.annotations.annotations_for matches them against half-open
    periods.
    """

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        PRICE_CHANGE = "price_change", _("Price change")
        CAMPAIGN = "campaign", _("Campaign")
        OUTAGE = "outage", _("Outage")

    # "" = every KPI.
    kpi = models.CharField(_("KPI"), max_length=50, blank=True)
    # Set for a note on one KPI period (it explains that granularity's figure); "" = a date range.
    granularity = models.CharField(
        _("granularity"), max_length=10, choices=Granularity.choices, blank=True
    )
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("text"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        db_table = "kpis_annotation"
        ordering = ["starts_on", "id"]
        verbose_name = _("KPI annotation")
        verbose_name_plural = _("KPI annotations")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="annotation_days_ordered"
            ),
        ]
        indexes = [models.Index(fields=["starts_on", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.kpi or '*'} {self.starts_on}–{self.ends_on}: {self.text[:40]}"


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(32)


class DigestSubscription(models.Model):
    """Who gets which KPI digest, how often and at which scope (reports.digests validates it)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class Scope(models.TextChoices):
        OWN = "own", _("My own figures")
        TEAM = "team", _("My team")
        COMPANY = "company", _("The whole company")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="digest_subscriptions",
    )
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    # Explicit KPI keys and/or whole lifecycle stages (resolved at send time).
    kpi_keys = models.JSONField(_("KPIs"), default=list, blank=True)
    stages = models.JSONField(_("stages"), default=list, blank=True)
    include_alerts = models.BooleanField(_("include alerts"), default=True)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    team = models.ForeignKey(
        "customers.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="digest_subscriptions",
    )
    language = models.CharField(_("language"), max_length=10, default="en")
    is_active = models.BooleanField(_("active"), default=True)
    unsubscribe_token = models.CharField(
        _("unsubscribe token"), max_length=64, unique=True, default=new_unsubscribe_token
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)

    class Meta:
        db_table = "kpis_digestsubscription"
        ordering = ["user", "frequency", "id"]
        verbose_name = _("digest subscription")
        verbose_name_plural = _("digest subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=~Q(scope="team") | Q(team__isnull=False),
                name="digest_subscription_team_scope_has_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.frequency} {self.scope}"


class DigestSendLog(models.Model):
    """One digest of one subscription for one period: the claim that stops a second send."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        DigestSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="send_logs",
    )
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    recipient = models.EmailField(_("recipient"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENDING
    )
    kpi_keys = models.JSONField(_("KPIs sent"), default=list, blank=True)
    alert_count = models.PositiveIntegerField(_("alerts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        db_table = "kpis_digestsendlog"
        ordering = ["-created_at", "-id"]
        verbose_name = _("digest send log")
        verbose_name_plural = _("digest send log")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "granularity", "period_start"],
                name="digest_send_log_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_start}: {self.status}"

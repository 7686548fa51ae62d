"""Customers, their contacts, the teams that own them and the channels they came through."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import (
    BlindIndexedModel,
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        # A manager leaving must not delete the team or its records.
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        help_text=_("Sees and manages the team's records and receives its SLA escalations."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("members"),
        related_name="teams",
        blank=True,
        help_text=_("Members share the team's customers, deals and tickets."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """An acquisition channel (organic search, paid social, referral, partner …)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_paid = models.BooleanField(_("paid channel"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("acquisition channel")
        verbose_name_plural = _("acquisition channels")

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """A business segment (SMB, mid-market, enterprise …) assigned to customers.

    `inactivity_days` overrides CRM_INACTIVITY_DAYS for this segment's churn rule (catalogue §1).
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    inactivity_days = models.PositiveIntegerField(
        _("inactivity days"),
        null=True,
        blank=True,
        help_text=_("Days without an order before a customer churns; empty uses the default."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.CheckConstraint(
                condition=Q(inactivity_days__isnull=True) | Q(inactivity_days__gt=0),
                name="segment_inactivity_days_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(BlindIndexedModel):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    class Status(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        ACTIVE = "active", _("Active")
        CHURNED = "churned", _("Churned")

    class RfmSegment(models.TextChoices):
        """Named RFM segments (catalogue §1), recomputed by the KPI run."""

        NONE = "", _("No orders")
        FIRST_TIME_BUYER = "first_time_buyer", _("First-time buyer")
        CHAMPION = "champion", _("Champion")
        HIGH_FREQUENCY = "high_frequency", _("High-frequency")
        AT_RISK = "at_risk", _("At risk")
        DORMANT = "dormant", _("Dormant")
        CHURNED = "churned", _("Churned")
        REGULAR = "regular", _("Regular")

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    # Encrypted at rest; exact matches go through the blind indexes (crm/encryption).
    email = EncryptedEmailField(_("e-mail"), blank=True)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    email_bidx = BlindIndexField(source="email", kind="email")
    phone_bidx = BlindIndexField(source="phone", kind="phone")
    # The likely-duplicate check matches companies by e-mail domain without decrypting.
    email_domain_bidx = BlindIndexField(source="email", kind="email_domain")
    language = models.CharField(_("language"), max_length=10, default="en")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        # Customers outlive the rep who owned them; reassignment is a manager's job.
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("acquisition channel"),
        null=True,
        blank=True,
        # History of where customers came from must survive a channel's deletion attempt.
        on_delete=models.PROTECT,
        related_name="customers",
    )
    campaign = models.ForeignKey(
        "sales.Campaign",
        verbose_name=_("acquisition campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="acquired_customers",
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    status = models.CharField(
        _("lifecycle status"), max_length=10, choices=Status.choices, default=Status.PROSPECT
    )
    acquired_at = models.DateTimeField(_("acquired at"), null=True, blank=True)
    churned_at = models.DateTimeField(
        _("churned at"),
        null=True,
        blank=True,
        help_text=_("Explicit churn (contract ended or cancelled); overrides the inactivity rule."),
    )
    contract_end_date = models.DateField(_("contract end date"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        # The survivor of a merge is never deleted while a merged record points at it.
        on_delete=models.PROTECT,
        related_name="merged_customers",
        help_text=_("Set by a merge: this record's history now belongs to the survivor."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Derived by the KPI run (catalogue §1, §3); read-only in the admin.
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True, default=""
    )
    rfm_recency = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    rfm_monetary = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    health_score = models.DecimalField(
        _("health score"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    health_band = models.CharField(_("health band"), max_length=10, blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["acquired_at"]),
            models.Index(fields=["churned_at"]),
            models.Index(fields=["team", "owner"]),
            models.Index(fields=["email_bidx"]),
            models.Index(fields=["phone_bidx"]),
            models.Index(fields=["email_domain_bidx"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(churned_at__isnull=True)
                | Q(acquired_at__isnull=True)
                | Q(churned_at__gte=models.F("acquired_at")),
                name="customer_churn_after_acquisition",
            ),
            models.CheckConstraint(
                condition=Q(health_score__isnull=True)
                | (Q(health_score__gte=0) & Q(health_score__lte=100)),
                name="customer_health_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(BlindIndexedModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # Encrypted at rest; exact matches go through the blind indexes (crm/encryption).
    email = EncryptedEmailField(_("e-mail"), blank=True)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    email_bidx = BlindIndexField(source="email", kind="email")
    phone_bidx = BlindIndexField(source="phone", kind="phone")
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["email_bidx"]), models.Index(fields=["phone_bidx"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

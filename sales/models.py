"""Leads, opportunities with their stage history, products, orders, activities and costs."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import (
    BlindIndexedModel,
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
)
from crm.models import EditStampedModel
from customers.models import Channel, Customer, Team


def default_currency() -> str:
    return settings.CRM_CURRENCY


class Campaign(models.Model):
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=200)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(EditStampedModel, BlindIndexedModel):
    class Source(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event")
        COLD_CALL = "cold_call", _("Cold call")
        PARTNER = "partner", _("Partner")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        CONVERTED = "converted", _("Converted")
        DISQUALIFIED = "disqualified", _("Disqualified")
        MERGED = "merged", _("Merged duplicate")

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True)
    # Encrypted at rest; exact matches go through the blind indexes (crm/encryption).
    email = EncryptedEmailField(_("e-mail"), blank=True)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    email_bidx = BlindIndexField(source="email", kind="email")
    phone_bidx = BlindIndexField(source="phone", kind="phone")
    # Company leads sharing a domain may be one company (sales.selectors.likely_duplicate_leads).
    email_domain_bidx = BlindIndexField(source="email", kind="email_domain")
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="new")
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_duplicates",
    )
    disqualified_reason = models.CharField(_("disqualified because"), max_length=200, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    converted_customer = models.ForeignKey(
        Customer,
        verbose_name=_("converted customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="converted_leads",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["team", "owner"]),
            models.Index(fields=["email_bidx"]),
            models.Index(fields=["phone_bidx"]),
            models.Index(fields=["email_domain_bidx"]),
        ]
        constraints = [
            # A converted lead always knows when and into whom.
            models.CheckConstraint(
                condition=~Q(status="converted")
                | (Q(converted_at__isnull=False) & Q(converted_customer__isnull=False)),
                name="lead_converted_has_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CloseReason(models.Model):
    """A reason from a list admins keep: why a lead was disqualified or a deal lost.

    The chosen reason's name is copied onto the record, so renaming or retiring a reason
    later does not rewrite history.
    """

    class Kind(models.TextChoices):
        LEAD_DISQUALIFIED = "lead_disqualified", _("Lead disqualified")
        DEAL_LOST = "deal_lost", _("Deal lost")

    kind = models.CharField(_("used for"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive reasons are no longer offered.")
    )

    class Meta:
        ordering = ["kind", "position", "name", "id"]
        verbose_name = _("close reason")
        verbose_name_plural = _("close reasons")
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="close_reason_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class PipelineStage(models.Model):
    """A configurable stage of the sales pipeline; won and lost stages close a deal."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Order on the pipeline board, left to right.")
    )
    probability = models.DecimalField(
        _("probability"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0"),
        help_text=_("Chance of winning a deal in this stage, 0 to 1."),
    )
    is_won = models.BooleanField(
        _("won stage"), default=False, help_text=_("A deal moved here is closed as won.")
    )
    is_lost = models.BooleanField(
        _("lost stage"), default=False, help_text=_("A deal moved here is closed as lost.")
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive stages are hidden from the board; the stage history keeps them."),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline stage")
        verbose_name_plural = _("pipeline stages")
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="stage_probability_range",
            ),
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Opportunity(EditStampedModel):
    class Kind(models.TextChoices):
        NEW = "new", _("New business")
        CROSS_SELL = "cross_sell", _("Cross-sell")
        UPSELL = "upsell", _("Up-sell")
        RENEWAL = "renewal", _("Renewal")

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    class ForecastCategory(models.TextChoices):
        """The rep's call on an open deal, next to the stage probability (sales forecast)."""

        PIPELINE = "pipeline", _("Pipeline")
        BEST_CASE = "best_case", _("Best case")
        COMMIT = "commit", _("Commit")

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NEW)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    stage = models.ForeignKey(
        PipelineStage,
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    probability = models.DecimalField(
        _("probability"), max_digits=4, decimal_places=3, default=Decimal("0")
    )
    expected_close_date = models.DateField(_("expected close"), null=True, blank=True)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
        help_text=_(
            "The rep's call: commit (will close this period), best case (may close) or "
            "pipeline (unlikely yet)."
        ),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_opportunities",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN
    )
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["closed_at", "outcome"]),
            models.Index(fields=["team", "owner"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="opportunity_probability_range",
            ),
            models.CheckConstraint(
                condition=(Q(outcome="open") & Q(closed_at__isnull=True))
                | (~Q(outcome="open") & Q(closed_at__isnull=False)),
                name="opportunity_closed_at_matches_outcome",
            ),
            models.CheckConstraint(
                condition=Q(forecast_category__in=["pipeline", "best_case", "commit"]),
                name="opportunity_forecast_category_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityStageChange(models.Model):
    """One move of an opportunity between stages: the full history the funnel is built from."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.ForeignKey(
        PipelineStage,
        verbose_name=_("from stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        PipelineStage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["opportunity", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.from_stage_id} → {self.to_stage_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class ProductLine(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_gte_0")
        ]

    def __str__(self) -> str:
        return self.name


class Order(EditStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    ordered_at = models.DateTimeField(_("ordered at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.COMPLETED
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    exchange_rate = models.DecimalField(
        _("exchange rate"),
        max_digits=14,
        decimal_places=6,
        default=Decimal("1"),
        help_text=_("Organisation currency per unit of the order currency, at the order date."),
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_total = models.DecimalField(
        _("refunded"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    # (total − refunded) × exchange rate, in the organisation currency; kept by the order services
    # so revenue KPIs sum one column.
    net_amount = models.DecimalField(
        _("net amount"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("sales channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-ordered_at", "id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["ordered_at"]),
            models.Index(fields=["customer", "ordered_at"]),
            models.Index(fields=["status", "ordered_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                name="order_refund_within_total",
            ),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="order_rate_gt_0"),
            models.CheckConstraint(condition=Q(net_amount__gte=0), name="order_net_gte_0"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    # quantity × unit price in the order currency; kept by the order services.
    line_total = models.DecimalField(
        _("line total"), max_digits=14, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_gt_0"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class Refund(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    refunded_at = models.DateTimeField(_("refunded at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["refunded_at", "id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.order_id}"


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        CHAT = "chat", _("Chat")
        NOTE = "note", _("Note")
        TASK = "task", _("Task")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    # Outbound mass mail is logged but is not an interaction (catalogue: engagement_rate).
    is_bulk = models.BooleanField(_("mass mailing"), default=False)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["done_at"]),
            models.Index(fields=["owner", "due_at"]),
            models.Index(fields=["customer", "done_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=False)
                | Q(lead__isnull=False)
                | Q(opportunity__isnull=False),
                name="activity_linked_to_record",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class MarketingSpend(models.Model):
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Exclusive."))
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="marketing_spend",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spend",
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-period_start", "id"]
        verbose_name = _("marketing spend")
        verbose_name_plural = _("marketing spend")
        indexes = [models.Index(fields=["period_start"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="marketing_spend_gte_0"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="marketing_spend_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start}–{self.period_end}: {self.amount}"


class SalesCost(models.Model):
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Exclusive."))
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_costs",
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["-period_start", "id"]
        verbose_name = _("sales cost")
        verbose_name_plural = _("sales costs")
        indexes = [models.Index(fields=["period_start"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_cost_gte_0"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="sales_cost_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start}–{self.period_end}: {self.amount}"


class RetentionCase(models.Model):
    """An outreach to an at-risk customer, with its cost and outcome (win-back KPIs)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETAINED = "retained", _("Retained")
        LOST = "lost", _("Lost")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="retention_cases",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retention_cases",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    outreach = models.TextField(_("outreach"), blank=True)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, default=Decimal("0"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "id"]
        verbose_name = _("retention case")
        verbose_name_plural = _("retention cases")
        indexes = [models.Index(fields=["closed_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="retention_cost_gte_0"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True) & Q(outcome="pending"))
                | (Q(status="closed") & Q(closed_at__isnull=False) & ~Q(outcome="pending")),
                name="retention_case_closed_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"Retention case #{self.pk} ({self.get_outcome_display()})"


class ForecastSnapshot(models.Model):
    """The sales forecast of one period as it stood when the period started, for one scope.

    Taken once per (granularity, period, scope) by `sales.services.forecast_snapshot_take`
    (beat, or on demand); the `forecast_accuracy` and `forecast_bias` KPIs compare it with the
    amount won once the period has closed. Deals counted: open when taken, with an expected
    close date inside the period; open deals without an expected close date, or whose date is
    already past, are counted apart (`excluded_undated`, `excluded_overdue`) and not forecast.
    """

    class Granularity(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")

    class Dimension(models.TextChoices):
        ALL = "all", _("Organisation")
        TEAM = "team", _("Team")
        OWNER = "owner", _("Sales rep")

    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Exclusive."))
    dimension = models.CharField(_("scope"), max_length=10, choices=Dimension.choices)
    # The team's or rep's id as text, "" for the organisation and for deals without one
    # (the same keys as the KPI snapshots' dimension_value).
    dimension_value = models.CharField(_("scope id"), max_length=50, blank=True)
    dimension_label = models.CharField(_("scope name"), max_length=200, blank=True)
    deal_count = models.PositiveIntegerField(_("deals"), default=0)
    pipeline_amount = models.DecimalField(
        _("pipeline amount"), max_digits=16, decimal_places=2, default=Decimal("0")
    )
    weighted_pipeline = models.DecimalField(
        _("weighted pipeline"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Σ amount × stage probability of the period's deals."),
    )
    best_case = models.DecimalField(
        _("best case"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Σ amount of the deals in best case or commit."),
    )
    commit = models.DecimalField(
        _("commit"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Σ amount of the deals in commit."),
    )
    excluded_undated = models.PositiveIntegerField(
        _("deals without expected close date"), default=0
    )
    excluded_overdue = models.PositiveIntegerField(
        _("deals with an expected close date already past"), default=0
    )
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty when the scheduled task took it."),
    )

    class Meta:
        ordering = ["-period_start", "granularity", "dimension", "dimension_label", "id"]
        verbose_name = _("forecast snapshot")
        verbose_name_plural = _("forecast snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start", "dimension", "dimension_value"],
                name="forecast_snapshot_unique_scope",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="forecast_snapshot_period"
            ),
            models.CheckConstraint(
                condition=Q(commit__lte=F("best_case"))
                & Q(best_case__lte=F("pipeline_amount"))
                & Q(weighted_pipeline__lte=F("pipeline_amount"))
                & Q(commit__gte=0)
                & Q(weighted_pipeline__gte=0),
                name="forecast_snapshot_categories_nested",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.granularity} {self.period_start} {self.dimension}:{self.dimension_value}"

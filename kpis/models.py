"""Stored KPI history: one row per (kpi, granularity, period, dimension, dimension value)."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Granularity(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class KpiSnapshot(models.Model):
    kpi = models.CharField(_("KPI"), max_length=50)
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    # Local dates in the organisation's time zone; the period is [period_start, period_end).
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    dimension = models.CharField(_("dimension"), max_length=30, default="all")
    # The dimension value at snapshot time ("" for `all`), so history survives reassignment.
    dimension_value = models.CharField(_("dimension value"), max_length=100, default="")
    dimension_label = models.CharField(_("dimension label"), max_length=200, blank=True)
    # NULL means n/a: a zero denominator is never shown as 0 (catalogue §0.3).
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6, null=True)
    numerator = models.DecimalField(_("numerator"), max_digits=24, decimal_places=6, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=24, decimal_places=6, null=True)
    sample_size = models.PositiveIntegerField(_("sample size"), default=0)
    low_sample = models.BooleanField(_("low sample"), default=False)
    provisional = models.BooleanField(_("provisional"), default=False)
    # KPI-specific figures: duration count/mean/median/p90, NPS counts and margin, caps.
    details = models.JSONField(_("details"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    definition_version = models.PositiveIntegerField(_("definition version"), default=1)

    class Meta:
        ordering = ["kpi", "granularity", "period_start", "dimension", "dimension_value"]
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "granularity", "period_start", "dimension", "dimension_value"],
                name="kpi_snapshot_unique_cell",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="kpi_snapshot_period"
            ),
        ]
        indexes = [
            models.Index(fields=["granularity", "period_start"]),
            models.Index(fields=["kpi", "dimension", "granularity", "period_start"]),
        ]

    def __str__(self) -> str:
        cell = f"{self.dimension}={self.dimension_value}"
        return f"{self.kpi} {self.granularity} {self.period_start} {cell}"


class KpiRun(models.Model):
    """One computation of a (granularity, period): its log, and the row concurrent runs lock on."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    kpi_keys = models.JSONField(_("KPIs"), default=list, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "id"]
        verbose_name = _("KPI run")
        verbose_name_plural = _("KPI runs")
        indexes = [models.Index(fields=["granularity", "period_start", "started_at"])]

    def __str__(self) -> str:
        return f"{self.granularity} {self.period_start} {self.status}"


# --- Composite index, health score, RFM history, targets and alerts (catalogue §1, §3, §4) ---


class LifecycleGroup(models.TextChoices):
    """The index groups: the five customer-lifecycle stages (catalogue §3)."""

    ACQUISITION = "acquisition", _("Acquisition")
    MAINTENANCE = "maintenance", _("Maintenance")
    ENHANCEMENT = "enhancement", _("Enhancement")
    RETENTION = "retention", _("Retention")
    SERVICE = "service", _("Service")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


def default_bands() -> list[dict]:
    """0–50 red, 51–75 yellow, 76–100 green: a score is in the band whose (min, max] holds it."""
    return [
        {"name": "red", "min": 0, "max": 50},
        {"name": "yellow", "min": 50, "max": 75},
        {"name": "green", "min": 75, "max": 100},
    ]


def default_health_config() -> list[dict]:
    """Customer health components (kpis.health): weight and bounded-linear best/worst each."""
    return [
        {"component": "recency", "weight": 25, "best": 0, "worst": 180},
        {"component": "frequency", "weight": 20, "best": 12, "worst": 0},
        {"component": "monetary", "weight": 15, "best": 10000, "worst": 0},
        {"component": "open_complaints", "weight": 15, "best": 0, "worst": 3},
        {"component": "satisfaction", "weight": 15, "best": 100, "worst": 0},
        {"component": "engagement", "weight": 10, "best": 6, "worst": 0},
    ]


class WeightVersion(models.Model):
    """One immutable weights configuration of the composite index and the health score.

    Only a draft may be edited (kpis.index services and the admin enforce it); activating a draft
    retires the previously active version. Index snapshots point at the version they used.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("based on"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_versions",
    )
    min_coverage = models.DecimalField(
        _("minimum coverage"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.700"),
        help_text=_("Below this share of present weight the index is not published (0 to 1)."),
    )
    bands = models.JSONField(_("index bands"), default=default_bands)
    health_config = models.JSONField(_("health score components"), default=default_health_config)
    health_bands = models.JSONField(_("health bands"), default=default_bands)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("index weight version")
        verbose_name_plural = _("index weight versions")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="weight_version_one_active"
            ),
            models.CheckConstraint(
                condition=Q(min_coverage__gte=0) & Q(min_coverage__lte=1),
                name="weight_version_min_coverage_range",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(activated_at__isnull=False),
                name="weight_version_activated_when_used",
            ),
            models.CheckConstraint(
                condition=~Q(status="retired") | Q(retired_at__isnull=False),
                name="weight_version_retired_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Normalisation(models.TextChoices):
    BOUNDED_LINEAR = "bounded_linear", _("Bounded linear (best, worst)")
    TARGET_RATIO = "target_ratio", _("Target ratio")


class IndicatorWeight(models.Model):
    """A KPI in the index: its group, weight, direction and normalisation to 0–100.

    Granularity-independent: the same row scores a month and a quarter, so best/worst are
    values a period of any granularity can reach (rates are, sums and counts are not).
    """

    version = models.ForeignKey(
        WeightVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="indicators",
    )
    kpi = models.CharField(_("KPI"), max_length=50)
    group = models.CharField(_("group"), max_length=20, choices=LifecycleGroup.choices)
    weight = models.DecimalField(
        _("weight"), max_digits=8, decimal_places=3, validators=[MinValueValidator(0)]
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    direction = models.CharField(
        _("direction"), max_length=6, choices=Direction.choices, default=Direction.HIGHER
    )
    normalisation = models.CharField(
        _("normalisation"),
        max_length=20,
        choices=Normalisation.choices,
        default=Normalisation.BOUNDED_LINEAR,
    )
    best = models.DecimalField(
        _("best value"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    worst = models.DecimalField(
        _("worst value"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    target = models.DecimalField(
        _("target value"), max_digits=24, decimal_places=6, null=True, blank=True
    )

    class Meta:
        ordering = ["version", "group", "priority", "kpi"]
        verbose_name = _("indicator weight")
        verbose_name_plural = _("indicator weights")
        constraints = [
            models.UniqueConstraint(fields=["version", "kpi"], name="indicator_weight_unique_kpi"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="indicator_weight_gte_0"),
            # bounded linear: best < worst means lower is better, so it must agree with direction.
            models.CheckConstraint(
                condition=~Q(normalisation="bounded_linear")
                | (Q(direction="higher") & Q(best__gt=F("worst")))
                | (Q(direction="lower") & Q(best__lt=F("worst"))),
                name="indicator_weight_bounds_match_direction",
            ),
            models.CheckConstraint(
                condition=~Q(normalisation="target_ratio") | Q(target__gt=0),
                name="indicator_weight_target_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} ({self.group}) × {self.weight}"


class GroupWeight(models.Model):
    version = models.ForeignKey(
        WeightVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="groups"
    )
    group = models.CharField(_("group"), max_length=20, choices=LifecycleGroup.choices)
    weight = models.DecimalField(
        _("weight"), max_digits=8, decimal_places=3, validators=[MinValueValidator(0)]
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)

    class Meta:
        ordering = ["version", "priority", "group"]
        verbose_name = _("group weight")
        verbose_name_plural = _("group weights")
        constraints = [
            models.UniqueConstraint(fields=["version", "group"], name="group_weight_unique_group"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="group_weight_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.group} × {self.weight}"


class IndexSnapshot(models.Model):
    """The composite index of one period under one weight version; NULL value = not published."""

    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    version = models.ForeignKey(
        WeightVersion,
        verbose_name=_("weight version"),
        # History must keep the version it was computed under.
        on_delete=models.PROTECT,
        related_name="index_snapshots",
    )
    value = models.DecimalField(_("value"), max_digits=6, decimal_places=2, null=True, blank=True)
    coverage = models.DecimalField(_("coverage"), max_digits=5, decimal_places=4)
    band = models.CharField(_("band"), max_length=20, blank=True)
    published = models.BooleanField(_("published"), default=False)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        ordering = ["granularity", "-period_start", "version"]
        verbose_name = _("index snapshot")
        verbose_name_plural = _("index snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start", "version"], name="index_snapshot_unique"
            ),
            models.CheckConstraint(
                condition=Q(coverage__gte=0) & Q(coverage__lte=1), name="index_coverage_range"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | (Q(value__gte=0) & Q(value__lte=100)),
                name="index_value_range",
            ),
            models.CheckConstraint(
                condition=(Q(published=True) & Q(value__isnull=False))
                | (Q(published=False) & Q(value__isnull=True)),
                name="index_published_has_value",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="index_snapshot_period"
            ),
        ]

    def __str__(self) -> str:
        return f"index {self.granularity} {self.period_start} v{self.version_id} = {self.value}"


class GroupScore(models.Model):
    snapshot = models.ForeignKey(
        IndexSnapshot, verbose_name=_("snapshot"), on_delete=models.CASCADE, related_name="groups"
    )
    group = models.CharField(_("group"), max_length=20, choices=LifecycleGroup.choices)
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=3)
    # NULL when none of the group's indicators had a value.
    score = models.DecimalField(_("score"), max_digits=7, decimal_places=4, null=True)
    effective_share = models.DecimalField(_("effective share"), max_digits=7, decimal_places=6)
    coverage = models.DecimalField(_("coverage"), max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["snapshot", "group"]
        verbose_name = _("group score")
        verbose_name_plural = _("group scores")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "group"], name="group_score_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.score}"


class IndexContribution(models.Model):
    """One indicator's part in an index snapshot: the input of the "why did it move" waterfall."""

    snapshot = models.ForeignKey(
        IndexSnapshot,
        verbose_name=_("snapshot"),
        on_delete=models.CASCADE,
        related_name="contributions",
    )
    kpi = models.CharField(_("KPI"), max_length=50)
    group = models.CharField(_("group"), max_length=20, choices=LifecycleGroup.choices)
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=3)
    raw_value = models.DecimalField(
        _("raw value"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    normalised_score = models.DecimalField(
        _("normalised score"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    # Share of the index this indicator carried after rescaling (0 when missing).
    effective_share = models.DecimalField(_("effective share"), max_digits=7, decimal_places=6)
    # effective share × normalised score: the points of the index it contributed.
    contribution = models.DecimalField(_("contribution"), max_digits=7, decimal_places=4)
    present = models.BooleanField(_("present"), default=True)
    missing_reason = models.CharField(_("missing reason"), max_length=20, blank=True)

    class Meta:
        ordering = ["snapshot", "group", "kpi"]
        verbose_name = _("index contribution")
        verbose_name_plural = _("index contributions")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "kpi"], name="index_contribution_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.contribution}"


class CustomerSegmentSnapshot(models.Model):
    """The RFM scores and named segment a customer had at a KPI snapshot (catalogue §1)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="segment_snapshots",
    )
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    as_of = models.DateTimeField(_("as of"))
    rfm_segment = models.CharField(_("RFM segment"), max_length=20, blank=True)
    r = models.PositiveSmallIntegerField(_("R score"))
    f = models.PositiveSmallIntegerField(_("F score"))
    m = models.PositiveSmallIntegerField(_("M score"))
    recency_days = models.PositiveIntegerField(_("days since last order"))
    frequency = models.PositiveIntegerField(_("order days (365 d)"))
    monetary = models.DecimalField(_("net revenue (365 d)"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["granularity", "-period_start", "customer"]
        verbose_name = _("customer segment snapshot")
        verbose_name_plural = _("customer segment snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "granularity", "period_start"],
                name="customer_segment_snapshot_unique",
            ),
            models.CheckConstraint(
                condition=Q(r__gte=1)
                & Q(r__lte=5)
                & Q(f__gte=1)
                & Q(f__lte=5)
                & Q(m__gte=1)
                & Q(m__lte=5),
                name="customer_segment_scores_range",
            ),
        ]
        indexes = [models.Index(fields=["granularity", "period_start", "rfm_segment"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.period_start}: {self.rfm_segment}"


class CustomerHealthSnapshot(models.Model):
    """A customer's health score at a KPI snapshot; the latest also lives on Customer."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="health_snapshots",
    )
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    as_of = models.DateTimeField(_("as of"))
    version = models.ForeignKey(
        WeightVersion,
        verbose_name=_("weight version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="health_snapshots",
    )
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True)
    band = models.CharField(_("band"), max_length=20, blank=True)
    # {component: {"value": raw, "score": 0–100 or null, "weight": w}}
    components = models.JSONField(_("components"), default=dict)

    class Meta:
        ordering = ["granularity", "-period_start", "customer"]
        verbose_name = _("customer health snapshot")
        verbose_name_plural = _("customer health snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "granularity", "period_start"],
                name="customer_health_snapshot_unique",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="customer_health_snapshot_range",
            ),
        ]
        indexes = [models.Index(fields=["granularity", "period_start", "band"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.period_start}: {self.score}"


class Target(models.Model):
    """A goal for a KPI in one period; relative kinds resolve against a baseline period."""

    class Kind(models.TextChoices):
        ABSOLUTE = "absolute", _("Absolute value")
        RELATIVE_CHANGE_PCT = "relative_change_pct", _("Relative change (%)")
        PP_CHANGE = "pp_change", _("Percentage-point change")

    kpi = models.CharField(_("KPI"), max_length=50)
    dimension = models.CharField(_("dimension"), max_length=30, default="all")
    dimension_value = models.CharField(_("dimension value"), max_length=100, blank=True)
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # absolute: the value in the KPI's unit; relative: % of the baseline (−5 = 5 % lower);
    # pp: percentage points (−5 on a 12 % rate = 7 %).
    amount = models.DecimalField(_("amount"), max_digits=24, decimal_places=6)
    baseline_period_start = models.DateField(
        _("baseline period start"),
        null=True,
        blank=True,
        help_text=_("Relative kinds: the period compared with; empty = the previous period."),
    )
    notes = models.CharField(_("notes"), max_length=200, blank=True)
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
        ordering = ["kpi", "granularity", "-period_start"]
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "dimension", "dimension_value", "granularity", "period_start"],
                name="target_unique_cell",
            ),
            models.CheckConstraint(
                condition=Q(baseline_period_start__isnull=True)
                | Q(baseline_period_start__lt=F("period_start")),
                name="target_baseline_before_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.granularity} {self.period_start}: {self.kind} {self.amount}"

    def resolved_value(self, baseline: Decimal | None, *, points_scale: Decimal) -> Decimal | None:
        """The absolute value this target means; None when a relative kind has no baseline.

        `points_scale` is what one percentage point is in the KPI's stored unit (0.01 for a rate
        stored as a fraction, 1 for NPS); kpis.targets decides it from the KPI's unit.
        """
        if self.kind == self.Kind.ABSOLUTE:
            return self.amount
        if baseline is None:
            return None
        if self.kind == self.Kind.RELATIVE_CHANGE_PCT:
            return baseline * (1 + self.amount / 100)
        return baseline + self.amount * points_scale


class AlertRule(models.Model):
    """Watches one KPI cell (catalogue §4): thresholds, change vs the previous period (relative %
    or in the KPI's unit), missing the cell's target, or leaving the band of the trailing
    periods. Thresholds are stored in the KPI's stored unit (a rate as a fraction)."""

    name = models.CharField(_("name"), max_length=100)
    kpi = models.CharField(_("KPI"), max_length=50)
    dimension = models.CharField(_("dimension"), max_length=30, default="all")
    dimension_value = models.CharField(_("dimension value"), max_length=100, blank=True)
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    lower_threshold = models.DecimalField(
        _("lower threshold"),
        max_digits=24,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Breach when the value is below this."),
    )
    upper_threshold = models.DecimalField(
        _("upper threshold"),
        max_digits=24,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Breach when the value is above this."),
    )
    change_pct = models.DecimalField(
        _("change vs previous period (%)"),
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_(
            "Negative: breach on a drop of at least this many %; positive: on a rise of at least."
        ),
    )
    change_abs = models.DecimalField(
        _("change vs previous period (KPI unit)"),
        max_digits=24,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_(
            "Negative: breach on a fall of at least this much (NPS points, a rate's fraction); "
            "positive: on a rise of at least."
        ),
    )
    misses_target = models.BooleanField(
        _("misses its target"),
        default=False,
        help_text=_("Breach when a closed period is worse than the target set for this cell."),
    )
    unusual = models.BooleanField(
        _("unusual"),
        default=False,
        help_text=_("Breach when the value leaves the band of the trailing 12 periods."),
    )
    min_sample = models.PositiveIntegerField(
        _("minimum sample"),
        default=0,
        help_text=_("Periods with a smaller sample are skipped."),
    )
    hysteresis = models.DecimalField(
        _("hysteresis"),
        max_digits=24,
        decimal_places=6,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
        help_text=_(
            "A threshold or target counts as OK again only this far on the good side of it."
        ),
    )
    fire_after = models.PositiveSmallIntegerField(
        _("fire after N breaching snapshots"), default=1, validators=[MinValueValidator(1)]
    )
    resolve_after = models.PositiveSmallIntegerField(
        _("resolve after M OK snapshots"), default=1, validators=[MinValueValidator(1)]
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipients"),
        blank=True,
        related_name="kpi_alert_rules",
    )
    # Role (group) names whose members are notified; resolved when the rule fires.
    recipient_roles = models.JSONField(_("recipient roles"), default=list, blank=True)
    recipient_teams = models.ManyToManyField(
        "customers.Team",
        verbose_name=_("recipient teams"),
        blank=True,
        related_name="kpi_alert_rules",
    )
    notify_in_app = models.BooleanField(_("notify in the app"), default=True)
    notify_email = models.BooleanField(_("notify by e-mail"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
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
        ordering = ["kpi", "name"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(lower_threshold__isnull=False)
                | Q(upper_threshold__isnull=False)
                | Q(change_pct__isnull=False)
                | Q(change_abs__isnull=False)
                | Q(misses_target=True)
                | Q(unusual=True),
                name="alert_rule_has_a_condition",
            ),
            models.CheckConstraint(
                condition=Q(lower_threshold__isnull=True)
                | Q(upper_threshold__isnull=True)
                | Q(lower_threshold__lt=F("upper_threshold")),
                name="alert_rule_thresholds_ordered",
            ),
            models.CheckConstraint(
                condition=Q(change_pct__isnull=True) | ~Q(change_pct=0),
                name="alert_rule_change_not_zero",
            ),
            models.CheckConstraint(
                condition=Q(fire_after__gte=1) & Q(resolve_after__gte=1),
                name="alert_rule_counts_positive",
            ),
            models.CheckConstraint(
                condition=~Q(change_abs=0), name="alert_rule_change_abs_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(notify_in_app=True) | Q(notify_email=True),
                name="alert_rule_has_a_channel",
            ),
            models.CheckConstraint(
                condition=Q(hysteresis__gte=0), name="alert_rule_hysteresis_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertEvaluation(models.Model):
    """The log of every evaluation of a rule against a period's snapshot."""

    class Outcome(models.TextChoices):
        BREACH = "breach", _("Breach")
        OK = "ok", _("OK")
        SKIPPED = "skipped", _("Skipped")

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="evaluations"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6, null=True, blank=True)
    previous_value = models.DecimalField(
        _("previous value"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), default=timezone.now)

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        verbose_name = _("alert evaluation")
        verbose_name_plural = _("alert evaluations")
        indexes = [models.Index(fields=["rule", "period_start", "evaluated_at"])]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.period_start}: {self.outcome}"


class Alert(models.Model):
    """One firing episode of a rule, from the transition to firing until resolved."""

    class State(models.TextChoices):
        OK = "ok", _("OK")
        FIRING = "firing", _("Firing")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts"
    )
    state = models.CharField(_("state"), max_length=15, choices=State.choices, default=State.FIRING)
    granularity = models.CharField(_("granularity"), max_length=10, choices=Granularity.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6, null=True, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    fired_at = models.DateTimeField(_("fired at"), default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # The newest evaluated period when it was resolved: a new episode needs later breaches.
    resolved_period_start = models.DateField(_("resolved in period"), null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            # At most one open episode per rule.
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(state__in=["firing", "acknowledged"]),
                name="alert_one_open_per_rule",
            ),
            models.CheckConstraint(
                condition=~Q(state="acknowledged") | Q(acknowledged_at__isnull=False),
                name="alert_acknowledged_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="resolved") | Q(resolved_at__isnull=False),
                name="alert_resolved_has_time",
            ),
        ]
        indexes = [models.Index(fields=["state", "fired_at"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.period_start} {self.state}"


# --- Reports: annotations, digest subscriptions and their send log (issue 8) -----------------


class Annotation(models.Model):
    """A note explaining a period: on one KPI and period, or on a date range for all KPIs.

    The days are inclusive (``starts_on`` to ``ends_on``) because that is how people name an
    outage or a campaign; kpis.annotations.annotations_for matches them against half-open periods.
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
    """Who gets which KPI digest, how often and at which scope (kpis.digests validates it)."""

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

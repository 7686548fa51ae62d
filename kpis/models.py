"""Stored KPI history: one row per (kpi, granularity, period, dimension, dimension value)."""

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
    denominator = models.DecimalField(
        _("denominator"), max_digits=24, decimal_places=6, null=True
    )
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
        return f"{self.kpi} {self.granularity} {self.period_start} {self.dimension}={self.dimension_value}"


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

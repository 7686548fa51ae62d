"""Customer predictions: BG/NBD + Gamma-Gamma model runs and each customer's latest scores."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Segment


class PredictionRun(models.Model):
    """One fit of BG/NBD and Gamma-Gamma at a calibration date, logged like a KPI run.

    Only a succeeded run is used for scoring; a failed one keeps its error and the previous
    succeeded run of the same scope (organisation or segment) stays in use.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        COMMAND = "command", _("Command")
        SCHEDULE = "schedule", _("Weekly schedule")
        USER = "user", _("User")

    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        # A segment's models are history; deleting the segment keeps them out of use.
        on_delete=models.SET_NULL,
        related_name="prediction_runs",
        help_text=_("Empty: fitted on the whole organisation."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    calibration_end = models.DateField(
        _("calibration end"), help_text=_("The last day whose orders are included.")
    )
    data_start = models.DateField(_("first transaction"), null=True, blank=True)
    # BG/NBD: purchase rate ~ Gamma(r, α), dropout probability ~ Beta(a, b).
    r = models.FloatField("r", null=True, blank=True)
    alpha = models.FloatField("α", null=True, blank=True)
    a = models.FloatField("a", null=True, blank=True)
    b = models.FloatField("b", null=True, blank=True)
    log_likelihood = models.FloatField(_("log-likelihood (BG/NBD)"), null=True, blank=True)
    # Gamma-Gamma: spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, v).
    p = models.FloatField("p", null=True, blank=True)
    q = models.FloatField("q", null=True, blank=True)
    v = models.FloatField("v", null=True, blank=True)
    gamma_gamma_log_likelihood = models.FloatField(
        _("log-likelihood (Gamma-Gamma)"), null=True, blank=True
    )
    customers = models.PositiveIntegerField(_("customers used"), default=0)
    repeat_customers = models.PositiveIntegerField(_("repeat customers"), default=0)
    value_customers = models.PositiveIntegerField(_("customers in the spend model"), default=0)
    exclusions = models.JSONField(
        _("excluded"),
        default=dict,
        blank=True,
        help_text=_("Records left out of the fit, by stated reason, with their numbers."),
    )
    tracking = models.JSONField(
        _("calibration and holdout tracking"),
        default=dict,
        blank=True,
        help_text=_("Actual and expected repeat transactions per week, stored at fit time."),
    )
    fit_seconds = models.FloatField(_("fit time (s)"), null=True, blank=True)
    trigger = models.CharField(
        _("started by"), max_length=10, choices=Trigger.choices, default=Trigger.COMMAND
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prediction_runs",
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("prediction model run")
        verbose_name_plural = _("prediction model runs")
        indexes = [models.Index(fields=["status", "segment", "started_at"])]

    def __str__(self) -> str:
        return f"{self.calibration_end} {self.status}"

    @property
    def population_order_value(self) -> float | None:
        """p·v/(q−1): the Gamma-Gamma mean spend per transaction of a new customer."""
        if self.p is None or self.q is None or self.v is None or self.q <= 1:
            return None
        return self.p * self.v / (self.q - 1)


class CustomerPrediction(models.Model):
    """A customer's latest scores (one row each, replaced by every scoring)."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="prediction",
    )
    run = models.ForeignKey(
        PredictionRun,
        verbose_name=_("model run"),
        # The run holds the parameters these figures came from.
        on_delete=models.PROTECT,
        related_name="predictions",
    )
    as_of = models.DateField(_("scored as of"))
    scored_at = models.DateTimeField(_("scored at"))
    transactions = models.PositiveIntegerField(_("purchase days"))
    last_purchase_on = models.DateField(_("last purchase"))
    p_alive = models.DecimalField(_("probability still active"), max_digits=5, decimal_places=4)
    expected_purchases_90d = models.DecimalField(
        _("expected purchases, next 90 days"), max_digits=10, decimal_places=4
    )
    expected_order_value = models.DecimalField(
        _("expected order value"), max_digits=14, decimal_places=2
    )
    predicted_clv = models.DecimalField(
        _("predicted CLV (12 months)"), max_digits=14, decimal_places=2
    )

    class Meta:
        ordering = ["-predicted_clv", "customer_id"]
        verbose_name = _("customer prediction")
        verbose_name_plural = _("customer predictions")
        indexes = [
            models.Index(fields=["p_alive"]),
            models.Index(fields=["-predicted_clv"]),
            models.Index(fields=["expected_purchases_90d"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(p_alive__gte=0) & Q(p_alive__lte=1),
                name="prediction_p_alive_range",
            ),
            models.CheckConstraint(
                condition=Q(expected_purchases_90d__gte=0)
                & Q(expected_order_value__gte=0)
                & Q(predicted_clv__gte=0),
                name="prediction_figures_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: P(alive) {self.p_alive}, CLV {self.predicted_clv}"

    @property
    def alive_percent(self) -> int:
        return round(self.p_alive * 100)

    @property
    def weeks_since_last_purchase(self) -> int:
        return round((self.as_of - self.last_purchase_on).days / 7)

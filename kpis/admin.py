"""Admin for the kpis app: everything readable, nothing about KPI configuration editable.

Weight versions, targets and alert rules are edited on their product pages (kpis:weights,
kpis:targets, kpis:alert_rules), which write through the services of kpis.index, kpis.targets and
kpis.alerts and record the audit trail; here each row links to the page that edits it. The only
writes left are the alert actions, which call kpis.alerts' services.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from crm.templatetags.readable import band_label
from kpis import charts
from kpis.alerts import alert_threshold_text
from kpis.models import (
    Alert,
    AlertEvaluation,
    AlertRule,
    CustomerHealthSnapshot,
    CustomerSegmentSnapshot,
    GroupScore,
    GroupWeight,
    IndexContribution,
    IndexSnapshot,
    IndicatorWeight,
    KpiRun,
    KpiSnapshot,
    Target,
    WeightVersion,
)
from kpis.selectors import targets_with_values
from kpis.services import alert_acknowledge, alert_resolve
from kpis.targets import progress_of, target_sentence
from kpis.weight_forms import HEALTH_LABELS, HEALTH_UNITS, to_display, unit_suffix


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable and filterable, never edited by hand: history is written by the KPI run,
    configuration by its product pages."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- KPI history ----------------------------------------------------------------------------


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "kpi",
        "granularity",
        "period_start",
        "dimension",
        "dimension_value",
        "value",
        "numerator",
        "denominator",
        "sample_size",
        "low_sample",
        "provisional",
        "computed_at",
    ]
    list_filter = ["granularity", "dimension", "low_sample", "provisional", "kpi"]
    search_fields = ["kpi", "dimension_value", "dimension_label"]
    date_hierarchy = "period_start"
    show_full_result_count = False


@admin.register(KpiRun)
class KpiRunAdmin(ReadOnlyAdmin):
    list_display = [
        "granularity",
        "period_start",
        "period_end",
        "status",
        "rows_written",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "granularity"]
    date_hierarchy = "started_at"


# --- weight versions: read here, edited on the weights page ------------------------------------


def _product_link(url: str, text: Any) -> str:
    return format_html('<a href="{}" data-testid="admin-product-link">{}</a>', url, text)


def _band_text(bands: Any) -> str:
    """ "red 0–40 · yellow 40–70 · green 70–100": band names in the reader's language."""
    return " · ".join(
        f"{band_label(band.get('name'))} {band.get('min')}–{band.get('max')}"
        for band in bands or []
        if isinstance(band, dict)
    )


def _health_text(components: Any) -> str:
    rows = []
    for row in components or []:
        if not isinstance(row, dict):
            continue
        name = str(row.get("component", ""))
        suffix = unit_suffix(HEALTH_UNITS.get(name, ""))
        best, worst = (f"{row.get(key)} {suffix}".strip() for key in ("best", "worst"))
        rows.append(
            _("%(name)s: weight %(weight)s, best %(best)s, worst %(worst)s")
            % {"name": HEALTH_LABELS.get(name, name), "weight": row.get("weight"), "best": best,
               "worst": worst}
        )  # fmt: skip
    return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows))


def _bound_text(kpi: str, value: Decimal | None) -> str:
    """A stored bound in the KPI's display unit (a rate's fraction as a percentage)."""
    if value is None:
        return "—"
    unit = charts.kpi_presentation(kpi).unit
    return f"{to_display(value, unit)} {unit_suffix(unit)}".strip()


class GroupWeightInline(ReadOnlyInline):
    model = GroupWeight
    fields = readonly_fields = ("group", "weight", "priority")


class IndicatorWeightInline(ReadOnlyInline):
    model = IndicatorWeight
    fields = readonly_fields = (
        "indicator",
        "group",
        "weight",
        "priority",
        "normalisation",
        "direction",
        "best_shown",
        "worst_shown",
        "target_shown",
    )

    @admin.display(description=_("KPI"))
    def indicator(self, obj: IndicatorWeight) -> str:
        return format_html("{} <code>{}</code>", charts.kpi_presentation(obj.kpi).name, obj.kpi)

    @admin.display(description=_("best value"))
    def best_shown(self, obj: IndicatorWeight) -> str:
        return _bound_text(obj.kpi, obj.best)

    @admin.display(description=_("worst value"))
    def worst_shown(self, obj: IndicatorWeight) -> str:
        return _bound_text(obj.kpi, obj.worst)

    @admin.display(description=_("Target"))
    def target_shown(self, obj: IndicatorWeight) -> str:
        return _bound_text(obj.kpi, obj.target)


@admin.register(WeightVersion)
class WeightVersionAdmin(ReadOnlyAdmin):
    """Weight versions are drafted, previewed and activated on the weights page (kpis:weights),
    where every change goes through kpis.index's services and the audit trail; here they are
    read only, in display units rather than as raw JSON."""

    inlines = [GroupWeightInline, IndicatorWeightInline]
    list_display = [
        "name",
        "status",
        "coverage_minimum",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "retired_at",
        "weights_page",
    ]
    list_filter = ["status"]
    list_select_related = ["created_by", "activated_by"]
    fields = readonly_fields = (
        "name",
        "status",
        "weights_page",
        "notes",
        "coverage_minimum",
        "index_bands",
        "health_components",
        "health_score_bands",
        "based_on",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "retired_at",
    )
    change_form_template = "admin/kpis/weightversion/change_form.html"
    change_list_template = "admin/kpis/weightversion/change_list.html"

    @admin.display(description=_("Edit"))
    def weights_page(self, obj: WeightVersion) -> str:
        return _product_link(
            reverse("kpis:weights_version", args=[obj.pk]),
            _("Edit on the weights page") if obj.is_editable else _("Open on the weights page"),
        )

    @admin.display(description=_("minimum coverage"))
    def coverage_minimum(self, obj: WeightVersion) -> str:
        return f"{to_display(obj.min_coverage, charts.UNIT_RATE)} %"

    @admin.display(description=_("index bands"))
    def index_bands(self, obj: WeightVersion) -> str:
        return _band_text(obj.bands)

    @admin.display(description=_("health score components"))
    def health_components(self, obj: WeightVersion) -> str:
        return _health_text(obj.health_config)

    @admin.display(description=_("health bands"))
    def health_score_bands(self, obj: WeightVersion) -> str:
        return _band_text(obj.health_bands)


# --- index history --------------------------------------------------------------------------


class GroupScoreInline(ReadOnlyInline):
    model = GroupScore
    fields = readonly_fields = ("group", "weight", "score", "effective_share", "coverage")


class IndexContributionInline(ReadOnlyInline):
    model = IndexContribution
    fields = readonly_fields = (
        "kpi",
        "group",
        "weight",
        "raw_value",
        "normalised_score",
        "effective_share",
        "contribution",
        "present",
        "missing_reason",
    )


@admin.register(IndexSnapshot)
class IndexSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "granularity",
        "period_start",
        "version",
        "value",
        "coverage",
        "band",
        "published",
        "computed_at",
    ]
    list_filter = ["granularity", "published", "band", "version"]
    list_select_related = ["version"]
    date_hierarchy = "period_start"
    inlines = [GroupScoreInline, IndexContributionInline]


@admin.register(CustomerSegmentSnapshot)
class CustomerSegmentSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "granularity",
        "period_start",
        "rfm_segment",
        "r",
        "f",
        "m",
        "recency_days",
        "frequency",
        "monetary",
    ]
    list_filter = ["granularity", "rfm_segment"]
    list_select_related = ["customer"]
    search_fields = ["customer__name"]
    date_hierarchy = "period_start"
    show_full_result_count = False


@admin.register(CustomerHealthSnapshot)
class CustomerHealthSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["customer", "granularity", "period_start", "score", "band", "version"]
    list_filter = ["granularity", "band"]
    list_select_related = ["customer", "version"]
    search_fields = ["customer__name"]
    date_hierarchy = "period_start"
    show_full_result_count = False


# --- targets and alert rules: read here, edited on their pages ----------------------------------


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    """Targets are set on the targets page (kpis:targets) through kpis.services."""

    list_display = [
        "kpi_name",
        "dimension_value",
        "granularity",
        "period_start",
        "sentence",
        "progress",
        "targets_page",
    ]
    list_filter = ["granularity", "kind", "kpi"]
    change_list_template = "admin/kpis/product_page_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Target]:
        return targets_with_values(super().get_queryset(request))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"product_page_url": reverse("kpis:targets"), "product_page": _("Targets")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    @admin.display(description=_("KPI"), ordering="kpi")
    def kpi_name(self, obj: Target) -> str:
        return str(charts.kpi_presentation(obj.kpi).name)

    @admin.display(description=_("Target"))
    def sentence(self, obj: Target) -> str:
        return target_sentence(
            kpi=obj.kpi,
            granularity=obj.granularity,
            period_start=obj.period_start,
            kind=obj.kind,
            amount=obj.amount,
            baseline=getattr(obj, "baseline_value", None),
            baseline_period_start=obj.baseline_period_start,
        )

    @admin.display(description=_("progress"))
    def progress(self, obj: Target) -> str:
        progress = progress_of(
            obj,
            baseline=getattr(obj, "baseline_value", None),
            current=getattr(obj, "current_value", None),
        ).progress
        return "—" if progress is None else f"{progress * 100:.0f} %"

    @admin.display(description=_("Edit"))
    def targets_page(self, obj: Target) -> str:
        return _product_link(reverse("kpis:target_edit", args=[obj.pk]), _("Edit"))


@admin.register(AlertRule)
class AlertRuleAdmin(ReadOnlyAdmin):
    """Alert rules are made on the alert rules page (kpis:alert_rules) through kpis.services."""

    list_display = [
        "name",
        "kpi_name",
        "dimension_value",
        "granularity",
        "condition",
        "fire_after",
        "resolve_after",
        "is_active",
        "rules_page",
    ]
    list_filter = ["is_active", "granularity", "kpi"]
    search_fields = ["name", "kpi"]
    exclude = ["recipient_roles"]
    change_list_template = "admin/kpis/product_page_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"product_page_url": reverse("kpis:alert_rules"), "product_page": _("Alert rules")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    @admin.display(description=_("KPI"), ordering="kpi")
    def kpi_name(self, obj: AlertRule) -> str:
        return str(charts.kpi_presentation(obj.kpi).name)

    @admin.display(description=_("condition"))
    def condition(self, obj: AlertRule) -> str:
        return alert_threshold_text(obj, None)

    @admin.display(description=_("Edit"))
    def rules_page(self, obj: AlertRule) -> str:
        return _product_link(reverse("kpis:alert_rule_edit", args=[obj.pk]), _("Edit"))


@admin.register(AlertEvaluation)
class AlertEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["rule", "period_start", "outcome", "value", "previous_value", "reason"]
    list_filter = ["outcome", "rule"]
    list_select_related = ["rule"]
    date_hierarchy = "evaluated_at"
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "rule",
        "state",
        "period_start",
        "value",
        "fired_at",
        "acknowledged_by",
        "resolved_at",
    ]
    list_filter = ["state", "granularity", "rule"]
    list_select_related = ["rule", "acknowledged_by"]
    date_hierarchy = "fired_at"
    actions = ["acknowledge", "resolve"]
    readonly_fields = [
        "rule",
        "state",
        "granularity",
        "period_start",
        "period_end",
        "value",
        "message",
        "fired_at",
        "acknowledged_by",
        "acknowledged_at",
        "resolved_by",
        "resolved_at",
        "resolved_period_start",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are fired by evaluation only

    def _apply(
        self, request: HttpRequest, alerts: Sequence[Alert], service: Any, done: str | Promise
    ) -> None:
        changed, refused = 0, 0
        for alert in alerts:
            try:
                service(alert=alert, actor=request.user)
                changed += 1
            except ValidationError:
                refused += 1
        if changed:
            self.message_user(request, done % {"count": changed})
        if refused:
            self.message_user(
                request,
                _("%(count)d alert(s) were in the wrong state and left unchanged.")
                % {"count": refused},
                messages.WARNING,
            )

    @admin.action(description=_("Acknowledge the selected alerts"), permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._apply(
            request, list(queryset), alert_acknowledge, _("%(count)d alert(s) acknowledged.")
        )

    @admin.action(description=_("Resolve the selected alerts"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._apply(request, list(queryset), alert_resolve, _("%(count)d alert(s) resolved."))


# --- row-level lists (editing happens in the version and snapshot pages) ---------------------


@admin.register(IndicatorWeight)
class IndicatorWeightAdmin(ReadOnlyAdmin):
    """Every indicator row across versions, e.g. to see how a KPI's weight changed."""

    list_display = [
        "kpi",
        "version",
        "group",
        "weight",
        "priority",
        "direction",
        "normalisation",
        "best",
        "worst",
        "target",
    ]
    list_filter = ["version__status", "group", "normalisation", "version"]
    list_select_related = ["version"]
    search_fields = ["kpi"]


@admin.register(GroupWeight)
class GroupWeightAdmin(ReadOnlyAdmin):
    list_display = ["group", "version", "weight", "priority"]
    list_filter = ["version__status", "group", "version"]
    list_select_related = ["version"]


@admin.register(GroupScore)
class GroupScoreAdmin(ReadOnlyAdmin):
    list_display = ["snapshot", "group", "score", "weight", "effective_share", "coverage"]
    list_filter = ["group", "snapshot__granularity"]
    list_select_related = ["snapshot"]
    show_full_result_count = False


@admin.register(IndexContribution)
class IndexContributionAdmin(ReadOnlyAdmin):
    """One KPI's contributions over time: the raw material of the index waterfall."""

    list_display = [
        "snapshot",
        "kpi",
        "group",
        "raw_value",
        "normalised_score",
        "effective_share",
        "contribution",
        "present",
        "missing_reason",
    ]
    list_filter = ["group", "present", "missing_reason", "snapshot__granularity", "kpi"]
    list_select_related = ["snapshot"]
    search_fields = ["kpi"]
    show_full_result_count = False

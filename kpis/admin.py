"""Admin for the kpis app: read-only KPI history, the index weight editor, targets and alerts.

The admin holds no rules of its own: forms call the same validators as the services, and the
actions call kpis.index / kpis.alerts services.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kpis.alerts import alert_acknowledge, alert_resolve
from kpis.index import (
    validate_bands,
    validate_health_config,
    weight_version_activate,
    weight_version_create_draft,
)
from kpis.models import (
    Alert,
    AlertEvaluation,
    AlertRule,
    CustomerHealthSnapshot,
    CustomerSegmentSnapshot,
    Direction,
    GroupScore,
    GroupWeight,
    IndexContribution,
    IndexSnapshot,
    IndicatorWeight,
    KpiRun,
    KpiSnapshot,
    Normalisation,
    Target,
    WeightVersion,
)
from kpis.targets import (
    kpi_is_known,
    period_shift,
    progress_of,
    target_clean,
    targets_with_values,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written by the KPI run: viewable and filterable, never edited by hand."""

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


# --- the weight editor ----------------------------------------------------------------------


class DraftOnlyInline(admin.TabularInline):
    """Rows of a weight version: editable while the version is a draft, read-only afterwards."""

    extra = 0

    def _editable(self, obj: WeightVersion | None) -> bool:
        return obj is None or obj.is_editable

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class GroupWeightInline(DraftOnlyInline):
    model = GroupWeight
    fields = ["group", "weight", "priority"]


class IndicatorWeightForm(forms.ModelForm):
    class Meta:
        model = IndicatorWeight
        fields = [
            "kpi",
            "group",
            "weight",
            "priority",
            "normalisation",
            "direction",
            "best",
            "worst",
            "target",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kpi") and not kpi_is_known(data["kpi"]):
            self.add_error("kpi", _("Unknown KPI key."))
        best, worst = data.get("best"), data.get("worst")
        if data.get("normalisation") == Normalisation.BOUNDED_LINEAR:
            if best is None or worst is None or best == worst:
                raise ValidationError(_("Bounded linear needs different best and worst values."))
            # best < worst means lower is better: the bounds decide the direction.
            data["direction"] = Direction.HIGHER if best > worst else Direction.LOWER
            self.instance.direction = data["direction"]
        return data


class IndicatorWeightInline(DraftOnlyInline):
    model = IndicatorWeight
    form = IndicatorWeightForm


class WeightVersionForm(forms.ModelForm):
    class Meta:
        model = WeightVersion
        fields = ["name", "notes", "min_coverage", "bands", "health_config", "health_bands"]

    # The validators raise field-keyed errors; a clean_<field> method must raise plain ones.
    def clean_bands(self) -> Any:
        try:
            return validate_bands(self.cleaned_data.get("bands"))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean_health_bands(self) -> Any:
        try:
            return validate_bands(self.cleaned_data.get("health_bands"))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean_health_config(self) -> Any:
        try:
            return validate_health_config(self.cleaned_data.get("health_config"))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


@admin.register(WeightVersion)
class WeightVersionAdmin(admin.ModelAdmin):
    form = WeightVersionForm
    inlines = [GroupWeightInline, IndicatorWeightInline]
    list_display = [
        "name",
        "status",
        "min_coverage",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "retired_at",
    ]
    list_filter = ["status"]
    list_select_related = ["created_by", "activated_by"]
    readonly_fields = [
        "status",
        "based_on",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "retired_at",
    ]
    actions = ["create_draft", "activate"]
    change_form_template = "admin/kpis/weightversion/change_form.html"
    change_list_template = "admin/kpis/weightversion/change_list.html"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An active or retired version is immutable: its page is read-only.
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not obj.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: WeightVersion, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
            obj.status = WeightVersion.Status.DRAFT
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="kpis_weightversion_preview",
            ),
            path(
                "create-draft/",
                self.admin_site.admin_view(self.create_draft_view),
                name="kpis_weightversion_create_draft",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Create a draft copy of the selected version"), permissions=["add"])
    def create_draft(self, request: HttpRequest, queryset: QuerySet[WeightVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to copy."), messages.ERROR)
            return
        source = queryset.get()
        draft = weight_version_create_draft(actor=request.user, source=source)
        self.message_user(request, _("Draft “%(name)s” created.") % {"name": draft.name})

    @admin.action(description=_("Activate the selected draft"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[WeightVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one draft to activate."), messages.ERROR)
            return
        try:
            version = weight_version_activate(version=queryset.get(), actor=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("“%(name)s” is now active.") % {"name": version.name})

    def create_draft_view(self, request: HttpRequest) -> HttpResponse:
        """POST: a new draft copied from the active version, then its edit page."""
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        draft = weight_version_create_draft(actor=request.user)
        self.message_user(request, _("Draft “%(name)s” created.") % {"name": draft.name})
        return HttpResponseRedirect(reverse("admin:kpis_weightversion_change", args=[draft.pk]))

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The preview is a product page (kpis.weights_views): it offers to compute the periods
        that have no snapshots instead of showing nothing."""
        version = get_object_or_404(WeightVersion, pk=object_id)
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        return HttpResponseRedirect(
            reverse("kpis:weights_preview", args=[version.pk]) + "?granularity=quarter"
        )


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


# --- targets --------------------------------------------------------------------------------


class TargetForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = [
            "kpi",
            "dimension",
            "dimension_value",
            "granularity",
            "period_start",
            "kind",
            "amount",
            "baseline_period_start",
            "notes",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        required = ("kpi", "granularity", "period_start", "kind")
        if all(data.get(name) for name in required):
            try:
                target_clean(
                    kpi=data["kpi"],
                    granularity=data["granularity"],
                    period_start=data["period_start"],
                    kind=data["kind"],
                    baseline_period_start=data.get("baseline_period_start"),
                )
            except ValidationError as exc:
                for field_name, field_errors in exc.message_dict.items():
                    for message in field_errors:
                        self.add_error(field_name, message)
        return data


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = [
        "kpi",
        "dimension_value",
        "granularity",
        "period_start",
        "kind",
        "amount",
        "baseline_period_start",
        "resolved",
        "current",
        "progress",
    ]
    list_filter = ["granularity", "kind", "kpi"]
    readonly_fields = ["created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Target]:
        return targets_with_values(super().get_queryset(request))

    def _progress(self, obj: Target) -> Any:
        return progress_of(
            obj,
            baseline=getattr(obj, "baseline_value", None),
            current=getattr(obj, "current_value", None),
        )

    @admin.display(description=_("resolved target"))
    def resolved(self, obj: Target) -> Decimal | None:
        return self._progress(obj).resolved_value

    @admin.display(description=_("current value"))
    def current(self, obj: Target) -> Decimal | None:
        return getattr(obj, "current_value", None)

    @admin.display(description=_("progress"))
    def progress(self, obj: Target) -> str:
        progress = self._progress(obj).progress
        return "—" if progress is None else f"{progress * 100:.0f} %"

    def save_model(self, request: HttpRequest, obj: Target, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        if obj.kind != Target.Kind.ABSOLUTE and obj.baseline_period_start is None:
            obj.baseline_period_start = period_shift(obj.granularity, obj.period_start, -1)
        super().save_model(request, obj, form, change)


# --- alerts ---------------------------------------------------------------------------------


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name",
            "kpi",
            "dimension",
            "dimension_value",
            "granularity",
            "lower_threshold",
            "upper_threshold",
            "change_pct",
            "fire_after",
            "resolve_after",
            "recipients",
            "is_active",
        ]

    def clean_kpi(self) -> str:
        kpi = self.cleaned_data["kpi"]
        if not kpi_is_known(kpi):
            raise ValidationError(_("Unknown KPI key."))
        return kpi


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = [
        "name",
        "kpi",
        "dimension_value",
        "granularity",
        "lower_threshold",
        "upper_threshold",
        "change_pct",
        "fire_after",
        "resolve_after",
        "is_active",
    ]
    list_filter = ["is_active", "granularity", "kpi"]
    search_fields = ["name", "kpi"]
    filter_horizontal = ["recipients"]

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


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


# Digest subscriptions, send log and annotations live with the reports.
from kpis import report_admin  # noqa: E402, F401

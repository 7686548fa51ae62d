"""The index weights editor for admins (`/kpis/index/weights/`): versions, a draft's editor, its
preview against the active version, activation, and the progress of their background jobs.

Admins only (others get 403). Every write goes through `kpis.services`,
which record it in the audit trail under the request's user.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.views import role_required
from kpis.index import active_weight_version
from kpis.models import Granularity, LifecycleGroup, WeightVersion
from kpis.priorities import priority_ranks
from kpis.services import (
    MODE_FROM_NOW,
    MODE_RESTATE,
    weight_draft_delete,
    weight_preview_snapshots_compute,
    weight_version_activate_with,
    weight_version_create_draft,
    weight_version_update,
)
from kpis.weight_forms import WeightVersionForm
from kpis.weight_selectors import (
    PREVIEW_GRANULARITIES,
    activation_changes,
    group_weights,
    indicator_weights,
    latest_missing_indicators,
    preview_period_starts,
    weight_preview,
    weight_versions,
    weight_versions_with_source,
)
from kpis.weight_tasks import weights_job_state

admin_required = role_required("Admin")


def _version_or_404(pk: int) -> WeightVersion:
    return get_object_or_404(weight_versions_with_source(), pk=pk)


def _draft_or_404(pk: int) -> WeightVersion:
    version = _version_or_404(pk)
    if not version.is_editable:
        raise Http404
    return version


def _job_context(request: HttpRequest) -> dict[str, Any]:
    token = request.GET.get("job", "")
    if not token or weights_job_state(token) is None:
        return {}
    return {"job_url": reverse("kpis:weights_job", args=[token])}


@admin_required
def weights_home(request: HttpRequest) -> HttpResponse:
    versions = list(weight_versions())
    return render(
        request,
        "kpis/weights/home.html",
        {
            "title": _("Index weights"),
            "active": next((v for v in versions if v.status == WeightVersion.Status.ACTIVE), None),
            "drafts": [v for v in versions if v.status == WeightVersion.Status.DRAFT],
            "retired": [v for v in versions if v.status == WeightVersion.Status.RETIRED],
            **_job_context(request),
        },
    )


@require_POST
@admin_required
def weights_draft_create(request: HttpRequest) -> HttpResponse:
    source_id = request.POST.get("source")
    source = _version_or_404(int(source_id)) if source_id and source_id.isdigit() else None
    draft = weight_version_create_draft(actor=request.user, source=source)
    messages.success(request, _("Draft “%(name)s” created.") % {"name": draft.name})
    return redirect("kpis:weights_version", pk=draft.pk)


def _editor(version: WeightVersion, data: Any = None) -> dict[str, Any]:
    """The form and the rows it shows, groups and KPIs in the version's priority order."""
    ranks = priority_ranks(version)
    indicators = ranks.order_kpis(indicator_weights(version), key=lambda row: row.kpi)
    latest, missing = latest_missing_indicators(version)
    form = WeightVersionForm(
        data,
        version=version,
        indicators=indicators,
        groups=group_weights(version),
        missing=missing,
        read_only=not version.is_editable,
    )
    return {
        "form": form,
        "order": ranks.order_groups(LifecycleGroup.values),
        "missing_period": latest,
        "missing": missing,
    }


@admin_required
def weights_version(request: HttpRequest, pk: int) -> HttpResponse:
    """A version's weights; a draft's are editable (POST saves through the service)."""
    version = _version_or_404(pk)
    editor = _editor(version, request.POST if request.method == "POST" else None)
    form = editor["form"]
    if request.method == "POST":
        if not version.is_editable:
            raise Http404
        if form.is_valid():
            try:
                weight_version_update(version=version, actor=request.user, **form.service_changes())
            except ValidationError as error:
                form.add_service_errors(error.message_dict)
            else:
                messages.success(
                    request, _("Draft “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
                )
                return redirect("kpis:weights_version", pk=version.pk)
    return render(
        request,
        "kpis/weights/version.html",
        {
            "title": version.name,
            "version": version,
            "form": form,
            "sections": form.group_sections(editor["order"]),
            "missing_period": editor["missing_period"],
            "missing": editor["missing"],
            "preview_granularities": PREVIEW_GRANULARITIES,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@admin_required
def weights_draft_delete(request: HttpRequest, pk: int) -> HttpResponse:
    version = _draft_or_404(pk)
    weight_draft_delete(version=version, actor=request.user)
    messages.success(request, _("Draft “%(name)s” deleted.") % {"name": version.name})
    return redirect("kpis:weights")


def _granularity(request: HttpRequest) -> str:
    granularity = request.GET.get("granularity") or request.POST.get("granularity") or "month"
    if granularity not in PREVIEW_GRANULARITIES:
        raise Http404
    return granularity


@admin_required
def weights_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft against the active version over the last 12 closed periods."""
    version = _version_or_404(pk)
    granularity = _granularity(request)
    active = active_weight_version()
    preview = weight_preview(draft=version, active=active, granularity=granularity)
    return render(
        request,
        "kpis/weights/preview.html",
        {
            "title": _("Preview of %(name)s") % {"name": version.name},
            "version": version,
            "active": active if active is not None and active.pk != version.pk else None,
            "preview": preview,
            "granularity": granularity,
            "granularities": [
                (g, label) for g, label in Granularity.choices if g in PREVIEW_GRANULARITIES
            ],
            **_job_context(request),
        },
    )


@require_POST
@admin_required
def weights_preview_compute(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the KPI runs of the preview periods that have no snapshots; back to the preview."""
    version = _version_or_404(pk)
    granularity = _granularity(request)
    token = weight_preview_snapshots_compute(
        version=version,
        granularity=granularity,
        period_starts=preview_period_starts(granularity),
        actor=request.user,
    )
    url = reverse("kpis:weights_preview", args=[version.pk]) + f"?granularity={granularity}"
    if token is None:
        messages.info(request, _("Every period of the preview has KPI snapshots."))
        return redirect(url)
    return redirect(f"{url}&job={token}")


@admin_required
def weights_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what activating the draft changes and the choice of mode; POST: activate."""
    version = _draft_or_404(pk)
    active = active_weight_version()
    error = ""
    if request.method == "POST":
        mode = request.POST.get("mode", "")
        try:
            version, token = weight_version_activate_with(
                version=version, mode=mode, actor=request.user
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("“%(name)s” is now active.") % {"name": version.name})
            url = reverse("kpis:weights")
            return redirect(f"{url}?job={token}" if token else url)
    return render(
        request,
        "kpis/weights/activate.html",
        {
            "title": _("Activate %(name)s") % {"name": version.name},
            "version": version,
            "active": active,
            "changes": activation_changes(draft=version, active=active),
            "error": error,
            "mode_from_now": MODE_FROM_NOW,
            "mode_restate": MODE_RESTATE,
        },
        status=400 if error else 200,
    )


@require_GET
@admin_required
def weights_job(request: HttpRequest, token: str) -> JsonResponse:
    """A background job's progress: {state, done, total, error}, polled by the page."""
    state = weights_job_state(token)
    if state is None:
        raise Http404
    return JsonResponse(state)

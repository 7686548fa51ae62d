"""Pages of bulk actions: start a job from a list's selection, watch it, read its result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.bulk import (
    BulkKind,
    action_form,
    bulk_job_create,
    bulk_job_run,
    bulk_job_runs_inline,
    bulk_jobs_of,
    bulk_kind,
    filter_query,
)
from crm.importing.export import export_response, export_rows
from crm.outbox import task_send_on_commit
from crm.tasks import bulk_job_run_task

EXPORT_ACTION = "export"


def _kind_for(request: HttpRequest, key: str) -> BulkKind:
    kind = bulk_kind(key)
    if kind is None:
        raise Http404
    if not kind.allowed(request.user):
        raise PermissionDenied
    return kind


def _selected_ids(request: HttpRequest) -> list[int]:
    return sorted({int(value) for value in request.POST.getlist("ids") if value.isdigit()})


@require_POST
@login_required
def bulk_start(request: HttpRequest, kind_key: str) -> HttpResponseBase:
    """The bar under a list: an action over the ticked rows or over every row matching the
    filter (`scope=filter`). Export answers with the file; the others start a job."""
    kind = _kind_for(request, kind_key)
    query = filter_query(QueryDict(request.POST.get("query", "")))
    back = f"{reverse(kind.list_url_name)}?{query}" if query else reverse(kind.list_url_name)
    every_match = request.POST.get("scope") == "filter"
    ids = [] if every_match else _selected_ids(request)
    if not every_match and not ids:
        messages.error(request, _("Select at least one row."))
        return redirect(back)
    action_key = request.POST.get("action", "")
    if action_key == EXPORT_ACTION:
        selection = kind.selection(request.user, QueryDict(query))
        if ids:
            selection = selection.filter(pk__in=ids)
        file_format = "xlsx" if request.POST.get("file_format") == "xlsx" else "csv"
        return export_response(
            rows=export_rows(selection.order_by("pk"), kind.export_columns),
            columns=kind.export_columns,
            filename=kind.export_filename,
            file_format=file_format,
        )
    action = kind.action(action_key)
    if action is None:
        messages.error(request, _("Choose an action."))
        return redirect(back)
    form = action_form(kind, action, request.user, request.POST)
    if not form.is_valid():
        for field_name, errors in form.errors.items():
            label = form.fields[field_name].label if field_name in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
        return redirect(back)
    params = {
        form.add_prefix(name): request.POST.get(form.add_prefix(name), "") for name in form.fields
    }
    job = bulk_job_create(
        user=request.user, kind=kind, action=action, params=params, query=query, record_ids=ids
    )
    if bulk_job_runs_inline(job):
        bulk_job_run(job_id=job.pk)
    else:
        task_send_on_commit(bulk_job_run_task, job_id=job.pk)
    return redirect("bulk:job", pk=job.pk)


@login_required
def bulk_fields(request: HttpRequest, kind_key: str) -> HttpResponse:
    """The chosen action's fields for the bar (loaded on choice, so a list page does not read
    every action's menus)."""
    kind = _kind_for(request, kind_key)
    action = kind.action(request.GET.get("action", ""))
    if action is None:  # "export" and the empty choice have no fields
        return HttpResponse("")
    return render(
        request, "crm/_bulk_fields.html", {"form": action_form(kind, action, request.user)}
    )


def _job_context(request: HttpRequest, pk: int) -> dict[str, object]:
    job = get_object_or_404(bulk_jobs_of(request.user), pk=pk)
    kind = bulk_kind(job.kind)
    action = kind.action(job.action) if kind is not None else None
    return {
        "job": job,
        "kind": kind,
        "action_label": action.label if action is not None else job.action,
        "list_url": (
            f"{reverse(kind.list_url_name)}?{job.filter_snapshot}" if kind is not None else ""
        ),
    }


@login_required
def bulk_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress while it runs (bulk-job.js polls the status), then what succeeded and each
    refusal with its reason."""
    return render(request, "crm/bulk_job.html", _job_context(request, pk))


@login_required
def bulk_job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_object_or_404(bulk_jobs_of(request.user), pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "total": job.total,
            "done": job.done,
            "succeeded": job.succeeded,
            "refused": job.refused,
            "percent": job.percent,
            "finished": job.is_finished,
        }
    )

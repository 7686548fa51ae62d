"""The import page for managers and admins: upload → preview with the detected column mapping
(editable) → dry run with the error report → commit, with progress polled while a task runs.

Thin views: the engine (crm.importing.engine) does the work inside the Celery task.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django import forms
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.importing.engine import apply_overrides, detect_mapping
from crm.importing.export import export_response, kind_template_columns
from crm.importing.files import ImportFileError, open_table
from crm.importing.registry import KINDS
from crm.importing.tasks import import_upload_run
from crm.importing.uploads import progress_key, upload_get, upload_plain_file, upload_store
from crm.views import manager_required

PREVIEW_ROWS = 10
IGNORE = ""


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        choices=[(key, kind.label) for key, kind in KINDS.items()],
    )
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy("UTF-8 CSV (comma or semicolon) or an Excel .xlsx workbook."),
    )


def _upload_or_404(request: HttpRequest, token: str) -> dict[str, Any]:
    upload = upload_get(token, user_id=request.user.pk)
    if upload is None:
        raise Http404
    return upload


@manager_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            token = upload_store(
                uploaded=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                user_id=int(request.user.pk or 0),
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("imports:preview", token=token)
    return render(request, "imports/upload.html", {"form": form, "kinds": KINDS})


def _overrides(request: HttpRequest, header: list[str]) -> dict[str, str]:
    """The edited mapping posted by the preview form: header text → column name or ""."""
    overrides: dict[str, str] = {}
    for index, title in enumerate(header):
        field = f"map-{index}"
        if field in request.POST:
            overrides[title] = request.POST[field]
    return overrides


@manager_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    upload = _upload_or_404(request, token)
    kind = KINDS[upload["kind"]]
    error = ""
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        with upload_plain_file(upload) as path:
            table = open_table(path, name=upload["name"])
            header = table.header
            rows = [cells for _line, cells in islice(table.rows, PREVIEW_ROWS)]
            table.rows.close()  # type: ignore[attr-defined]
    except ImportFileError as exc:
        error = str(exc)
    mapping = detect_mapping(kind, header)
    overrides = cache.get(f"imports:mapping:{token}") or {}
    if request.method == "POST":
        overrides = _overrides(request, header)
        cache.set(f"imports:mapping:{token}", overrides, 24 * 60 * 60)
        # A new mapping needs a new dry run before it may be committed.
        cache.delete(progress_key(token))
    if overrides:
        mapping = apply_overrides(kind, header, mapping, overrides)
    columns = [
        {
            "index": index,
            "title": title,
            "selected": mapping.get(index, IGNORE),
            "samples": [row[index] if index < len(row) else "" for row in rows[:3]],
        }
        for index, title in enumerate(header)
    ]
    missing = [name for name in kind.required_columns() if name not in mapping.values()]
    state = cache.get(progress_key(token))
    context = {
        "token": token,
        "upload": upload,
        "kind": kind,
        "error": error,
        "header": header,
        "rows": rows,
        "columns": columns,
        "choices": kind.columns,
        "missing": missing,
        "state": state,
    }
    return render(request, "imports/preview.html", context)


@manager_required
@require_POST
def import_run(request: HttpRequest, token: str) -> HttpResponse:
    """Queue the dry run or the commit; the task runs after this request's transaction."""
    _upload_or_404(request, token)
    dry_run = request.POST.get("action") != "commit"
    skip_invalid = request.POST.get("skip_invalid") == "on"
    overrides = cache.get(f"imports:mapping:{token}") or {}
    cache.set(progress_key(token), {"state": "queued", "dry_run": dry_run}, 24 * 60 * 60)
    transaction.on_commit(lambda: import_upload_run.delay(token, dry_run, skip_invalid, overrides))
    return redirect("imports:status", token=token)


@manager_required
def import_status(request: HttpRequest, token: str) -> HttpResponse:
    upload = _upload_or_404(request, token)
    state = cache.get(progress_key(token)) or {"state": "missing"}
    context = {"token": token, "upload": upload, "kind": KINDS[upload["kind"]], "state": state}
    if request.headers.get("HX-Request"):
        return render(request, "imports/_progress.html", context)
    return render(request, "imports/status.html", context)


@manager_required
def import_template(request: HttpRequest, kind: str, file_format: str) -> HttpResponse:
    """An empty file with the kind's columns, ready to fill in."""
    if kind not in KINDS or file_format not in ("csv", "xlsx"):
        raise Http404
    return export_response(  # type: ignore[return-value]  # a FileResponse / streaming response
        rows=[],
        columns=kind_template_columns(kind),
        filename=f"{kind}-template",
        file_format=file_format,
        dated=False,
    )

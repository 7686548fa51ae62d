"""The import as Celery tasks for the web page: the preview (header and first rows) and the run;
their progress and results go to the cache, which the page polls. Without a broker the tasks run
in-process (CELERY_TASK_ALWAYS_EAGER). Reading a file never happens in a web request: a slow or
hostile workbook costs a worker, never a web process.

Registered with the worker by `app.autodiscover_tasks(["crm.importing"])` in crm/celery.py.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from crm.importing.engine import import_file
from crm.importing.files import ImportFileError, open_table
from crm.importing.uploads import progress_key, upload_delete, upload_get, upload_plain_file
from crm.outbox import task_send_on_commit

PROGRESS_TIMEOUT = 24 * 60 * 60
PREVIEW_ROWS = 10


def preview_key(token: str) -> str:
    return f"imports:preview:{token}"


def import_preview_queue(token: str) -> bool:
    """Queue the preview of upload `token` once (True when queued by this call).

    `cache.add` makes it once: a page polled every second does not queue a task per poll, and
    with the cache down (add fails open to False) nothing is queued that could not report back.
    """
    if not cache.add(preview_key(token), {"state": "queued"}, PROGRESS_TIMEOUT):
        return False

    with transaction.atomic():
        task_send_on_commit(import_upload_preview, token)
    return True


@shared_task(acks_late=True)
def import_upload_preview(token: str) -> dict[str, Any]:
    """Read the header and the first rows of upload `token` for the mapping page.

    Safe to retry: it only reads the file and overwrites its own cache entry.
    """
    upload = upload_get(token)
    if upload is None:
        state: dict[str, Any] = {
            "state": "failed",
            "error": _("The upload has expired; upload the file again."),
        }
        cache.set(preview_key(token), state, PROGRESS_TIMEOUT)
        return state
    cache.set(preview_key(token), {"state": "running"}, PROGRESS_TIMEOUT)
    try:
        with upload_plain_file(upload) as path:
            table = open_table(path, name=upload["name"])
            try:
                rows = [cells for _line, cells in islice(table.rows, PREVIEW_ROWS)]
            finally:
                table.rows.close()  # type: ignore[attr-defined]
        state = {"state": "done", "header": table.header, "rows": rows, "error": ""}
    except ImportFileError as exc:
        state = {"state": "done", "header": [], "rows": [], "error": str(exc)}
    cache.set(preview_key(token), state, PROGRESS_TIMEOUT)
    return state


@shared_task(acks_late=True)
def import_upload_run(
    token: str, dry_run: bool, skip_invalid: bool, overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run (or dry-run) the upload `token`; safe to retry: the import is an idempotent upsert."""
    upload = upload_get(token)
    if upload is None:
        state: dict[str, Any] = {
            "state": "failed",
            "error": "The upload has expired; upload the file again.",
        }
        cache.set(progress_key(token), state, PROGRESS_TIMEOUT)
        return state

    def progress(rows: int, fraction: float | None) -> None:
        cache.set(
            progress_key(token),
            {"state": "running", "rows": rows, "fraction": fraction, "dry_run": dry_run},
            PROGRESS_TIMEOUT,
        )

    progress(0, 0.0)
    try:
        with upload_plain_file(upload) as path:
            report = import_file(
                kind=upload["kind"],
                path=path,
                name=upload["name"],
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                overrides=overrides or None,
                progress=progress,
                user_id=upload["user"],
                run=f"upload:{token[:12]}:{upload['name']}",
            )
    except ImportFileError as exc:  # the file was deleted: imported already, or expired
        state = {"state": "failed", "error": str(exc)}
        cache.set(progress_key(token), state, PROGRESS_TIMEOUT)
        return state
    if not dry_run:
        upload_delete(token)  # the customer data in it is in the database now
    state = {"state": "done", "dry_run": dry_run, "report": report.as_dict()}
    cache.set(progress_key(token), state, PROGRESS_TIMEOUT)
    return state

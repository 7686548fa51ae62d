"""The import as a Celery task for the web page: progress and the final report go to the cache,
which the page polls. Without a broker the task runs in-process (CELERY_TASK_ALWAYS_EAGER).

The worker needs this module registered: crm/celery.py's autodiscovery only looks at
`<app>.tasks`, so the lead adds `app.autodiscover_tasks(["crm.importing"])` (see the report).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.cache import cache

from crm.importing.engine import import_file
from crm.importing.files import ImportFileError
from crm.importing.uploads import progress_key, upload_delete, upload_get, upload_plain_file

PROGRESS_TIMEOUT = 24 * 60 * 60


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

"""Celery tasks of the CRM shell: thin wrappers that load by id and call a service.

Beat entries (installed as django_celery_beat rows by `manage.py crm_schedule`) are listed in
BEAT_ENTRIES at the bottom.
"""

from typing import Any

from celery import shared_task

from crm.bulk import bulk_job_run
from crm.importing.uploads import uploads_expire
from crm.notifications import notification_email_deliver
from crm.outbox import outbox_deliver_pending
from crm.schedules import beat_entries_install


@shared_task(
    autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True, expires=3600
)
def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification; safe to retry (it never sends the same notification twice)."""
    return notification_email_deliver(notification_id=notification_id)


@shared_task(acks_late=True)
def outbox_deliver_pending_task() -> int:
    """Beat: send the outbox rows whose after-commit publish found the broker down."""
    return outbox_deliver_pending()


@shared_task(acks_late=True)
def bulk_job_run_task(*, job_id: int) -> str:
    """Run one bulk job; a retry resumes after the last finished chunk."""
    return bulk_job_run(job_id=job_id).status


# --- beat schedule -----------------------------------------------------------------------------

BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "crm: deliver the task outbox",
        "task": "crm.tasks.outbox_deliver_pending_task",
        "crontab": {"minute": "*", "hour": "*"},
        "expire_seconds": 50,
        "description": "Sends the tasks (e-mails, KPI refreshes) queued while Redis was down.",
    },
    {
        "name": "crm: delete expired import uploads",
        "task": "crm.tasks.import_uploads_expire",
        "crontab": {"minute": "20", "hour": "*"},
        "expire_seconds": 55 * 60,
        "description": "Deletes encrypted import uploads older than CRM_IMPORT_UPLOAD_TTL_HOURS.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the CRM beat entries (idempotent; admins may edit them)."""
    return beat_entries_install(BEAT_ENTRIES)


@shared_task(acks_late=True, expires=55 * 60)
def import_uploads_expire() -> int:
    """Beat (hourly): delete import uploads older than their TTL."""
    return uploads_expire()

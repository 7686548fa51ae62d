"""Celery tasks of the audit trail. The beat entry is installed by `manage.py audit_schedule`."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit.services import audit_prune
from crm.schedules import beat_entries_install


@shared_task(acks_late=True)
def audit_prune_task() -> int:
    """Beat: delete audit and sign-in events older than CRM_AUDIT_RETENTION_DAYS (idempotent)."""
    return audit_prune()


BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "audit: prune old events",
        "task": "audit.tasks.audit_prune_task",
        "crontab": {"minute": "40", "hour": "3"},
        "expire_seconds": 12 * 60 * 60,
        "description": "Deletes audit and sign-in events older than CRM_AUDIT_RETENTION_DAYS.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the audit beat entry (idempotent; admins may edit it)."""
    return beat_entries_install(BEAT_ENTRIES)

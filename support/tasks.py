"""Celery tasks of support (thin: take ids or nothing, call the services).

Beat entries (installed as django_celery_beat rows by `manage.py support_schedule`) are listed
in BEAT_ENTRIES at the bottom.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task

from crm.schedules import beat_entries_install
from support.outbound import ticket_reply_email_send
from support.services import sla_escalations_run, tickets_auto_close

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 5
RETRY_BASE_SECONDS = 60
SEND_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(bind=True, max_retries=SEND_MAX_RETRIES, acks_late=True)
def ticket_reply_email_send_task(self: Any, message_id: int) -> bool:
    """Mail an agent's reply; retried with back-off while the mail server is unreachable."""
    try:
        return ticket_reply_email_send(message_id=message_id)
    except SEND_ERRORS as exc:
        if self.request.retries >= SEND_MAX_RETRIES:
            logger.error("reply %s could not be e-mailed: %r", message_id, exc)
            return False
        raise self.retry(exc=exc, countdown=RETRY_BASE_SECONDS * 2**self.request.retries) from exc


@shared_task(acks_late=True)
def sla_escalations_run_task() -> int:
    """Beat: notify (once per clock and level) about breached and about-to-breach SLA clocks."""
    return len(sla_escalations_run())


@shared_task(acks_late=True)
def tickets_auto_close_task() -> int:
    """Beat: close tickets solved more than SUPPORT_AUTOCLOSE_DAYS days ago."""
    return tickets_auto_close()


# --- beat schedule -----------------------------------------------------------------------------

BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "support: SLA escalation",
        "task": "support.tasks.sla_escalations_run_task",
        "crontab": {"minute": "*/5", "hour": "*"},
        "expire_seconds": 4 * 60,
        "description": "Notifies assignees and team managers of SLA clocks about to breach.",
    },
    {
        "name": "support: close solved tickets",
        "task": "support.tasks.tickets_auto_close_task",
        "crontab": {"minute": "10", "hour": "*"},
        "expire_seconds": 55 * 60,
        "description": "Closes tickets solved more than SUPPORT_AUTOCLOSE_DAYS days ago.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the support beat entries (idempotent; admins may edit them)."""
    return beat_entries_install(BEAT_ENTRIES)

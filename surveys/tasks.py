"""Celery tasks of the surveys (thin: take ids, call surveys.services).

Beat entries (installed as django_celery_beat rows by `manage.py surveys_schedule`):
- surveys.tasks.survey_invitations_create_all — every 15 minutes: create the invitations the
  triggers call for and queue one send task per invitation after commit;
- surveys.tasks.survey_reminders_send_all — hourly: queue the single reminder to non-responders.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task
from django.db import transaction

from crm.outbox import tasks_send_on_commit
from crm.schedules import beat_entries_install
from surveys.models import Survey
from surveys.services import (
    survey_invitation_mark_undeliverable,
    survey_invitation_remind,
    survey_invitation_send,
    survey_invitations_create_due,
    survey_invitations_due_reminder,
)

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 3
RETRY_BASE_SECONDS = 60
# Errors worth retrying: the mail server or the network, not a bug in our code.
SEND_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(bind=True, max_retries=SEND_MAX_RETRIES, acks_late=True)
def survey_invitation_email_send(self: Any, invitation_id: int) -> bool:
    """Send one invitation; after the last failed retry it is marked undeliverable."""
    try:
        return survey_invitation_send(invitation_id=invitation_id)
    except SEND_ERRORS as exc:
        if self.request.retries >= SEND_MAX_RETRIES:
            survey_invitation_mark_undeliverable(invitation_id=invitation_id, reason=repr(exc))
            return False
        raise self.retry(exc=exc, countdown=RETRY_BASE_SECONDS * 2**self.request.retries) from exc


@shared_task(bind=True, max_retries=SEND_MAX_RETRIES, acks_late=True)
def survey_invitation_reminder_send(self: Any, invitation_id: int) -> bool:
    """Send the reminder; a failing reminder is given up quietly (the first mail went out)."""
    try:
        return survey_invitation_remind(invitation_id=invitation_id)
    except SEND_ERRORS as exc:
        if self.request.retries >= SEND_MAX_RETRIES:
            logger.warning("reminder for invitation %s failed: %r", invitation_id, exc)
            return False
        raise self.retry(exc=exc, countdown=RETRY_BASE_SECONDS * 2**self.request.retries) from exc


@shared_task(acks_late=True)
def survey_invitations_create_all() -> int:
    """Beat: create due invitations for every active survey, then queue their e-mails."""
    created = 0
    for survey in Survey.objects.filter(is_active=True):
        with transaction.atomic():
            invitations = survey_invitations_create_due(survey=survey)
            ids = [invitation.pk for invitation in invitations]
            tasks_send_on_commit(
                survey_invitation_email_send, [((), {"invitation_id": pk}) for pk in ids]
            )
        created += len(ids)
    return created


@shared_task(acks_late=True)
def survey_reminders_send_all() -> int:
    """Beat: queue the one reminder for each due, unanswered invitation."""
    ids = list(survey_invitations_due_reminder().values_list("pk", flat=True)[:5000])
    # Sent directly, no outbox: nothing is written here, and an unsent reminder is still due
    # (reminded_at empty) at the next hourly run.
    for invitation_id in ids:
        survey_invitation_reminder_send.delay(invitation_id=invitation_id)
    return len(ids)


# --- beat schedule -----------------------------------------------------------------------------

BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "surveys: create and send invitations",
        "task": "surveys.tasks.survey_invitations_create_all",
        "crontab": {"minute": "*/15", "hour": "*"},
        "expire_seconds": 14 * 60,
        "description": "Invites customers after solved tickets, delivered orders and periodically.",
    },
    {
        "name": "surveys: send reminders",
        "task": "surveys.tasks.survey_reminders_send_all",
        "crontab": {"minute": "20", "hour": "*"},
        "expire_seconds": 55 * 60,
        "description": "One reminder to non-responders after the survey's reminder delay.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the survey beat entries (idempotent; admins may edit them)."""
    return beat_entries_install(BEAT_ENTRIES)

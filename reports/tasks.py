"""Celery tasks of the reports (thin: parse plain values, call reports.digests).

The beat entry (`manage.py digests schedule`) runs `send_due_digests` at DIGEST_SEND_HOUR in the
organisation's time zone.
"""

from __future__ import annotations

from celery import shared_task

from crm.schedules import beat_entries_install
from kpis.periods import parse_date
from reports.digests import digest_send_hour, digests_send_due

BEAT_ENTRY_NAME = "reports: send KPI digests"
BEAT_TASK = "reports.tasks.send_due_digests"


@shared_task(acks_late=True)
def send_due_digests(today_iso: str | None = None) -> dict[str, int]:
    """Send the digests due today (or on `today_iso`); safe to re-run: the send log dedupes."""
    today = parse_date(today_iso, name="date") if today_iso else None
    return digests_send_due(today=today)


def beat_schedule_install() -> str:
    """Create or update the digest beat entry at DIGEST_SEND_HOUR (idempotent; keeps an admin's
    `enabled` choice)."""
    entry = {
        "name": BEAT_ENTRY_NAME,
        "task": BEAT_TASK,
        "crontab": {"minute": "0", "hour": str(digest_send_hour())},
        # A digest queued hours ago is still wanted, but not after the next day's run.
        "expire_seconds": 12 * 60 * 60,
        "description": "Sends the daily, weekly (Mondays) and monthly (1st) KPI digests.",
    }
    return beat_entries_install([entry])[0]

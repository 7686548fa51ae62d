"""Celery tasks of sales (thin: call the services).

Beat entries (installed as django_celery_beat rows by `manage.py sales_schedule`) are listed in
BEAT_ENTRIES at the bottom.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from crm.schedules import beat_entries_install
from sales.models import ForecastSnapshot
from sales.services import forecast_snapshot_take


@shared_task(acks_late=True)
def forecast_snapshots_take_task() -> list[str]:
    """Beat: take the current month's, quarter's and year's forecast if not taken yet.

    Runs daily: on a period's first day it takes the snapshot, on the other days it changes
    nothing (the service is idempotent), and a day missed by a stopped worker is caught up.
    """
    taken = []
    for granularity in ForecastSnapshot.Granularity.values:
        taking = forecast_snapshot_take(granularity=granularity)
        if taking.taken:
            taken.append(f"{granularity}:{taking.period_start.isoformat()}")
    return taken


# --- beat schedule -----------------------------------------------------------------------------

BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "sales: forecast snapshots",
        "task": "sales.tasks.forecast_snapshots_take_task",
        # Five minutes past local midnight: the new period has begun, no deal moved in it yet.
        "crontab": {"minute": "5", "hour": "0"},
        "expire_seconds": 23 * 60 * 60,
        "description": "Stores the forecast of each month, quarter and year at its start.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the sales beat entries (idempotent; admins may edit them)."""
    return beat_entries_install(BEAT_ENTRIES)

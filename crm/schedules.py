"""Celery beat entries as django-celery-beat rows: the one installer every app's entries use.

Each app declares its entries next to its tasks (BEAT_ENTRIES: name, task, crontab, expiry,
description); `manage.py schedule` installs them all. Installing is idempotent and keeps what an
admin may have changed since: the `enabled` switch is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask


def beat_entries_install(entries: Iterable[dict[str, Any]]) -> list[str]:
    """Create or update one PeriodicTask per entry, on a crontab in the organisation's time
    zone; the names installed, in order."""
    installed = []
    for entry in entries:
        crontab = entry["crontab"]
        schedule, _created = CrontabSchedule.objects.get_or_create(
            minute=crontab["minute"],
            hour=crontab["hour"],
            day_of_month="*",
            month_of_year="*",
            # Weekly entries name their day (crontab "day_of_week"); the rest run every day.
            day_of_week=crontab.get("day_of_week", "*"),
            timezone=settings.CRM_TIME_ZONE,
        )
        PeriodicTask.objects.update_or_create(
            name=entry["name"],
            defaults={
                "task": entry["task"],
                "crontab": schedule,
                "interval": None,
                "expire_seconds": entry["expire_seconds"],
                "description": entry["description"],
                "kwargs": json.dumps({}),
            },
        )
        installed.append(entry["name"])
    return installed

"""Celery beat's scheduler: django-celery-beat's, plus a heartbeat on every tick for /readyz."""

from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler

from crm.heartbeats import BEAT_TICK_KEY, heartbeat_record


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    def tick(self, *args: Any, **kwargs: Any) -> float:
        heartbeat_record(BEAT_TICK_KEY)
        return float(super().tick(*args, **kwargs))

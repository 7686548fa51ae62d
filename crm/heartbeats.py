"""Heartbeats of the Celery worker and of beat, kept in Redis for /readyz (crm.health).

The worker writes one with Celery's event heartbeat (every two seconds), beat on each scheduler
tick. Only Redis and settings here: the Celery app records them from its own module, which
loads before Django's app registry is ready.
"""

import logging
import time
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_KEY = "pulse:health:worker-heartbeat"
BEAT_TICK_KEY = "pulse:health:beat-tick"
# A heartbeat older than a day is gone anyway; the key expiring keeps Redis tidy.
HEARTBEAT_TTL_SECONDS = 24 * 60 * 60


def redis_client() -> redis.Redis:
    """A client that gives up within a second: a probe must answer quickly."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1, health_check_interval=0
    )


def heartbeat_record(key: str) -> None:
    """Store "now" under key; a probe must never take its writer down, so errors only log."""
    if not settings.REDIS_URL:
        return
    try:
        redis_client().set(key, repr(time.time()), ex=HEARTBEAT_TTL_SECONDS)
    except redis.RedisError:
        logger.warning("could not record the %s heartbeat", key, exc_info=True)


def heartbeat_check(client: redis.Redis, key: str, max_age_seconds: int) -> dict[str, Any]:
    """The age of the heartbeat under key against its allowed maximum."""
    raw = client.get(key)
    if raw is None:
        return {"ok": False, "detail": "no heartbeat recorded"}
    age = max(0.0, time.time() - float(raw))
    return {"ok": age <= max_age_seconds, "age_seconds": round(age, 1), "max": max_age_seconds}

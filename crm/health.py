"""/healthz and /readyz for load balancers and monitoring, and the heartbeats /readyz reads.

/healthz answers while the process can serve a request: no database, no Redis.
/readyz checks what serving real pages needs and what keeps the numbers fresh: the database,
migrations applied, Redis, a Celery worker's heartbeat, Celery beat's last tick and the age of
the last successful KPI run. 200 when every check passes, 503 naming the failing ones.
Without REDIS_URL tasks run in-process (no worker, no beat), so those two checks say "eager".

Heartbeats live in Redis under their own keys, written by the worker (Celery's event
heartbeat, every two seconds) and by beat (each scheduler tick), and read here directly.
"""

import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_KEY = "pulse:health:worker-heartbeat"
BEAT_TICK_KEY = "pulse:health:beat-tick"
# A heartbeat older than a day is gone anyway; the key expiring keeps Redis tidy.
HEARTBEAT_TTL_SECONDS = 24 * 60 * 60

_migrations_applied = False


def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1, health_check_interval=0
    )


def heartbeat_record(key: str) -> None:
    """Store "now" under key; a probe must never take its writer down, so errors only log."""
    if not settings.REDIS_URL:
        return
    try:
        _redis().set(key, repr(time.time()), ex=HEARTBEAT_TTL_SECONDS)
    except redis.RedisError:
        logger.warning("could not record the %s heartbeat", key, exc_info=True)


def _heartbeat_check(client: redis.Redis, key: str, max_age_seconds: int) -> dict[str, Any]:
    raw = client.get(key)
    if raw is None:
        return {"ok": False, "detail": "no heartbeat recorded"}
    age = max(0.0, time.time() - float(raw))
    return {"ok": age <= max_age_seconds, "age_seconds": round(age, 1), "max": max_age_seconds}


def _database_check() -> dict[str, Any]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _migrations_check() -> dict[str, Any]:
    global _migrations_applied
    # Once applied they stay applied for this code: later probes skip loading the graph.
    if not _migrations_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return {"ok": False, "pending": len(pending)}
        _migrations_applied = True
    return {"ok": True}


def _kpi_run_check() -> dict[str, Any]:
    from kpis.models import KpiRun

    finished_at = (
        KpiRun.objects.filter(status=KpiRun.Status.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    max_age = settings.CRM_READY_KPI_RUN_MAX_AGE_MINUTES * 60
    if finished_at is None:
        return {"ok": False, "detail": "no successful KPI run yet"}
    age = max(0.0, (timezone.now() - finished_at).total_seconds())
    return {"ok": age <= max_age, "age_seconds": round(age, 1), "max": max_age}


def _run(check: Any) -> dict[str, Any]:
    try:
        return dict(check())
    except Exception as exc:  # a probe reports any failure, it never raises
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:200]}


def readiness() -> dict[str, dict[str, Any]]:
    checks = {
        "database": _run(_database_check),
        "migrations": _run(_migrations_check),
        "kpi_run": _run(_kpi_run_check),
    }
    if not settings.REDIS_URL:
        eager = {"ok": True, "detail": "eager: no REDIS_URL, tasks run in the web process"}
        checks.update(redis=eager, worker=eager, beat=eager)
        return checks
    client = _redis()
    checks["redis"] = _run(lambda: {"ok": bool(client.ping())})
    checks["worker"] = _run(
        lambda: _heartbeat_check(
            client, WORKER_HEARTBEAT_KEY, settings.CRM_READY_WORKER_MAX_AGE_SECONDS
        )
    )
    checks["beat"] = _run(
        lambda: _heartbeat_check(client, BEAT_TICK_KEY, settings.CRM_READY_BEAT_MAX_AGE_SECONDS)
    )
    return checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )

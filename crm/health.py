"""/healthz and /readyz for load balancers and monitoring, and the heartbeats /readyz reads.

/healthz answers while the process can serve a request: no database, no Redis.
/readyz checks what serving real pages needs and what keeps the numbers fresh: the database,
migrations applied, Redis, a Celery worker's heartbeat, Celery beat's last tick and the age of
the last successful KPI run. 200 when every check passes, 503 naming the failing ones.
Without REDIS_URL tasks run in-process (no worker, no beat), so those two checks say "eager".

The heartbeats are written by the worker and by beat (crm.heartbeats) and read here directly.
"""

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crm.heartbeats import BEAT_TICK_KEY, WORKER_HEARTBEAT_KEY, heartbeat_check, redis_client
from kpis.models import KpiRun

_migrations_applied = False


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
    except Exception as exc:  # noqa: BLE001  a probe reports any failure, it never raises
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
    client = redis_client()
    checks["redis"] = _run(lambda: {"ok": bool(client.ping())})
    checks["worker"] = _run(
        lambda: heartbeat_check(
            client, WORKER_HEARTBEAT_KEY, settings.CRM_READY_WORKER_MAX_AGE_SECONDS
        )
    )
    checks["beat"] = _run(
        lambda: heartbeat_check(client, BEAT_TICK_KEY, settings.CRM_READY_BEAT_MAX_AGE_SECONDS)
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

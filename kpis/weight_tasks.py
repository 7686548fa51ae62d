"""The weights editor's background jobs: compute missing KPI periods for a preview, or rescore
stored periods under a newly active version (restating history).

A job's progress lives in the cache under an unguessable token, so the page can poll it as JSON
while a Celery worker (or, without Redis, the request itself) runs it. Each period is its own
transaction: the bar moves, and a failure keeps the periods already done. Re-running a job is
safe: both steps replace what they wrote before.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.core.cache import cache

from kpis.engine import compute_period
from kpis.index import compute_index
from kpis.models import WeightVersion
from kpis.periods import parse_date

logger = logging.getLogger(__name__)

JOB_TIMEOUT = 6 * 60 * 60
JOB_COMPUTE = "compute"
JOB_RESTATE = "restate"


def _job_key(token: str) -> str:
    return f"kpis:weights-job:{token}"


def weights_job_state(token: str) -> dict[str, Any] | None:
    return cache.get(_job_key(token))


def weights_job_save(token: str, **state: Any) -> None:
    cache.set(_job_key(token), state, JOB_TIMEOUT)


@shared_task(acks_late=True)
def weights_job_run(
    token: str, kind: str, periods: list[list[str]], version_id: int | None = None
) -> dict[str, Any]:
    total = len(periods)
    weights_job_save(token, kind=kind, state="running", done=0, total=total, error="")
    version = WeightVersion.objects.filter(pk=version_id).first() if version_id else None
    try:
        for done, (granularity, start_iso) in enumerate(periods, start=1):
            start = parse_date(start_iso, name="period start")
            if kind == JOB_RESTATE:
                if version is None:
                    raise ValueError(f"Weight version {version_id} no longer exists.")
                compute_index(granularity=granularity, period_start=start, version=version)
            else:
                # Customer scores describe "now": a backfill of old periods leaves them alone.
                compute_period(granularity=granularity, period_start=start, refresh_scores=False)
            weights_job_save(token, kind=kind, state="running", done=done, total=total, error="")
    except Exception as exc:
        logger.exception("Weights job %s (%s) failed", token, kind)
        weights_job_save(token, kind=kind, state="failed", done=0, total=total, error=str(exc))
        raise
    state = {"kind": kind, "state": "done", "done": total, "total": total, "error": ""}
    weights_job_save(token, **state)
    return state

""" "Recompute now" on the KPI pages: a manager queues the open and the last closed period of a
granularity, and the page follows the runs in the KPI run log until they finish.

Throttled organisation-wide to one request per settings.KPI_RECOMPUTE_MIN_SECONDS: a run of the
whole catalogue takes tens of seconds at scale, and the beat refreshes the open periods anyway.
The throttle is one atomic cache `add`, so two managers clicking at once start one recompute.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.models import KpiRun
from kpis.periods import current_period, parse_granularity, previous_period
from kpis.tasks import compute_kpis_for_period

logger = logging.getLogger(__name__)

THROTTLE_KEY = "kpis:recompute:last"
# How long a page can follow a recompute after it was requested.
JOB_TIMEOUT_SECONDS = 60 * 60


def _job_key(token: str) -> str:
    return f"kpis:recompute:job:{token}"


@dataclass(frozen=True)
class RecomputeJob:
    token: str
    granularity: str
    periods: tuple[dt.date, ...]
    requested_at: dt.datetime
    requested_by: int


@dataclass(frozen=True)
class RecomputeStatus:
    """Where a recompute is: each period's newest run since the request, from the run log."""

    job: RecomputeJob
    # (period start, run status or "queued") per period of the job, oldest first.
    periods: tuple[tuple[dt.date, str], ...]

    @property
    def done(self) -> int:
        return sum(status == KpiRun.Status.SUCCEEDED for _start, status in self.periods)

    @property
    def total(self) -> int:
        return len(self.periods)

    @property
    def state(self) -> str:
        statuses = {status for _start, status in self.periods}
        if KpiRun.Status.FAILED in statuses:
            return "failed"
        if statuses == {KpiRun.Status.SUCCEEDED}:
            return "finished"
        if statuses == {"queued"}:
            return "queued"
        return "running"

    @property
    def percent(self) -> int:
        # A period being computed counts half, so the bar moves while the first run works.
        running = sum(status == KpiRun.Status.RUNNING for _start, status in self.periods)
        return int(100 * (self.done + running / 2) / self.total) if self.total else 100

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.job.token,
            "granularity": self.job.granularity,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "periods": [
                {"period_start": start.isoformat(), "status": status}
                for start, status in self.periods
            ],
        }


def kpi_recompute_start(
    *, user: Any, granularity: str, now: dt.datetime | None = None
) -> RecomputeJob:
    """Queue the KPI runs of the open and the last closed period of `granularity`.

    Raises ValidationError (nothing queued) within KPI_RECOMPUTE_MIN_SECONDS of the last request.
    """
    granularity = parse_granularity(granularity)
    now = now or timezone.now()
    minimum = settings.KPI_RECOMPUTE_MIN_SECONDS
    if minimum > 0 and not cache.add(THROTTLE_KEY, now, timeout=minimum):
        last = cache.get(THROTTLE_KEY)
        wait = minimum
        if isinstance(last, dt.datetime):
            wait = max(1, minimum - int((now - last).total_seconds()))
        raise ValidationError(
            _("The KPIs were recomputed moments ago; try again in %(minutes)s min.")
            % {"minutes": max(1, -(-wait // 60))},
            code="throttled",
        )
    open_start, _open_end = current_period(granularity, now)
    closed_start, _closed_end = previous_period(granularity, open_start)
    job = RecomputeJob(
        token=uuid.uuid4().hex,
        granularity=granularity,
        periods=(closed_start, open_start),
        requested_at=now,
        requested_by=user.pk,
    )
    cache.set(_job_key(job.token), job, JOB_TIMEOUT_SECONDS)
    logger.info("KPI recompute %s of %s requested by user %s", job.token, granularity, user.pk)
    for start in job.periods:
        transaction.on_commit(
            partial(compute_kpis_for_period.delay, granularity, start.isoformat())
        )
    return job


def kpi_recompute_status(token: str) -> RecomputeStatus | None:
    """The job's progress (1 query), or None for an unknown or expired token."""
    job = cache.get(_job_key(token)) if token.isalnum() else None
    if not isinstance(job, RecomputeJob):
        return None
    runs = (
        KpiRun.objects.filter(
            granularity=job.granularity,
            period_start__in=job.periods,
            kpi_keys=[],
            started_at__gte=job.requested_at,
        )
        .order_by("period_start", "-started_at")
        .values_list("period_start", "status")
    )
    newest: dict[dt.date, str] = {}
    for start, status in runs:
        newest.setdefault(start, status)
    return RecomputeStatus(
        job=job, periods=tuple((start, newest.get(start, "queued")) for start in job.periods)
    )

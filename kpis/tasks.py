"""Celery tasks of the KPI engine (thin: parse plain values, call kpis.engine).

Without REDIS_URL the tasks run eagerly in-process through the same code. The beat schedule is
stored as django_celery_beat PeriodicTask rows (admin-editable) by `beat_schedule_install()`,
which `manage.py kpis schedule` calls; each entry has an expiry so a backlog of stale runs is
dropped instead of piling up behind a stopped worker.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from crm.outbox import tasks_send_on_commit
from crm.schedules import beat_entries_install
from kpis.definitions import registry
from kpis.engine import compute_period, kpi_runs_fail_stale
from kpis.models import KpiRun
from kpis.periods import (
    GRANULARITIES,
    current_period,
    local_today,
    organisation_tz,
    parse_date,
    period_bounds,
    previous_period,
    to_datetime_range,
)
from kpis.selectors import provisional_cohort_periods, snapshot_period_starts

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
RETRY_BASE_SECONDS = 10


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def compute_kpis_for_period(
    self: Any, granularity: str, period_start_iso: str, kpi_keys: list[str] | None = None
) -> dict[str, Any]:
    """Compute one (granularity, period); retried with exponential backoff on database errors."""
    period_start = parse_date(period_start_iso, name="period start")
    try:
        run = compute_period(granularity=granularity, period_start=period_start, kpi_keys=kpi_keys)
    except DatabaseError as exc:  # OperationalError included: lock timeouts, lost connections
        if self.request.retries >= self.max_retries:
            logger.critical(
                "KPI run %s %s gave up after %s retries: %s",
                granularity,
                period_start_iso,
                self.request.retries,
                exc,
            )
            raise
        countdown = RETRY_BASE_SECONDS * 2**self.request.retries
        logger.warning(
            "KPI run %s %s failed (%s); retry %s in %ss",
            granularity,
            period_start_iso,
            exc,
            self.request.retries + 1,
            countdown,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {
        "run": run.pk,
        "status": run.status,
        "granularity": run.granularity,
        "period_start": run.period_start.isoformat(),
        "rows_written": run.rows_written,
    }


@shared_task
def compute_open_periods() -> list[str]:
    """The beat entry: refresh the open period of every granularity."""
    queued = []
    for granularity in GRANULARITIES:
        start, _end = current_period(granularity)
        compute_kpis_for_period.delay(granularity, start.isoformat())
        queued.append(f"{granularity}:{start.isoformat()}")
    return queued


def _computed_after_close(granularity: str, period_start: dt.date, period_end: dt.date) -> bool:
    """A full run (every KPI) of the period finished after the period closed."""
    closed_at, _next_day = to_datetime_range(period_end, period_end + dt.timedelta(days=1))
    return KpiRun.objects.filter(
        granularity=granularity,
        period_start=period_start,
        status=KpiRun.Status.SUCCEEDED,
        kpi_keys=[],
        finished_at__gte=closed_at,
    ).exists()


# Periods always recomputed after a change to history; days and weeks only when snapshots of
# them exist (nobody asked for the others, and a change two years back would queue 700 days).
COARSE_GRANULARITIES = ("month", "quarter", "year")


@shared_task
def compute_periods_since(since_iso: str) -> list[str]:
    """Recompute every period from the one holding `since` (an ISO date or datetime, e.g. a
    merged customer's earliest order) to the open one, each as its own task."""
    since = dt.datetime.fromisoformat(since_iso)
    aware = timezone.is_aware(since)
    first_day = timezone.localtime(since, organisation_tz()).date() if aware else since.date()
    today = local_today()
    queued: list[str] = []
    for granularity in GRANULARITIES:
        start = period_bounds(granularity, first_day)[0]
        if granularity in COARSE_GRANULARITIES:
            starts = []
            while start <= today:
                starts.append(start)
                start = period_bounds(granularity, start)[1]
        else:
            starts = snapshot_period_starts(granularity=granularity, since=start)
        for period_start in starts:
            compute_kpis_for_period.delay(granularity, period_start.isoformat())
            queued.append(f"{granularity}:{period_start.isoformat()}")
    return queued


@shared_task
def compute_closed_periods() -> list[str]:
    """Compute each just-closed period once, and recompute immature cohort periods.

    A closed period is computed when no full run finished after it closed. Cohort KPIs whose
    closed-period snapshots are still provisional are recomputed (only those KPIs) until mature.
    """
    queued: list[str] = []
    today = local_today()
    cohort_keys = [definition.key for definition in registry.all() if definition.is_cohort]
    for granularity in GRANULARITIES:
        open_start, _open_end = current_period(granularity)
        start, end = previous_period(granularity, open_start)
        if not _computed_after_close(granularity, start, end):
            compute_kpis_for_period.delay(granularity, start.isoformat())
            queued.append(f"{granularity}:{start.isoformat()}")
    immature = provisional_cohort_periods(kpis=cohort_keys, ended_by=today)
    for granularity, period_start in immature:
        label = f"{granularity}:{period_start.isoformat()}"
        if label in queued:
            continue
        compute_kpis_for_period.delay(granularity, period_start.isoformat(), cohort_keys)
        queued.append(label + ":cohort")
    return queued


@shared_task
def sweep_stale_runs() -> list[str]:
    """Beat: fail the KpiRuns a dead worker left "running" and queue their periods again.

    The failure and the new tasks commit together (outbox rows), so a sweep interrupted halfway
    neither loses a period nor queues it twice.
    """
    with transaction.atomic():
        stale = kpi_runs_fail_stale()
        periods = {
            (run.granularity, run.period_start.isoformat(), tuple(run.kpi_keys)) for run in stale
        }
        tasks_send_on_commit(
            compute_kpis_for_period,
            [
                ((granularity, start, list(keys) or None), {})
                for granularity, start, keys in sorted(periods)
            ],
        )
    return [f"{granularity}:{start}" for granularity, start, _keys in sorted(periods)]


# --- beat schedule -----------------------------------------------------------------------------

OPEN_PERIODS_BEAT_NAME = "kpis: compute open periods"
BEAT_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": OPEN_PERIODS_BEAT_NAME,
        "task": "kpis.tasks.compute_open_periods",
        "crontab": {"minute": "*/15", "hour": "*"},
        # A run queued more than 14 minutes ago is superseded by the next one.
        "expire_seconds": 14 * 60,
        "description": "Refreshes the current day/week/month/quarter/year KPI snapshots.",
    },
    {
        "name": "kpis: compute closed periods",
        "task": "kpis.tasks.compute_closed_periods",
        "crontab": {"minute": "30", "hour": "0"},
        "expire_seconds": 6 * 60 * 60,
        "description": "Computes each just-closed period once; matures cohort KPIs.",
    },
    {
        "name": "kpis: sweep abandoned runs",
        "task": "kpis.tasks.sweep_stale_runs",
        "crontab": {"minute": "*/10", "hour": "*"},
        "expire_seconds": 9 * 60,
        "description": "Marks failed the KPI runs a dead worker left running; recomputes them.",
    },
)


def beat_schedule_install() -> list[str]:
    """Create or update the KPI beat entries (idempotent; admins may edit them afterwards)."""
    return beat_entries_install(BEAT_ENTRIES)

"""The KPI engine: compute one (granularity, period) and write its KpiSnapshot rows.

One run is one transaction (readers never see half of it) and replaces the rows of the cells it
computes (idempotent). Two runs of the same period are serialised: on PostgreSQL by a
transaction-scoped advisory lock keyed on the period; on SQLite by the database's single writer
(the run's first statement is the DELETE, which takes the write lock before any computing).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kpis import post_compute
from kpis.activity import ActivityRules
from kpis.definitions import registry
from kpis.definitions.base import KpiContext, KpiDefinition, KpiResult
from kpis.definitions.frame import customer_frame
from kpis.health import health_recompute
from kpis.models import KpiRun, KpiSnapshot
from kpis.periods import iter_periods, like_for_like_window, parse_granularity, period_bounds

logger = logging.getLogger(__name__)


def _lock_period(granularity: str, period_start: dt.date) -> None:
    """Block until no other run of this (granularity, period) is inside its transaction."""
    if connection.vendor != "postgresql":
        return
    key = zlib.crc32(f"kpis:{granularity}:{period_start.isoformat()}".encode())
    with connection.cursor() as cursor:
        # Two int4 keys: a fixed namespace for KPI runs and the period's hash.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [4711, key - 2**31])


def _tune_session() -> None:
    """Per-run PostgreSQL settings, scoped to the run's transaction (SET LOCAL).

    The KPI queries' plans cost far above jit_above_cost, so PostgreSQL JIT-compiles each of them
    for more time than it saves; their hash aggregates and sorts spill to disk at the default
    4 MB work_mem.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")


def is_provisional(definition: KpiDefinition, ctx: KpiContext) -> bool:
    """Provisional until P.end + maturity window <= now (an open period is always provisional)."""
    return ctx.end + dt.timedelta(days=definition.maturity_days) > ctx.now


def build_snapshots(
    definition: KpiDefinition, ctx: KpiContext, results: Iterable[KpiResult]
) -> list[KpiSnapshot]:
    provisional = is_provisional(definition, ctx)
    return [
        KpiSnapshot(
            kpi=definition.key,
            granularity=ctx.granularity,
            period_start=ctx.period_start,
            period_end=ctx.period_end,
            dimension=result.dimension,
            dimension_value=result.dimension_value,
            dimension_label=result.dimension_label[:200],
            value=result.value,
            numerator=result.numerator,
            denominator=result.denominator,
            sample_size=result.sample_size,
            low_sample=result.sample_size < definition.min_sample,
            provisional=provisional,
            details=result.details,
            computed_at=ctx.now,
            definition_version=definition.version,
        )
        for result in results
    ]


def like_for_like_comparable(definition: KpiDefinition) -> bool:
    """Cohort KPIs (a maturity window) are not compared early: their cohort is still open."""
    return definition.maturity_days == 0


def attach_like_for_like(
    definitions: Iterable[KpiDefinition],
    ctx: KpiContext,
    snapshots: list[KpiSnapshot],
) -> None:
    """Store on each open-period snapshot the previous period's figure over the same elapsed
    time (details["like_for_like"]), so a page compares 5 days with 5 days, not with a month.

    The previous window is computed by the KPIs' own queries with the same rules; a cohort KPI,
    or a cell without a figure on either side, is stored as not comparable.
    """
    window = like_for_like_window(ctx.granularity, ctx.period_start, ctx.period_end, ctx.now)
    if window is None:
        return
    valued = {snapshot.kpi for snapshot in snapshots if snapshot.value is not None}
    previous_ctx = KpiContext(
        granularity=ctx.granularity,
        period_start=window.period_start,
        period_end=window.last_day,
        start=window.start,
        end=window.until,
        now=ctx.now,
        rules=ctx.rules,
        shared={},
    )
    previous: dict[tuple[str, str, str], KpiResult] = {}
    comparable: set[str] = set()
    for definition in definitions:
        if not like_for_like_comparable(definition) or definition.key not in valued:
            continue
        comparable.add(definition.key)
        for result in definition.compute(previous_ctx):
            previous[(definition.key, result.dimension, result.dimension_value)] = result
    for snapshot in snapshots:
        match = previous.get((snapshot.kpi, snapshot.dimension, snapshot.dimension_value))
        value = match.value if match is not None else None
        snapshot.details = {
            **snapshot.details,
            "like_for_like": {
                "comparable": snapshot.kpi in comparable
                and value is not None
                and snapshot.value is not None,
                "previous_start": window.period_start.isoformat(),
                "until": window.until.isoformat(),
                "elapsed_days": window.elapsed_days,
                "period_days": window.period_days,
                "value": None if value is None else str(value),
                "sample_size": match.sample_size if match is not None else 0,
            },
        }


def compute_period(
    *,
    granularity: str,
    period_start: dt.date,
    kpi_keys: Iterable[str] | None = None,
    now: dt.datetime | None = None,
    refresh_scores: bool | None = None,
) -> KpiRun:
    """Compute the KPIs of the period of `granularity` starting at `period_start`.

    Every run stores each customer's RFM scores, segment, health score and band as of the
    period's end (customer frame), before the KPIs group on them. `refresh_scores=False` leaves the
    customers' current scores alone (a backfill refreshes them once, for its last period); None
    leaves the hook's own rule.

    Raises UnknownKpiError / PeriodError before writing anything on bad input. On a failure the
    snapshots are rolled back, the KpiRun row records the error and the exception propagates.
    """
    granularity = parse_granularity(granularity)
    start, end = period_bounds(granularity, period_start)
    if start != period_start:
        raise ValueError(
            f"{period_start.isoformat()} is not the start of a {granularity} period "
            f"(that period starts {start.isoformat()})."
        )
    definitions = registry.resolve(kpi_keys)
    now = now or timezone.now()
    run = KpiRun.objects.create(
        granularity=granularity,
        period_start=start,
        period_end=end,
        kpi_keys=[definition.key for definition in definitions] if kpi_keys is not None else [],
        started_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            _lock_period(granularity, start)
            _tune_session()
            KpiSnapshot.objects.filter(
                granularity=granularity,
                period_start=start,
                kpi__in=[definition.key for definition in definitions],
            ).delete()
            ctx = KpiContext.build(
                granularity=granularity,
                period_start=start,
                period_end=end,
                now=now,
                rules=ActivityRules.load(),
                # One customer frame (kpis.definitions.frame) shared by the run's KPIs; it
                # also stores the customers' segments and health at the period's end.
                shared={},
                segment_history=True,
                store_health=lambda as_of, order_measures: health_recompute(
                    as_of=as_of,
                    granularity=granularity,
                    period_start=start,
                    order_measures=order_measures,
                    update_customers=False,
                ),
            )
            snapshots: list[KpiSnapshot] = []
            for definition in definitions:
                snapshots.extend(build_snapshots(definition, ctx, definition.compute(ctx)))
            attach_like_for_like(definitions, ctx, snapshots)
            KpiSnapshot.objects.bulk_create(snapshots, batch_size=500)
            # Built here when none of the run's KPIs needed it: every run stores its period's
            # segments and health.
            customer_frame(ctx)
            hook_options = {} if refresh_scores is None else {"refresh_scores": refresh_scores}
            post_compute.after_period_computed(
                granularity=granularity,
                period_start=start,
                period_end=end,
                health_stored=True,
                **hook_options,
            )
            run.status = KpiRun.Status.SUCCEEDED
            run.rows_written = len(snapshots)
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "rows_written", "finished_at"])
    except Exception as exc:
        logger.exception("KPI run %s %s failed", granularity, start.isoformat())
        KpiRun.objects.filter(pk=run.pk).update(
            status=KpiRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:10000],
        )
        run.refresh_from_db()
        raise
    return run


def kpi_runs_fail_stale(*, now: dt.datetime | None = None) -> list[KpiRun]:
    """Mark failed the runs still "running" KPI_RUN_STALE_SECONDS after they started.

    A run's row is written before its transaction, so a worker killed mid-run (OOM, a deploy,
    the hard time limit) leaves it "running" with nothing of its work committed. The stale age is
    longer than the KPI task's hard time limit, so a run this old cannot be alive. Returns the
    runs marked failed (locked rows are skipped: a second sweeper never marks them twice).
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.KPI_RUN_STALE_SECONDS)
    with transaction.atomic():
        stale = list(
            KpiRun.objects.select_for_update(skip_locked=True)
            .filter(status=KpiRun.Status.RUNNING, started_at__lt=cutoff)
            .order_by("id")
        )
        KpiRun.objects.filter(pk__in=[run.pk for run in stale]).update(
            status=KpiRun.Status.FAILED,
            finished_at=now,
            error=f"Abandoned: still running {settings.KPI_RUN_STALE_SECONDS} s after it started "
            "(its worker process died); the period was queued again.",
        )
    for run in stale:
        logger.warning(
            "KPI run %s (%s %s) abandoned by a dead worker",
            run.pk,
            run.granularity,
            run.period_start,
        )
    return stale


def compute_range(
    *,
    granularity: str,
    start: dt.date,
    end: dt.date,
    kpi_keys: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> list[KpiRun]:
    """Backfill every period of `granularity` overlapping [start, end), one run each.

    The customers' current RFM/health scores describe "now": each period would overwrite the
    previous one's, so only the last period of the range may refresh them (by the hook's own
    rule); every period still stores its own point-in-time segments and health bands.
    """
    keys = (
        None if kpi_keys is None else [definition.key for definition in registry.resolve(kpi_keys)]
    )
    periods = [period_start for period_start, _period_end in iter_periods(granularity, start, end)]
    return [
        compute_period(
            granularity=granularity,
            period_start=period_start,
            kpi_keys=keys,
            now=now,
            refresh_scores=None if index == len(periods) - 1 else False,
        )
        for index, period_start in enumerate(periods)
    ]

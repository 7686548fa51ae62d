"""KPI scale benchmark: the real engine against a hand-written SQL floor, on the generated data.

Usage (after benchmarks/generate.py):
    .venv/bin/python benchmarks/run.py \
        --database-url postgres://postgres@127.0.0.1:5432/pulse_bench

One run prints:
  (a) seconds for kpis.engine.compute_period(granularity="month") over one mature, closed month
      (the whole catalogue at every dimension, snapshots written, post-compute hooks included);
  (b) seconds for the same month by the SQL floor (benchmarks/floor.py), the engine/floor ratio,
      and a cross-check of revenue, orders, customers_new and nps at dimension `all`;
  (c) seconds for a 24-month monthly backfill by the engine (compute_period per month);
  (d) the worker's peak memory: every engine computation runs in a child process (this script
      re-invoked with --worker), and the parent reads resource.getrusage(RUSAGE_CHILDREN).ru_maxrss
      after it exits; each child also reports its own RUSAGE_SELF peak per phase.
plus a per-KPI / per-dimension timing table (definition.compute_dimension, nothing written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from floor import add_months, compute_floor  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/pulse_bench"
RESULT_PREFIX = "BENCH_RESULT "
GOALS = {
    "month_seconds": 15.0,
    "ratio": 3.0,
    "backfill_seconds": 300.0,
    "peak_mb": 500.0,
}
CHECKED_KPIS = ("revenue", "orders", "customers_new", "nps")


# --- the child process: everything that touches Django and the engine ------------------------


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    # Measure a production-like worker: DEBUG keeps every SQL string in connection.queries.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "kpi-benchmark-only-not-a-secret")
    # Benchmark-only keys, the same in generate.py and run.py (run.py reads what generate.py
    # encrypted, with DEBUG off, where keys are mandatory).
    os.environ.setdefault("CRM_ENCRYPTION_KEYS", "6wgoiuR0HZfW94E0XHYAuunpNGr63A3LBRA9NA2sL8M=")
    os.environ.setdefault("CRM_BLIND_INDEX_KEY", "zx3lOk84vl0Km8pjh6j5LI3jkKnB1oSsE8BmyFqVlEY=")
    import django

    django.setup()


def self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def aware(day: dt.date) -> dt.datetime:
    from kpis.periods import organisation_tz

    return dt.datetime(day.year, day.month, day.day, tzinfo=organisation_tz())


class KpiTimer:
    """Times every definition inside the real compute_period run: total, per dimension, and the
    number and duration of its SQL queries (a connection execute_wrapper)."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.queries = 0
        self.db_seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.db_seconds += time.perf_counter() - started

    def install(self) -> None:
        from kpis.definitions import registry

        for definition in registry.all():
            # Instance attributes shadow the class methods the engine and base.compute call.
            definition.compute = self._wrap_compute(definition)  # type: ignore[method-assign]
            definition.compute_dimension = self._wrap_dimension(definition)  # type: ignore[method-assign]

    def _wrap_compute(self, definition: Any) -> Any:
        original = definition.compute

        def compute(ctx: Any) -> Any:
            queries, db_seconds = self.queries, self.db_seconds
            row = self.rows.setdefault(
                definition.key, {"kpi": definition.key, "dimensions": {}, "seconds": 0.0}
            )
            started = time.perf_counter()
            results = original(ctx)
            row["seconds"] += time.perf_counter() - started
            row["queries"] = self.queries - queries
            row["db_seconds"] = self.db_seconds - db_seconds
            row["rows"] = len(results)
            row["peak_mb_after"] = self_peak_mb()
            print(
                f"  {definition.key:<32} {row['seconds']:8.2f} s {row['queries']:5d} queries"
                f"  peak RSS {row['peak_mb_after']:6.0f} MB",
                file=sys.stderr,
                flush=True,
            )
            return results

        return compute

    def _wrap_dimension(self, definition: Any) -> Any:
        original = definition.compute_dimension

        def compute_dimension(ctx: Any, dimension: str) -> Any:
            started = time.perf_counter()
            try:
                return original(ctx, dimension)
            finally:
                row = self.rows.setdefault(
                    definition.key, {"kpi": definition.key, "dimensions": {}, "seconds": 0.0}
                )
                row["dimensions"][dimension] = time.perf_counter() - started

        return compute_dimension


def worker_month(month: dt.date, now: dt.datetime) -> dict[str, Any]:
    from django.db import connection

    from kpis.engine import compute_period
    from kpis.selectors import period_snapshots

    timer = KpiTimer()
    timer.install()
    # Time the post-compute hooks (index, alerts) separately from the definitions.
    from kpis import engine

    hook = engine.post_compute.after_period_computed
    hook_figures: dict[str, float] = {}

    def timed_hook(**kwargs: Any) -> None:
        hook_started = time.perf_counter()
        hook(**kwargs)
        hook_figures["seconds"] = time.perf_counter() - hook_started
        hook_figures["peak_mb_after"] = self_peak_mb()

    engine.post_compute.after_period_computed = timed_hook  # type: ignore[assignment]
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        # A closed month as the closed-periods beat computes it: the open period's run (later,
        # with snapshots) owns the customer scores, so this run does not refresh them
        # (post_compute.period_is_latest); worker_scores times that refresh on its own.
        run = compute_period(granularity="month", period_start=month, now=now, refresh_scores=False)
    seconds = time.perf_counter() - started
    engine.post_compute.after_period_computed = hook
    snapshots = period_snapshots(
        granularity="month", period_start=month, dimension="all", kpis=CHECKED_KPIS
    )
    checks = {snap.kpi: str(snap.value) if snap.value is not None else None for snap in snapshots}
    kpi_seconds = sum(row["seconds"] for row in timer.rows.values())
    return {
        "seconds": seconds,
        "rows_written": run.rows_written,
        "status": run.status,
        "checks": checks,
        "peak_mb": self_peak_mb(),
        "timings": list(timer.rows.values()),
        # What compute_period spends outside the definitions: writes, post-compute hooks.
        "outside_kpis_seconds": seconds - kpi_seconds,
        "post_compute": hook_figures,
        "queries": timer.queries,
    }


def worker_scores(month: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The customer score refresh the open period's run adds (post_compute: RFM, then health
    from RFM's order measures), timed on its own for the same month."""
    from django.db import transaction

    from kpis.health import health_recompute
    from kpis.periods import period_bounds
    from kpis.post_compute import _local_midnight
    from kpis.rfm import rfm_recompute

    start, end = period_bounds("month", month)
    as_of = min(now, _local_midnight(end))
    started = time.perf_counter()
    with transaction.atomic():
        rfm = rfm_recompute(as_of=as_of, granularity="month", period_start=start)
        rfm_seconds = time.perf_counter() - started
        health_recompute(
            as_of=as_of, granularity="month", period_start=start, order_measures=rfm.order_measures
        )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rfm_seconds": rfm_seconds,
        "health_seconds": seconds - rfm_seconds,
        "peak_mb": self_peak_mb(),
    }


def worker_per_kpi(month: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Each KPI's compute time, split by dimension, with its query count (nothing written)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from kpis.activity import ActivityRules
    from kpis.definitions import registry
    from kpis.definitions.base import KpiContext
    from kpis.periods import period_bounds

    start, end = period_bounds("month", month)
    ctx = KpiContext.build(
        granularity="month",
        period_start=start,
        period_end=end,
        now=now,
        rules=ActivityRules.load(),
        # As in a real run: one customer frame for every KPI (charged to the first asking).
        shared={},
    )
    timings: list[dict[str, Any]] = []
    for definition in registry.all():
        per_dimension: dict[str, float] = {}
        rows = 0
        with CaptureQueriesContext(connection) as queries:
            kpi_started = time.perf_counter()
            for dimension in definition.dimensions:
                dimension_started = time.perf_counter()
                try:
                    rows += len(definition.compute_dimension(ctx, dimension))
                except NotImplementedError:
                    rows += len(definition.compute(ctx))
                    per_dimension["(all dimensions)"] = time.perf_counter() - dimension_started
                    break
                per_dimension[dimension] = time.perf_counter() - dimension_started
            seconds = time.perf_counter() - kpi_started
        timings.append(
            {
                "kpi": definition.key,
                "seconds": seconds,
                "queries": len(queries.captured_queries),
                "rows": rows,
                "dimensions": per_dimension,
            }
        )
        reset_queries()
        print(f"  {definition.key:<32} {seconds:8.2f} s", file=sys.stderr, flush=True)
    return {"timings": timings, "peak_mb": self_peak_mb()}


def worker_backfill(first: dt.date, months: int, now: dt.datetime, budget: float) -> dict[str, Any]:
    """compute_period for each month, oldest first; stops once `budget` seconds are spent so a
    slow engine still gives a figure (the parent then extrapolates from the months done)."""
    from kpis.engine import compute_period

    per_month: list[tuple[str, float, float]] = []
    started = time.perf_counter()
    for k in range(months):
        if time.perf_counter() - started > budget:
            break
        month = add_months(first, k)
        month_started = time.perf_counter()
        # As kpis.engine.compute_range: customer scores are refreshed once, by the last month.
        last = k == months - 1
        compute_period(
            granularity="month",
            period_start=month,
            now=now,
            refresh_scores=None if last else False,
        )
        seconds = time.perf_counter() - month_started
        per_month.append((month.isoformat(), seconds, self_peak_mb()))
        print(
            f"  {month:%Y-%m}  {seconds:7.2f} s  peak RSS so far {self_peak_mb():7.1f} MB",
            file=sys.stderr,
            flush=True,
        )
    return {
        "seconds": time.perf_counter() - started,
        "months_done": len(per_month),
        "per_month": per_month,
        "peak_mb": self_peak_mb(),
    }


def worker_main(args: argparse.Namespace) -> int:
    setup_django(args.database_url)
    month = dt.date.fromisoformat(args.month)
    now = aware(dt.date.fromisoformat(args.now))
    if args.worker == "month":
        result = worker_month(month, now)
    elif args.worker == "per-kpi":
        result = worker_per_kpi(month, now)
    elif args.worker == "scores":
        result = worker_scores(month, now)
    else:
        result = worker_backfill(
            dt.date.fromisoformat(args.backfill_start), args.months, now, args.backfill_budget
        )
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# --- the parent: orchestration and the report ------------------------------------------------


def run_child(args: argparse.Namespace, mode: str) -> tuple[dict[str, Any], float]:
    """Runs one worker; returns its result and the parent's RUSAGE_CHILDREN peak so far (MB)."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        mode,
        "--database-url",
        args.database_url,
        "--month",
        args.month,
        "--now",
        args.now,
        "--backfill-start",
        args.backfill_start,
        "--months",
        str(args.months),
        "--backfill-budget",
        str(args.backfill_budget),
    ]
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        sys.stdout.write(completed.stdout)
        raise SystemExit(f"worker {mode} failed with exit code {completed.returncode}")
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads(lines[-1][len(RESULT_PREFIX) :]), children_peak


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= goal else "MISS"


def compare(engine: str | None, floor_value: Decimal | None) -> bool:
    if engine is None or floor_value is None:
        return engine is None and floor_value is None
    return abs(Decimal(engine) - floor_value) <= Decimal("0.01")


def print_per_kpi(title: str, timings: list[dict[str, Any]]) -> None:
    total = sum(row["seconds"] for row in timings) or 1.0
    print(f"\n{title}")
    print(
        f"  {'KPI':<30} {'seconds':>8} {'share':>6} {'in SQL':>7} {'queries':>7}"
        "  slowest dimensions (s)"
    )
    for row in sorted(timings, key=lambda item: item["seconds"], reverse=True):
        slowest = sorted(row["dimensions"].items(), key=lambda item: item[1], reverse=True)[:3]
        detail = ", ".join(f"{name} {seconds:.2f}" for name, seconds in slowest)
        db = row.get("db_seconds")
        print(
            f"  {row['kpi']:<30} {row['seconds']:8.2f} {row['seconds'] / total:6.1%}"
            f" {'' if db is None else format(db, '7.2f'):>7} {row.get('queries', 0):7d}  {detail}"
        )
    print(f"  {'total':<30} {total:8.2f}")


def parent_main(args: argparse.Namespace) -> int:
    month = dt.date.fromisoformat(args.month)
    tz_name = os.environ.get("CRM_TIME_ZONE", os.environ.get("TIME_ZONE", "Europe/Berlin"))
    print(
        f"KPI benchmark on {args.database_url}, month {month:%Y-%m}, now {args.now}, tz {tz_name}"
    )

    # Warm the cache once with the floor so neither side pays for cold pages alone.
    compute_floor(args.database_url, month, tz_name)
    print("\n(a) engine, one month, whole catalogue, every dimension (child process)…", flush=True)
    month_result, _ = run_child(args, "month")
    print(
        f"    {month_result['seconds']:.2f} s, {month_result['rows_written']} snapshot rows,"
        f" child peak RSS {month_result['peak_mb']:.0f} MB"
    )

    print("\n(a2) customer score refresh, same month (the open period's run adds it)…")
    scores, _ = run_child(args, "scores")
    print(
        f"    {scores['seconds']:.2f} s (RFM {scores['rfm_seconds']:.2f} s, health"
        f" {scores['health_seconds']:.2f} s), child peak RSS {scores['peak_mb']:.0f} MB"
    )

    floor = compute_floor(args.database_url, month, tz_name)
    ratio = month_result["seconds"] / floor.seconds if floor.seconds else None
    print(f"\n(b) SQL floor, same month: {floor.seconds:.2f} s → engine/floor ratio {ratio:.1f}")
    for name, seconds in floor.step_seconds.items():
        print(f"    {name:<36} {seconds:7.2f} s")
    mismatches = 0
    print("    cross-check at dimension all (engine snapshot vs floor SQL):")
    for kpi, floor_value in floor.checks().items():
        engine_value = month_result["checks"].get(kpi)
        same = compare(engine_value, floor_value)
        mismatches += 0 if same else 1
        print(
            f"      {kpi:<15} engine {engine_value!s:>18}  floor {floor_value!s:>18}"
            f"  {'ok' if same else 'MISMATCH'}"
        )

    print_per_kpi(
        "Per-KPI time inside the month run (definition.compute; 'in SQL' = time in queries):",
        month_result["timings"],
    )
    print(
        f"  outside the definitions (snapshot writes, post-compute hooks):"
        f" {month_result['outside_kpis_seconds']:.2f} s; {month_result['queries']} queries in all"
    )
    hook = month_result.get("post_compute") or {}
    if hook:
        print(
            f"  of which post_compute.after_period_computed (index, alerts; scores in (a2)):"
            f" {hook['seconds']:.2f} s, peak RSS after it {hook['peak_mb_after']:.0f} MB"
        )
    per_kpi: dict[str, Any] | None = None
    if args.per_kpi_run:
        print("\nPer-KPI timings, separate run (child process)…", flush=True)
        per_kpi, _ = run_child(args, "per-kpi")
        print_per_kpi("Per-KPI compute time (compute_dimension, no writes):", per_kpi["timings"])

    backfill: dict[str, Any] | None = None
    if not args.skip_backfill:
        print(
            f"\n(c) engine backfill, {args.months} months from {args.backfill_start}…", flush=True
        )
        backfill, _ = run_child(args, "backfill")
        done = backfill["months_done"]
        print(
            f"    {backfill['seconds']:.1f} s for {done} months,"
            f" child peak RSS {backfill['peak_mb']:.0f} MB"
        )
        for name, seconds, peak_mb in backfill["per_month"]:
            print(f"      {name[:7]}  {seconds:7.2f} s  peak RSS {peak_mb:6.0f} MB")
        if done < args.months:
            # Early months hold little data, so a linear projection from them is a lower bound;
            # the remaining months are costed at the measured mature month (a) instead.
            remaining = args.months - done
            linear = backfill["seconds"] / done * args.months if done else None
            backfill["projected"] = backfill["seconds"] + remaining * month_result["seconds"]
            print(
                f"    budget reached after {done} months: projected"
                f" {backfill['projected']:.0f} s for {args.months} months"
                f" (done + {remaining} × the month in (a));"
                + (f" linear lower bound {linear:.0f} s" if linear else "")
            )

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        "\n(d) peak RSS of the worker processes (RUSAGE_CHILDREN.ru_maxrss):"
        f" {peak:.0f} MB (month {month_result['peak_mb']:.0f} MB"
        + (f", per-KPI {per_kpi['peak_mb']:.0f} MB" if per_kpi else "")
        + (f", backfill {backfill['peak_mb']:.0f} MB" if backfill else "")
        + ")"
    )

    rows = [
        ("one month, whole catalogue (s)", month_result["seconds"], GOALS["month_seconds"]),
        ("engine / SQL floor ratio", ratio, GOALS["ratio"]),
        (
            f"{args.months}-month backfill (s)"
            + (" projected" if backfill and "projected" in backfill else ""),
            backfill.get("projected", backfill["seconds"]) if backfill else None,
            GOALS["backfill_seconds"],
        ),
        ("worker peak memory (MB)", peak, GOALS["peak_mb"]),
    ]
    print("\nSummary")
    print(f"  {'figure':<34} {'measured':>10} {'goal':>10}  verdict")
    for name, value, goal in rows:
        shown = "skipped" if value is None else f"{value:.2f}"
        print(f"  {name:<34} {shown:>10} {'≤ ' + format(goal, 'g'):>10}  {verdict(value, goal)}")
    print(f"  {'cross-check mismatches':<34} {mismatches:>10} {'0':>10}  ", end="")
    print("PASS" if mismatches == 0 else "MISS")
    print(f"  {'SQL floor (s)':<34} {floor.seconds:>10.2f}")
    print(f"  {'customer score refresh (s)':<34} {scores['seconds']:>10.2f}")
    open_run = month_result["seconds"] + scores["seconds"]
    print(f"  {'open-period run: (a) + (a2) (s)':<34} {open_run:>10.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="KPI engine scale benchmark")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--month", default="2026-06-01", help="a mature, closed month")
    parser.add_argument(
        "--now", default="2026-11-01", help="the engine's `now` (the generated data ends here)"
    )
    parser.add_argument("--backfill-start", default="2024-11-01")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument(
        "--backfill-budget",
        type=float,
        default=1800.0,
        help="stop the backfill after this many seconds and extrapolate from the months done",
    )
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument(
        "--per-kpi-run",
        action="store_true",
        help="also time each KPI per dimension in a separate run (the month run already times "
        "each KPI inside compute_period)",
    )
    parser.add_argument(
        "--worker", choices=["month", "scores", "per-kpi", "backfill"], help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())

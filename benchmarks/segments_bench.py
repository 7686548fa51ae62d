"""Segments through time: the 24-month monthly backfill with and without point-in-time segments.

Usage (after benchmarks/generate.py loaded the data set), from the root of the checkout whose
engine is measured (the project's packages are imported from the working directory):
    .venv/bin/python benchmarks/segments_bench.py --label with \\
        --database-url postgres://postgres@127.0.0.1:5432/pulse_bench
    # the engine without point-in-time segments: the commit before them, exported elsewhere
    git archive 4364243 | tar -x -C /tmp/base
    cp benchmarks/segments_bench.py /tmp/base/benchmarks/
    (cd /tmp/base && <repo>/.venv/bin/python benchmarks/segments_bench.py --label without \\
        --database-url postgres://postgres@127.0.0.1:5432/pulse_bench)

Each run empties the KPI history (snapshots, runs, index, alerts, segment and health history),
then runs kpis.engine.compute_range(granularity="month") over the whole catalogue for the
months asked, as `manage.py kpis compute` does, timing every month, and reports the history rows
written and how many months have a revenue figure by RFM segment. Both variants read the same
data on the same machine (the feature adds no migration). Prints one JSON line prefixed
BENCH_RESULT.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

RESULT_PREFIX = "BENCH_RESULT "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--start", default="2024-11-01")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--now", default="2026-11-01")
    args = parser.parse_args()

    sys.path.insert(0, os.getcwd())
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "kpi-benchmark-only-not-a-secret")
    # The keys generate.py encrypted with (benchmarks/run.py uses the same).
    os.environ.setdefault("CRM_ENCRYPTION_KEYS", "6wgoiuR0HZfW94E0XHYAuunpNGr63A3LBRA9NA2sL8M=")
    os.environ.setdefault("CRM_BLIND_INDEX_KEY", "zx3lOk84vl0Km8pjh6j5LI3jkKnB1oSsE8BmyFqVlEY=")
    import django

    django.setup()
    from django.db import connection

    from customers.models import Customer
    from kpis.engine import compute_range
    from kpis.models import (
        CustomerHealthSnapshot,
        CustomerSegmentSnapshot,
        KpiRun,
        KpiSnapshot,
    )
    from kpis.periods import organisation_tz
    from kpis.selectors import snapshot_list

    with connection.cursor() as cursor:
        for model in (KpiSnapshot, KpiRun, CustomerSegmentSnapshot, CustomerHealthSnapshot):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
        cursor.execute("TRUNCATE kpis_indexsnapshot CASCADE")
        cursor.execute("TRUNCATE kpis_alertevaluation CASCADE")
    start = dt.date.fromisoformat(args.start)
    end_month = start.month - 1 + args.months
    end = dt.date(start.year + end_month // 12, end_month % 12 + 1, 1)
    now = dt.datetime.combine(dt.date.fromisoformat(args.now), dt.time(), organisation_tz())

    timings: list[tuple[str, float]] = []
    import kpis.engine as engine

    original = engine.compute_period

    def timed(**kwargs: object) -> object:
        started = time.perf_counter()
        run = original(**kwargs)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        timings.append((str(kwargs["period_start"]), seconds))
        print(f"  {kwargs['period_start']}  {seconds:7.2f} s", file=sys.stderr, flush=True)
        return run

    engine.compute_period = timed  # type: ignore[assignment]
    # Where the time goes: the health scoring of the post-compute hook and, where the engine has
    # it, the frame's write of the period's segments.
    import kpis.post_compute as post_compute
    from kpis.definitions import frame

    spent = {"health_seconds": 0.0, "segment_write_seconds": 0.0}

    def clocked(function: object, name: str) -> object:
        def call(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)  # type: ignore[operator]
            finally:
                spent[name] += time.perf_counter() - started

        return call

    post_compute.health_recompute = clocked(post_compute.health_recompute, "health_seconds")  # type: ignore[assignment]
    if hasattr(frame.CustomerFrame, "_store_segments"):
        frame.CustomerFrame._store_segments = clocked(  # type: ignore[method-assign]
            frame.CustomerFrame._store_segments, "segment_write_seconds"
        )
    started = time.perf_counter()
    compute_range(granularity="month", start=start, end=end, now=now)
    total = time.perf_counter() - started

    revenue_months = (
        snapshot_list(granularity="month", kpi_keys=["revenue"], dimension="rfm_segment")
        .exclude(dimension_value="")
        .order_by()
        .values("period_start")
        .distinct()
        .count()
    )
    result = {
        "label": args.label,
        "engine": engine.__file__,
        "customers": Customer.objects.count(),
        "months": len(timings),
        "seconds": round(total, 1),
        "per_month": [(month, round(seconds, 2)) for month, seconds in timings],
        **{name: round(seconds, 1) for name, seconds in spent.items()},
        "segment_rows": CustomerSegmentSnapshot.objects.count(),
        "segment_months": CustomerSegmentSnapshot.objects.values("period_start").distinct().count(),
        "health_rows": CustomerHealthSnapshot.objects.count(),
        "health_months": CustomerHealthSnapshot.objects.values("period_start").distinct().count(),
        "revenue_by_rfm_segment_months": revenue_months,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(RESULT_PREFIX + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

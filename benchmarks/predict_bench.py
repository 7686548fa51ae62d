"""Predictions benchmark (issue 17, item 7): `predict fit` and `predict score` at scale 1.0.

Usage (after `generate.py --scale 1.0` into the database, see README.md):
    .venv/bin/python benchmarks/predict_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/pulse_bench_predict \
        [--calibration-end 2026-10-31] [--timeout 300]

Each step runs as its own child process (`manage.py predict fit …`, then `manage.py predict
score …`: the real command, Django start-up included); the script prints wall-clock seconds and
the child's peak resident memory (ru_maxrss read with wait4). A child running longer than
--timeout is killed, so the run is bounded. The database server's own memory is not included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/pulse_bench_predict"
GOAL_SECONDS = 15.0
GOAL_MB = 400.0


def run_step(args: list[str], url: str, timeout: float) -> tuple[float, float, str]:
    """(seconds, peak MB, output) of `manage.py <args>` in a child process."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(REPO / "manage.py"), *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Bounded: the child is killed after `timeout` seconds.
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read().strip()
    if child.returncode != 0:
        output += f"\n(exit status {child.returncode})"
    return seconds, usage.ru_maxrss / 1024, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--calibration-end", default="2026-10-31")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    steps = [
        ("fit", ["predict", "fit", "--calibration-end", args.calibration_end]),
        ("score", ["predict", "score", "--as-of", args.calibration_end]),
    ]
    results = []
    for name, command in steps:
        seconds, peak_mb, output = run_step(command, args.database_url, args.timeout)
        print(f"--- {name}: {' '.join(command)}\n{output}")
        results.append((name, seconds, peak_mb))
    print("\n| step | wall clock (s) | peak RSS (MB) | goal |\n|---|---:|---:|---|")
    for name, seconds, peak_mb in results:
        verdict = "PASS" if seconds <= GOAL_SECONDS and peak_mb <= GOAL_MB else "MISS"
        print(f"| {name} | {seconds:.1f} | {peak_mb:.0f} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

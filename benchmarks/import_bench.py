"""Import benchmark: 100,000 orders from CSV through `manage.py import_data` on PostgreSQL.

Usage:
    .venv/bin/python benchmarks/import_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/pulse_a2_bench [--orders 100000]

It creates the database if needed and migrates it, writes a customers CSV (the customers the
orders reference) and an orders CSV into a temporary directory, empties customers and orders,
then runs each import as a child process (the real command, Django start-up included) and prints
wall-clock seconds and the child's peak resident memory (its ru_maxrss, read with wait4):
  1. customers (fresh insert), 2. orders (fresh insert), 3. the same orders again (all updates).
The KPI refresh is switched off (--no-kpi-refresh): it is the KPI engine's cost, not the import's.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/pulse_a2_bench"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, check=True, cwd=REPO)


def write_files(directory: Path, orders: int, customers: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    customers_path = directory / "customers.csv"
    with customers_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "kind", "email", "created_at"])
        for n in range(customers):
            writer.writerow(
                [f"C-{n:06d}", f"Customer {n}", "company", f"c{n}@example.com", "2023-01-01"]
            )
    orders_path = directory / "orders.csv"
    # Naive local times on purpose: the CSV carries no offset, like most shop exports.
    start = dt.datetime(2024, 1, 1, 8, 0)  # noqa: DTZ001
    with orders_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "customer", "ordered_at", "total", "currency", "status"])
        for n in range(orders):
            ordered_at = start + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            status = "cancelled" if rng.random() < 0.03 else "completed"
            writer.writerow(
                [
                    f"O-{n:07d}",
                    f"C-{rng.randrange(customers):06d}",
                    ordered_at.isoformat(timespec="minutes"),
                    f"{rng.randrange(500, 500000) / 100:.2f}",
                    "EUR",
                    status,
                ]
            )
    return customers_path, orders_path


def timed_import(env: dict[str, str], kind: str, path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `import_data` child process (its own rusage, wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "manage.py"),
            "import_data",
            kind,
            str(path),
            "--no-kpi-refresh",
        ],
        env=env,
        cwd=REPO,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"import_data {kind} failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=4)
    options = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": options.database_url}
    env.pop("REDIS_URL", None)  # tasks in-process; the refresh is off anyway
    ensure_database(options.database_url)
    manage(env, "migrate", "--no-input", "-v", "0")

    import psycopg

    with psycopg.connect(options.database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE sales_orderline, sales_refund, sales_order, customers_customer CASCADE"
        )

    with tempfile.TemporaryDirectory() as tmp:
        customers_path, orders_path = write_files(
            Path(tmp), options.orders, options.customers, options.seed
        )
        size_mb = orders_path.stat().st_size / 1024 / 1024
        print(f"orders.csv: {options.orders} rows, {size_mb:.1f} MB")
        results = [
            (
                "customers (insert)",
                options.customers,
                *timed_import(env, "customers", customers_path),
            ),
            ("orders (insert)", options.orders, *timed_import(env, "orders", orders_path)),
            (
                "orders (re-import, update)",
                options.orders,
                *timed_import(env, "orders", orders_path),
            ),
        ]
    print()
    print(f"{'import':<28} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'peak RSS MB':>12}")
    for label, rows, seconds, peak in results:
        print(f"{label:<28} {rows:>8} {seconds:>8.1f} {rows / seconds:>8.0f} {peak:>12.0f}")


if __name__ == "__main__":
    main()

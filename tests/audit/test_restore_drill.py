"""The restore drill (ops/restore_drill.sh) run for real: pg_dump a seeded database, pg_restore
it into a new one, compare every table's row count and the KPI snapshots' checksum."""

import datetime as dt
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

DRILL = Path(__file__).resolve().parents[2] / "ops" / "restore_drill.sh"
UTC = dt.UTC

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the drill uses pg_dump and pg_restore; SQLite is a single file to copy",
)


def database_url() -> str:
    """The URL of the (committed) test database this test runs against."""
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def run_drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DRILL), *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_dump_restore_keeps_every_row_and_the_kpi_snapshots():
    # given a database with customers, orders and a computed KPI month (committed: pg_dump
    # reads through its own connection)
    for month in (1, 2, 3):
        customer = CustomerFactory(acquired_at=dt.datetime(2026, month, 2, tzinfo=UTC))
        OrderFactory(
            customer=customer,
            ordered_at=dt.datetime(2026, month, 5, tzinfo=UTC),
            total=Decimal("120.00"),
        )
    compute_period(
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        now=dt.datetime(2026, 6, 1, tzinfo=UTC),
        refresh_scores=False,
    )
    snapshots = KpiSnapshot.objects.count()
    assert snapshots > 0

    # when the drill dumps it and restores it into a new database
    result = run_drill(database_url(), f"pulse_audit_drill_{os.getpid()}")

    # then every table and the snapshots' checksum are equal, and the copy is dropped again
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows: equal" in result.stdout
    assert f"{snapshots} snapshots, md5 " in result.stdout
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s",
            [f"pulse_audit_drill_{os.getpid()}"],
        )
        assert cursor.fetchone() == (0,)


def test_a_bad_target_name_is_refused_before_anything_runs():
    result = run_drill(database_url(), "drop table; --")

    assert result.returncode == 2
    assert "TARGET_DATABASE must be" in result.stderr

"""A real Celery worker computes a period: broker → worker process → snapshots in the test DB.

Runs with REDIS_URL set, on PostgreSQL or SQLite (the test database is then a file the worker
process opens too):

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m pytest tests/kpis/test_worker.py
"""

import datetime as dt
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from kpis import tasks
from kpis.models import KpiRun, KpiSnapshot
from tests.kpis.conftest import buyer, local

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def worker_database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test_<name>)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


@pytest.fixture
def worker():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real broker)")
    if connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("the worker process cannot share an in-memory SQLite database")
    # A queue of our own, so no other worker on this Redis takes the task (and writes elsewhere).
    queue = f"kpis-test-{uuid.uuid4().hex[:8]}"
    env = os.environ | {"DATABASE_URL": worker_database_url(), "REDIS_URL": settings.REDIS_URL}
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable, "-m", "celery", "-A", "crm", "worker",
            "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        yield queue
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-5000:])  # shown by pytest when the test fails


def test_worker_computes_a_period(worker):
    buyer(local(2026, 3, 3), local(2026, 3, 17))
    buyer(local(2026, 3, 9))

    result = tasks.compute_kpis_for_period.apply_async(
        args=("month", "2026-03-01", ["orders", "revenue"]), queue=worker
    )
    payload = result.get(timeout=120)

    assert payload["status"] == "succeeded"
    assert payload["period_start"] == "2026-03-01"
    run = KpiRun.objects.get(pk=payload["run"])
    assert run.status == KpiRun.Status.SUCCEEDED
    assert run.rows_written == payload["rows_written"]
    orders = KpiSnapshot.objects.get(
        kpi="orders", dimension="all", period_start=dt.date(2026, 3, 1)
    )
    revenue = KpiSnapshot.objects.get(
        kpi="revenue", dimension="all", period_start=dt.date(2026, 3, 1)
    )
    # 3 March orders of 100.00 each
    assert orders.value == 3
    assert revenue.value == Decimal("300")

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""A worker's child process is killed mid-task (issue 14, item 12): the task is not lost.

A real `celery worker` (prefork, one child) on a redis-server of the test's own computes a KPI
period. The test holds the lock the run needs, so the child is stuck inside the task; it is
killed with SIGKILL. With acks late and reject-on-worker-lost the message goes back to the queue,
a new child runs the task again, and the period is computed. On PostgreSQL the killed run's
KpiRun row is left "running" (it was written before the run's transaction), and the sweeper marks
it failed.
"""

import datetime as dt
import os
import signal
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection, connections

from kpis import tasks
from kpis.engine import kpi_runs_fail_stale
from kpis.models import KpiRun
from tests.crm.faults import WorkerProcess, celery_broker, wait_for
from tests.crm.test_faults_redis import redis_server  # noqa: F401 - the fixture
from tests.kpis.test_worker import worker_database_url

# serialized_rollback: the role groups created by a migration survive the flushes of the
# transactional tests before this one.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DAY = dt.date(2026, 3, 2)


@contextmanager
def period_lock_held(granularity: str, period_start: dt.date) -> Iterator[None]:
    """Hold, from a connection of the test's own, what a KPI run of the period must wait for:
    the period's advisory lock on PostgreSQL (kpis.engine._lock_period), the write lock on
    SQLite."""
    other = connections.create_connection("default")
    cursor = other.cursor()
    if other.vendor == "postgresql":
        key = zlib.crc32(f"kpis:{granularity}:{period_start.isoformat()}".encode()) - 2**31
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [4711, key])
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [4711, key])
            other.close()
    else:
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            cursor.execute("ROLLBACK")
            other.close()


@pytest.fixture
def worker(redis_server):  # noqa: F811 - the imported fixture
    if connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("the worker process cannot share an in-memory SQLite database")
    queue = f"faults-test-{uuid.uuid4().hex[:8]}"
    database_url = worker_database_url()
    if connection.vendor == "sqlite":
        # The child waits for the test's write lock up to 60 s (not 5), so it is surely still
        # inside the task when it is killed.
        database_url += "?timeout=60"
    with celery_broker(redis_server.url):
        process = WorkerProcess(
            broker_url=redis_server.url,
            database_url=database_url,
            queue=queue,
            cwd=str(settings.BASE_DIR),
        )
        try:
            wait_for(lambda: "ready." in process.output, timeout=60, what="the worker")
            yield process
        finally:
            process.stop()


def test_a_task_whose_worker_child_is_killed_runs_again_and_completes(worker):
    with period_lock_held("day", DAY):
        tasks.compute_kpis_for_period.apply_async(
            args=("day", DAY.isoformat(), ["orders"]), queue=worker.queue, ignore_result=True
        )
        # the child is inside the task, waiting for the lock
        if connection.vendor == "postgresql":
            wait_for(
                lambda: KpiRun.objects.filter(status=KpiRun.Status.RUNNING).exists(),
                what="the run to start",
            )
        else:
            wait_for(lambda: "received" in worker.output, what="the task")
            time.sleep(1.5)  # the child reaches its first write and waits there
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: "WorkerLostError" in worker.output, what="the worker to notice")

    # the lock is free: the requeued task runs in a new child and computes the period
    wait_for(
        lambda: KpiRun.objects.filter(status=KpiRun.Status.SUCCEEDED, period_start=DAY).exists(),
        timeout=120,
        what="the retried run",
    )
    assert worker.output.count("Task kpis.tasks.compute_kpis_for_period[") >= 2  # received twice
    assert worker.children() != [child]

    if connection.vendor == "postgresql":
        # the killed run's row is still "running": the sweeper, once it is stale, fails it
        abandoned = KpiRun.objects.get(status=KpiRun.Status.RUNNING)
        later = abandoned.started_at + dt.timedelta(seconds=settings.KPI_RUN_STALE_SECONDS + 1)
        assert [run.pk for run in kpi_runs_fail_stale(now=later)] == [abandoned.pk]
        abandoned.refresh_from_db()
        assert abandoned.status == KpiRun.Status.FAILED

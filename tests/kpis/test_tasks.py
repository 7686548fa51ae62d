"""Celery tasks (eager here, a real worker in test_worker.py): per-period computation with
retries, the open-periods beat entry and the closed-periods catch-up."""

import datetime as dt

import pytest
import time_machine
from django.db.utils import OperationalError

from crm.celery import app as celery_app
from kpis import tasks
from kpis.models import KpiRun, KpiSnapshot
from tests.kpis.conftest import buyer, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


def test_compute_kpis_for_period_writes_snapshots():
    buyer(local(2026, 3, 10))

    result = tasks.compute_kpis_for_period.delay("month", "2026-03-01", ["orders"]).get()

    assert result["status"] == "succeeded"
    assert result["rows_written"] >= 1
    assert KpiSnapshot.objects.get(kpi="orders", dimension="all").value == 1


@pytest.fixture
def eager_retries(monkeypatch):
    """Eager mode replays retries in-process only when errors are not propagated at once."""
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


@pytest.mark.usefixtures("eager_retries")
def test_database_errors_are_retried_with_backoff(monkeypatch):
    real = tasks.compute_period
    failures: list[dict] = []

    def flaky(**kwargs):
        if len(failures) < 2:
            failures.append(kwargs)
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(tasks, "compute_period", flaky)

    result = tasks.compute_kpis_for_period.apply(args=("month", "2026-03-01", ["orders"]))

    # two failures, then the third attempt succeeds
    assert result.successful()
    assert result.get()["status"] == "succeeded"
    assert len(failures) == 2


@pytest.mark.usefixtures("eager_retries")
def test_retries_give_up_and_reraise(monkeypatch, caplog):
    def always_locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(tasks, "compute_period", always_locked)

    result = tasks.compute_kpis_for_period.apply(args=("month", "2026-03-01"))

    assert result.failed()
    assert isinstance(result.result, OperationalError)
    assert "gave up after 5 retries" in caplog.text


@time_machine.travel(local(2026, 3, 20), tick=False)
def test_compute_open_periods_refreshes_every_granularity():
    queued = tasks.compute_open_periods.delay().get()

    assert queued == [
        "day:2026-03-20",
        "week:2026-03-16",
        "month:2026-03-01",
        "quarter:2026-01-01",
        "year:2026-01-01",
    ]
    assert KpiRun.objects.filter(status="succeeded").count() == 5


def march_lead_conversion():
    return KpiSnapshot.objects.get(
        kpi="lead_conversion_rate",
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        dimension="all",
    )


def test_compute_closed_periods_runs_each_closed_period_once_and_matures_cohorts():
    buyer(local(2026, 3, 10))
    with time_machine.travel(local(2026, 4, 1, 0, 30), tick=False):
        first = tasks.compute_closed_periods.delay().get()
        second = tasks.compute_closed_periods.delay().get()

    assert "month:2026-03-01" in first
    assert "day:2026-03-31" in first
    # the month is not recomputed; its immature cohort KPIs are
    assert "month:2026-03-01" not in second
    assert "month:2026-03-01:cohort" in second
    assert march_lead_conversion().provisional is True

    with time_machine.travel(local(2026, 7, 2), tick=False):
        tasks.compute_closed_periods.delay().get()
    # Apr 1 + 90 days = Jun 30 <= Jul 2: mature now, and no longer recomputed
    assert march_lead_conversion().provisional is False
    with time_machine.travel(local(2026, 7, 3), tick=False):
        assert "month:2026-03-01:cohort" not in tasks.compute_closed_periods.delay().get()

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The KpiRun sweeper (issue 14, item 12): a run a dead worker left "running" is marked failed
once it is older than KPI_RUN_STALE_SECONDS, and its period is computed again."""

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import OutboxMessage
from kpis.models import KpiRun
from kpis.tasks import BEAT_ENTRIES, sweep_stale_runs

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def running(*, started_ago: dt.timedelta, period_start: dt.date = DAY, keys=()) -> KpiRun:
    return KpiRun.objects.create(
        granularity="day",
        period_start=period_start,
        period_end=period_start + dt.timedelta(days=1),
        kpi_keys=list(keys),
        started_at=timezone.now() - started_ago,
    )


def test_a_stale_run_is_failed_and_its_period_recomputed(
    settings, django_capture_on_commit_callbacks
):
    settings.KPI_RUN_STALE_SECONDS = 30 * 60
    # given: a run abandoned 31 minutes ago, and one started 5 minutes ago (still alive)
    abandoned = running(started_ago=dt.timedelta(minutes=31), keys=["orders"])
    alive = running(started_ago=dt.timedelta(minutes=5), period_start=DAY + dt.timedelta(days=1))

    # when: the sweeper runs (its recompute runs in-process after commit, as without a broker)
    with django_capture_on_commit_callbacks(execute=True):
        swept = sweep_stale_runs()

    # then: the abandoned run failed with a reason, the live one is untouched
    assert swept == ["day:2026-03-02"]
    abandoned.refresh_from_db()
    alive.refresh_from_db()
    assert abandoned.status == KpiRun.Status.FAILED
    assert "worker process died" in abandoned.error
    assert abandoned.finished_at is not None
    assert alive.status == KpiRun.Status.RUNNING
    # and the period was queued (through the outbox) and computed again, for the same KPIs
    row = OutboxMessage.objects.get()
    assert (row.task, row.args) == (
        "kpis.tasks.compute_kpis_for_period",
        ["day", "2026-03-02", ["orders"]],
    )
    assert row.sent_at is not None
    recomputed = KpiRun.objects.exclude(pk__in=[abandoned.pk, alive.pk]).get()
    assert (recomputed.status, recomputed.period_start, recomputed.kpi_keys) == (
        KpiRun.Status.SUCCEEDED,
        DAY,
        ["orders"],
    )


def test_two_stale_runs_of_one_period_are_recomputed_once(django_capture_on_commit_callbacks):
    old = dt.timedelta(days=1)
    running(started_ago=old)
    running(started_ago=old)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_runs() == ["day:2026-03-02"]

    assert OutboxMessage.objects.count() == 1
    # a full run (no KPI list) is recomputed in full
    assert OutboxMessage.objects.get().args == ["day", "2026-03-02", None]
    assert KpiRun.objects.filter(status=KpiRun.Status.FAILED).count() == 2


def test_nothing_stale_nothing_done():
    running(started_ago=dt.timedelta(minutes=1))

    assert sweep_stale_runs() == []
    assert not OutboxMessage.objects.exists()


def test_the_sweeper_is_a_beat_entry_and_outlives_the_kpi_hard_limit(settings):
    entry = next(e for e in BEAT_ENTRIES if e["task"] == "kpis.tasks.sweep_stale_runs")
    assert entry["crontab"] == {"minute": "*/10", "hour": "*"}
    # a run younger than the KPI task's hard time limit may still be alive: never swept
    annotations = settings.CELERY_TASK_ANNOTATIONS["kpis.tasks.compute_kpis_for_period"]
    assert settings.KPI_RUN_STALE_SECONDS > annotations["time_limit"]

"""`manage.py kpis …`: compute/backfill, export, list, schedule and docs; bad input refused."""

import csv
import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import CommandError, call_command

from kpis.models import KpiRun, KpiSnapshot
from kpis.periods import current_period
from kpis.selectors import EXPORT_COLUMNS
from tests.kpis.conftest import buyer, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("kpis", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def orders():
    buyer(local(2026, 1, 10), local(2026, 2, 10), local(2026, 3, 10))


def test_compute_backfills_a_range_and_summarises(orders):
    output = run(
        "compute",
        "--granularity",
        "month",
        "--start",
        "2026-01-01",
        "--end",
        "2026-04-01",
        "--kpi",
        "orders",
        "--kpi",
        "revenue",
    )
    assert "Computed 3 month period(s)" in output
    assert set(KpiSnapshot.objects.values_list("kpi", flat=True)) == {"orders", "revenue"}
    assert KpiSnapshot.objects.filter(dimension="all").count() == 6  # 2 KPIs × 3 months


@time_machine.travel(local(2026, 3, 20), tick=False)
def test_compute_without_start_is_the_open_period_and_quiet_if_fresh_skips(orders):
    run("compute", "--granularity", "month", "--kpi", "orders")
    assert set(KpiSnapshot.objects.values_list("period_start", flat=True)) == {
        local(2026, 3, 1).date()
    }

    output = run("compute", "--granularity", "month", "--quiet-if-fresh")

    assert "fresh; skipped" in output
    assert KpiRun.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--granularity", "fortnight"], "Unknown granularity 'fortnight'"),
        (["--granularity", "month", "--kpi", "churn"], "Unknown KPI 'churn'"),
        (["--granularity", "month", "--start", "2026-02-30"], "Invalid --start date"),
        (
            ["--granularity", "month", "--start", "2026-03-01", "--end", "2026-02-01"],
            "--end 2026-02-01 must be after --start 2026-03-01",
        ),
        (["--granularity", "month", "--end", "2026-02-01"], "--end needs --start"),
    ],
)
def test_compute_refuses_bad_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("compute", *args)
    assert not KpiRun.objects.exists()
    assert not KpiSnapshot.objects.exists()


def test_compute_enqueue_runs_tasks_eagerly_without_a_broker(orders):
    output = run(
        "compute",
        "--granularity",
        "month",
        "--start",
        "2026-02-01",
        "--end",
        "2026-04-01",
        "--kpi",
        "orders",
        "--enqueue",
    )
    assert "Queued 2 month period(s)" in output
    assert KpiSnapshot.objects.filter(kpi="orders", dimension="all").count() == 2


def test_a_start_without_an_end_backfills_through_the_current_period(orders):
    run("compute", "--granularity", "month", "--start", "2026-03-01", "--kpi", "orders")

    starts = set(
        KpiSnapshot.objects.filter(kpi="orders", dimension="all").values_list(
            "period_start", flat=True
        )
    )
    current_start, _ = current_period("month")
    # every month from March 2026 through the open one
    assert min(starts) == dt.date(2026, 3, 1)
    assert max(starts) == current_start
    assert len(starts) == (current_start.year - 2026) * 12 + current_start.month - 3 + 1


def test_export_csv_has_the_documented_columns(orders):
    run(
        "compute", "--granularity", "month", "--start", "2026-03-01", "--end", "2026-04-01",
        "--kpi", "revenue",
    )  # fmt: skip

    output = run(
        "export",
        "--granularity",
        "month",
        "--kpi",
        "revenue",
        "--dimension",
        "all",
        "--format",
        "csv",
    )

    rows = list(csv.DictReader(io.StringIO(output)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows == [
        {
            "kpi": "revenue",
            "granularity": "month",
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "dimension": "all",
            "dimension_value": "",
            "value": "100.000000",
            "numerator": "100.000000",
            "denominator": "",
            "sample_size": "1",
            "low_sample": "False",
            "provisional": "False",
        }
    ]


def test_export_json_filters_by_date_range(orders):
    run(
        "compute",
        "--granularity",
        "month",
        "--start",
        "2026-01-01",
        "--end",
        "2026-04-01",
        "--kpi",
        "orders",
    )

    output = run(
        "export",
        "--granularity",
        "month",
        "--dimension",
        "all",
        "--start",
        "2026-02-01",
        "--end",
        "2026-03-01",
        "--format",
        "json",
    )

    rows = json.loads(output)
    assert [(row["kpi"], row["period_start"], row["value"]) for row in rows] == [
        ("orders", "2026-02-01", "1.000000")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--granularity", "month", "--kpi", "nope", "--format", "csv"], "Unknown KPI 'nope'"),
        (
            ["--granularity", "month", "--dimension", "planet", "--format", "csv"],
            "Unknown dimension 'planet'",
        ),
        (["--granularity", "month", "--format", "xml"], "invalid choice: 'xml'"),
        (
            [
                "--granularity",
                "month",
                "--start",
                "2026-03-01",
                "--end",
                "2026-03-01",
                "--format",
                "csv",
            ],
            "must be after",
        ),
    ],
)
def test_export_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run("export", *args)


def test_list_shows_every_kpi_with_unit_and_formula():
    from kpis.definitions import registry

    output = run("list")
    for definition in registry.all():
        assert f"{definition.key} [{definition.stage}, {definition.unit}" in output
        assert str(definition.formula) in output


def test_schedule_installs_beat_entries_idempotently():
    from django_celery_beat.models import PeriodicTask

    run("schedule")
    entry = PeriodicTask.objects.get(task="kpis.tasks.compute_open_periods")
    entry.enabled = False  # an admin's choice survives a re-install
    entry.save()

    run("schedule")

    # open periods, closed periods, the sweeper of abandoned runs
    assert PeriodicTask.objects.filter(task__startswith="kpis.tasks.").count() == 3
    entry.refresh_from_db()
    assert entry.enabled is False
    assert entry.expire_seconds == 14 * 60
    assert entry.crontab.minute == "*/15"


def test_missing_subcommand_is_an_error():
    with pytest.raises(CommandError):
        run()

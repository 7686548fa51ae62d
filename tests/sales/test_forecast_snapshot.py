"""forecast_snapshot_take: figures per organisation, team and rep over the three-month pipeline
of forecast_pipeline.py, exclusions with their reason, idempotency and the explicit retake."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from sales import tasks
from sales.models import ForecastSnapshot
from sales.services import forecast_snapshot_take, opportunity_update
from tests.sales.forecast_pipeline import build_forecast_world, local

pytestmark = pytest.mark.django_db


def row(granularity, start, dimension="all", value=""):
    return ForecastSnapshot.objects.get(
        granularity=granularity,
        period_start=start,
        dimension=dimension,
        dimension_value=str(value),
    )


@pytest.fixture
def world():
    return build_forecast_world()


def test_january_snapshot_per_organisation_team_and_rep(world):
    january = dt.date(2026, 1, 1)
    everyone = row("month", january)
    # D1 10,000 × 0.5 + D2 4,000 × 0.25 + D3 6,000 × 0.5 = 5,000 + 1,000 + 3,000 = 9,000
    assert everyone.weighted_pipeline == Decimal("9000.00")
    # best case = best case + commit deals: D2 4,000 + D1 10,000; commit D1 10,000
    assert (everyone.best_case, everyone.commit) == (Decimal("14000.00"), Decimal("10000.00"))
    # D1 + D2 + D3 = 20,000 over 3 deals; D5 closes in February: not January's
    assert (everyone.pipeline_amount, everyone.deal_count) == (Decimal("20000.00"), 3)
    # D4 has no expected close date: left out, counted with its reason
    assert (everyone.excluded_undated, everyone.excluded_overdue) == (1, 0)
    assert everyone.period_end == dt.date(2026, 2, 1)
    assert everyone.taken_at == local(2026, 1, 1, 0)
    assert everyone.taken_by is None

    north = row("month", january, "team", world.north.pk)
    assert (north.weighted_pipeline, north.best_case, north.commit) == (
        Decimal("6000.00"),  # 5,000 + 1,000
        Decimal("14000.00"),
        Decimal("10000.00"),
    )
    assert north.dimension_label == "North"
    bo = row("month", january, "owner", world.bo.pk)
    # D3 3,000 weighted, pipeline category: best case and commit 0; D4 undated
    assert (bo.weighted_pipeline, bo.best_case, bo.commit, bo.excluded_undated) == (
        Decimal("3000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        1,
    )
    assert bo.dimension_label == "Bo South"


def test_later_months_and_the_quarter(world):
    # February: D5 8,000 × 0.5 + D6 5,000 × 0.8 = 8,000; commit 8,000 + 5,000 = 13,000
    february = row("month", dt.date(2026, 2, 1))
    assert (february.weighted_pipeline, february.commit) == (
        Decimal("8000.00"),
        Decimal("13000.00"),
    )
    # March: D8 2,000 × 0.5 + D9 10,000 × 0.25 = 1,000 + 2,500 = 3,500; best case D9 10,000
    march = row("month", dt.date(2026, 3, 1))
    assert (march.weighted_pipeline, march.best_case) == (Decimal("3500.00"), Decimal("10000.00"))
    # Q1 at Jan 1: D1, D2, D3 and D5 (Feb 10) → 9,000 + 4,000 = 13,000
    quarter = row("quarter", dt.date(2026, 1, 1))
    assert (quarter.weighted_pipeline, quarter.period_end) == (
        Decimal("13000.00"),
        dt.date(2026, 4, 1),
    )
    # one row per organisation, team (2) and rep (2) each month
    assert ForecastSnapshot.objects.filter(granularity="month").count() == 3 * 5


def test_overdue_open_deals_are_left_out_with_their_reason(world):
    # D4 gets a date in January: at April's snapshot it is overdue, not April's forecast
    opportunity_update(opportunity=world.deals["D4"], expected_close_date=dt.date(2026, 1, 31))
    forecast_snapshot_take(granularity="month", now=local(2026, 4, 1, 0))
    april = row("month", dt.date(2026, 4, 1))
    assert (april.deal_count, april.excluded_overdue, april.excluded_undated) == (0, 1, 0)
    assert april.weighted_pipeline == Decimal("0.00")


def test_a_second_take_changes_nothing(world):
    before = list(ForecastSnapshot.objects.filter(period_start=dt.date(2026, 3, 1)).values())
    # a new March deal after the snapshot: a re-run must not pick it up
    opportunity_update(opportunity=world.deals["D4"], expected_close_date=dt.date(2026, 3, 31))

    again = forecast_snapshot_take(granularity="month", now=local(2026, 3, 15))

    assert (again.taken, again.rows, again.period_start) == (False, 5, dt.date(2026, 3, 1))
    after = list(ForecastSnapshot.objects.filter(period_start=dt.date(2026, 3, 1)).values())
    assert after == before


def test_a_retake_replaces_the_period_on_purpose(world):
    manager = world.manager
    opportunity_update(opportunity=world.deals["D4"], expected_close_date=dt.date(2026, 3, 31))

    # D8 and D9 closed (lost) by Mar 21; D4 2,000 × 0.25 = 500 is all that is open in March
    retaken = forecast_snapshot_take(
        granularity="month", now=local(2026, 3, 22), retake=True, actor=manager
    )

    march = row("month", dt.date(2026, 3, 1))
    assert retaken.taken is True
    assert (march.weighted_pipeline, march.excluded_undated) == (Decimal("500.00"), 0)
    assert (march.taken_at, march.taken_by) == (local(2026, 3, 22), manager)
    assert (
        ForecastSnapshot.objects.filter(
            period_start=dt.date(2026, 3, 1), granularity="month"
        ).count()
        == 3
    )


def test_bad_input_is_refused():
    with pytest.raises(ValidationError) as unknown:
        forecast_snapshot_take(granularity="week")
    assert "granularity" in unknown.value.message_dict
    with pytest.raises(ValidationError) as naive:
        forecast_snapshot_take(granularity="month", now=dt.datetime(2026, 3, 1))  # noqa: DTZ001
    assert "now" in naive.value.message_dict
    assert not ForecastSnapshot.objects.exists()


def test_an_empty_pipeline_still_stores_the_organisation_row():
    taking = forecast_snapshot_take(granularity="quarter", now=local(2026, 5, 2))
    only = ForecastSnapshot.objects.get()
    # Q2 2026: nothing open → a zero forecast, so the accuracy KPI knows a forecast was taken
    assert (taking.taken, taking.period_start) == (True, dt.date(2026, 4, 1))
    assert (only.dimension, only.weighted_pipeline, only.deal_count) == ("all", Decimal("0.00"), 0)


@time_machine.travel(local(2026, 7, 1, 0, 5), tick=False)
def test_the_beat_task_takes_each_granularity_once_and_the_command_too(world, capsys):
    first = tasks.forecast_snapshots_take_task.delay().get()
    second = tasks.forecast_snapshots_take_task.delay().get()

    assert first == ["month:2026-07-01", "quarter:2026-07-01", "year:2026-01-01"]
    assert second == []
    call_command("forecast_snapshot", "--granularity", "month")
    # organisation, South and Bo: the rows of the one open deal (D4, undated)
    assert "month 2026-07-01: already taken, unchanged (3 rows)" in capsys.readouterr().out
    call_command("forecast_snapshot", "--granularity", "month", "--retake")
    assert "month 2026-07-01: taken (3 rows)" in capsys.readouterr().out


def test_the_beat_entry_is_installed(db):
    from django_celery_beat.models import PeriodicTask

    assert tasks.beat_schedule_install() == ["sales: forecast snapshots"]
    entry = PeriodicTask.objects.get(name="sales: forecast snapshots")
    assert entry.task == "sales.tasks.forecast_snapshots_take_task"
    assert (entry.crontab.minute, entry.crontab.hour) == ("5", "0")
    assert tasks.beat_schedule_install() == ["sales: forecast snapshots"]  # idempotent
    assert PeriodicTask.objects.filter(name="sales: forecast snapshots").count() == 1

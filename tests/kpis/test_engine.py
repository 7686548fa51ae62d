"""The engine: one atomic, idempotent, serialised run per (granularity, period), logged."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from kpis.definitions import UnknownKpiError, registry
from kpis.engine import compute_period, compute_range
from kpis.models import CustomerHealthSnapshot, KpiRun, KpiSnapshot
from kpis.periods import period_bounds, to_datetime_range
from tests.customers.factories import TeamFactory
from tests.kpis.conftest import MARCH, NOW, buyer, local, snapshot
from tests.support.factories import TicketFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


@pytest.fixture
def some_business():
    team = TeamFactory.create(name="T1")
    buyer(local(2026, 1, 10), local(2026, 3, 10), team=team)
    buyer(local(2025, 12, 15), team=team)
    TicketFactory.create(first_response_at=local(2026, 3, 4), first_response_business_minutes=30)
    return team


def cells():
    return sorted(
        KpiSnapshot.objects.values_list(
            "kpi", "granularity", "period_start", "dimension", "dimension_value", "value"
        )
    )


def test_every_kpi_writes_an_all_row(some_business):
    run = compute_period(granularity="month", period_start=MARCH, now=NOW)

    assert run.status == KpiRun.Status.SUCCEEDED
    assert run.rows_written == KpiSnapshot.objects.count()
    all_rows = set(KpiSnapshot.objects.filter(dimension="all").values_list("kpi", flat=True))
    assert all_rows == set(registry.keys())
    assert KpiSnapshot.objects.filter(dimension="all", dimension_value="").count() == len(registry)


def test_run_is_idempotent(some_business):
    compute_period(granularity="month", period_start=MARCH, now=NOW)
    first = cells()

    compute_period(granularity="month", period_start=MARCH, now=NOW)

    assert cells() == first
    assert KpiRun.objects.filter(status=KpiRun.Status.SUCCEEDED).count() == 2


def test_recompute_of_some_kpis_keeps_the_others(some_business):
    compute_period(granularity="month", period_start=MARCH, now=NOW)
    before = KpiSnapshot.objects.count()
    revenue_ids = set(KpiSnapshot.objects.filter(kpi="revenue").values_list("pk", flat=True))

    run = compute_period(granularity="month", period_start=MARCH, kpi_keys=["revenue"], now=NOW)

    assert KpiSnapshot.objects.count() == before
    assert run.kpi_keys == ["revenue"]
    # only revenue's rows were replaced
    assert not revenue_ids & set(
        KpiSnapshot.objects.filter(kpi="revenue").values_list("pk", flat=True)
    )


def test_run_calls_the_post_compute_hook_once(some_business, post_compute_calls):
    compute_period(granularity="week", period_start=dt.date(2026, 3, 2), now=NOW)

    # The run's customer frame stored the period's health from its own order measures (before
    # the KPIs grouped on the bands): the hook is told so and does not score the period again.
    assert post_compute_calls == [
        {
            "granularity": "week",
            "period_start": dt.date(2026, 3, 2),
            "period_end": dt.date(2026, 3, 9),
            "health_stored": True,
        }
    ]
    stored = CustomerHealthSnapshot.objects.filter(
        granularity="week", period_start=dt.date(2026, 3, 2)
    )
    assert stored.exists()
    assert {row.as_of for row in stored} == {
        to_datetime_range(*period_bounds("week", dt.date(2026, 3, 2)))[1]
    }


def test_failed_run_writes_nothing_and_logs_the_error(some_business, monkeypatch):
    compute_period(granularity="month", period_start=MARCH, now=NOW)
    before = cells()

    def explode(ctx):
        raise RuntimeError("boom in churn")

    monkeypatch.setattr(registry.get("churn_rate"), "compute", explode)
    with pytest.raises(RuntimeError, match="boom"):
        compute_period(granularity="month", period_start=MARCH, now=NOW)

    # the previous complete run stays visible; the failure is logged
    assert cells() == before
    failed = KpiRun.objects.get(status=KpiRun.Status.FAILED)
    assert "boom in churn" in failed.error
    assert failed.finished_at is not None


def test_unknown_kpi_is_refused_before_anything_is_written():
    with pytest.raises(UnknownKpiError, match="Unknown KPI 'churn'"):
        compute_period(granularity="month", period_start=MARCH, kpi_keys=["churn"])
    assert not KpiRun.objects.exists()


def test_period_start_must_start_a_period():
    with pytest.raises(ValueError, match="not the start of a month period"):
        compute_period(granularity="month", period_start=dt.date(2026, 3, 2))
    assert not KpiRun.objects.exists()


def test_open_period_is_provisional_and_flags_low_samples():
    buyer(local(2026, 3, 10))
    # now inside March: the period is still open
    compute_period(
        granularity="month",
        period_start=MARCH,
        kpi_keys=["revenue", "csat", "churn_rate"],
        now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
    )
    revenue, csat, churn = (snapshot(key) for key in ("revenue", "csat", "churn_rate"))
    assert revenue.provisional is True
    assert revenue.low_sample is False
    # no CSAT answers (0 < 30) and no active customers at Mar 1 (0 < 1)
    assert csat.low_sample is True
    assert csat.value is None
    assert churn.low_sample is True
    assert churn.value is None
    assert revenue.definition_version == registry.get("revenue").version


def test_queries_do_not_grow_with_the_number_of_customers(django_assert_max_num_queries):
    team = TeamFactory.create(name="T1")
    buyer(local(2026, 1, 10), local(2026, 3, 10), team=team)
    keys = ["churn_rate", "revenue", "repeat_purchase_rate", "first_response_time", "nps"]
    with CaptureQueriesContext(connection) as small:
        compute_period(granularity="month", period_start=MARCH, kpi_keys=keys, now=NOW)

    for day in range(1, 25):
        buyer(local(2026, 1, day), local(2026, 3, day), team=team)
        TicketFactory.create(
            first_response_at=local(2026, 3, day), first_response_business_minutes=day
        )

    with django_assert_max_num_queries(len(small.captured_queries)):
        compute_period(granularity="month", period_start=MARCH, kpi_keys=keys, now=NOW)
    assert snapshot("revenue").value == Decimal("2500")  # 25 March orders × 100


def test_compute_range_backfills_each_period():
    buyer(local(2026, 1, 10), local(2026, 2, 10), local(2026, 3, 10))
    runs = compute_range(
        granularity="month",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 4, 1),
        kpi_keys=["orders"],
        now=NOW,
    )
    assert [run.period_start for run in runs] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
    assert list(
        KpiSnapshot.objects.filter(kpi="orders", dimension="all")
        .order_by("period_start")
        .values_list("value", flat=True)
    ) == [1, 1, 1]


def test_a_backfill_refreshes_customer_scores_only_for_its_last_period(post_compute_calls):
    # Scores describe "now": each month of a backfill would overwrite the previous one's, so
    # only the last month may refresh them (by the hook's own "latest period" rule).
    compute_range(
        granularity="month",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 4, 1),
        kpi_keys=["orders"],
        now=NOW,
    )
    assert [call.get("refresh_scores") for call in post_compute_calls] == [False, False, None]
    assert "refresh_scores" not in post_compute_calls[-1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_one_period_do_not_interleave(post_compute_calls):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the lock under test is PostgreSQL's")
    team = TeamFactory.create(name="T1")
    for day in range(1, 10):
        buyer(local(2026, 1, day), local(2026, 3, day), team=team)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            compute_period(granularity="month", period_start=MARCH, now=NOW)
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert KpiRun.objects.filter(status=KpiRun.Status.SUCCEEDED).count() == 2
    # one run's rows, not two: every cell exactly once
    assert KpiSnapshot.objects.filter(dimension="all").count() == len(registry)
    assert snapshot("revenue").value == Decimal("900")

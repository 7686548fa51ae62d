"""After an import the KPI periods the data touched are recomputed (kpis.tasks, on commit)."""

import datetime as dt

import pytest

from kpis.models import KpiRun
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_import_recomputes_the_touched_periods(
    write_csv, import_data, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C-1")
    path = write_csv(
        "orders.csv",
        [
            ["external_id", "customer", "ordered_at", "total"],
            ["O-1", "C-1", "2024-03-05", "10"],
            ["O-2", "C-1", "2024-04-01T00:30", "10"],  # local time: April, second quarter
        ],
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = import_data("orders", path)

    assert result.ok, result.err
    assert len(callbacks) == 1
    expected = [
        "month:2024-03-01",
        "month:2024-04-01",
        "quarter:2024-01-01",
        "quarter:2024-04-01",
        "year:2024-01-01",
    ]
    assert f"KPI periods recomputed: {', '.join(expected)}" in result.out
    runs = set(KpiRun.objects.values_list("granularity", "period_start", "status"))
    assert runs == {
        (label.split(":")[0], dt.date.fromisoformat(label.split(":")[1]), "succeeded")
        for label in expected
    }


def test_nothing_is_recomputed_after_a_refused_or_dry_run(
    write_csv, import_data, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C-1")
    good = write_csv(
        "good.csv", [["external_id", "customer", "ordered_at"], ["O-1", "C-1", "2024-03-05"]]
    )
    bad = write_csv(
        "bad.csv", [["external_id", "customer", "ordered_at"], ["O-1", "C-9", "2024-03-05"]]
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dry = import_data("orders", good, "--dry-run")
        refused = import_data("orders", bad)

    assert callbacks == []
    assert "KPI periods to recompute: month:2024-03-01" in dry.out
    assert not refused.ok
    assert KpiRun.objects.count() == 0


def test_daily_periods_only_when_they_were_computed_before(
    write_csv, import_data, django_capture_on_commit_callbacks
):
    from kpis.engine import compute_period

    compute_period(granularity="day", period_start=dt.date(2024, 3, 5), kpi_keys=["revenue"])
    CustomerFactory(external_id="C-1")
    path = write_csv(
        "orders.csv",
        [
            ["external_id", "customer", "ordered_at"],
            ["O-1", "C-1", "2024-03-05"],
            ["O-2", "C-1", "2024-03-06"],
        ],
    )

    result = import_data("orders", path, "--dry-run")

    assert "day:2024-03-05" in result.out
    assert "day:2024-03-06" not in result.out

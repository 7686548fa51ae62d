"""forecast_accuracy and forecast_bias over the three-month pipeline of
tests/sales/forecast_pipeline.py (figures worked out there and below)."""

import datetime as dt
from decimal import Decimal

import pytest

from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from sales.models import ForecastSnapshot
from tests.kpis.conftest import snapshot
from tests.sales.forecast_pipeline import build_forecast_world, local

pytestmark = pytest.mark.django_db

KEYS = ["forecast_accuracy", "forecast_bias"]
APRIL = local(2026, 4, 15)  # every period of the world has closed


@pytest.fixture
def world(post_compute_calls):
    built = build_forecast_world()
    for month in (1, 2, 3):
        compute_period(
            granularity="month", period_start=dt.date(2026, month, 1), kpi_keys=KEYS, now=APRIL
        )
    return built


def cell(kpi, month, dimension="all", value=""):
    return snapshot(kpi, period_start=dt.date(2026, month, 1), dimension=dimension, value=value)


def test_january_accuracy_and_bias_per_organisation_team_and_rep(world):
    # all: F 9,000, W 16,000 → 1 − 7,000 / 16,000 = 0.5625; numerator 16,000 − 7,000 = 9,000
    accuracy = cell("forecast_accuracy", 1)
    assert (accuracy.numerator, accuracy.denominator) == (Decimal("9000"), Decimal("16000"))
    assert accuracy.value == Decimal("0.5625")
    assert accuracy.sample_size == 2  # D1 and D3 won
    # bias (9,000 − 16,000) / 16,000 = −0.4375: under-forecast
    assert cell("forecast_bias", 1).value == Decimal("-0.4375")
    # North: F 6,000, W 10,000 → 1 − 4,000 / 10,000 = 0.6, bias −0.4
    north = world.north.pk
    assert cell("forecast_accuracy", 1, "team", north).value == Decimal("0.6")
    assert cell("forecast_bias", 1, "team", north).value == Decimal("-0.4")
    # Bo (South): F 3,000, W 6,000 → 0.5, bias −0.5
    assert cell("forecast_accuracy", 1, "owner", world.bo.pk).value == Decimal("0.5")
    assert cell("forecast_bias", 1, "owner", world.bo.pk).value == Decimal("-0.5")
    assert cell("forecast_accuracy", 1, "owner", world.bo.pk).dimension_label == "Bo South"


def test_details_hold_the_forecasts_and_the_commit_and_best_case_figures(world):
    details = cell("forecast_accuracy", 1).details
    # commit 10,000 vs 16,000 → 1 − 6,000 / 16,000 = 0.625; best case 14,000 → 1 − 2,000/16,000
    assert details["weighted_pipeline"] == "9000.00"
    assert details["won"] == "16000.00"
    assert details["commit"] == "10000.00"
    assert details["commit_accuracy"] == "0.625000"
    assert details["best_case_accuracy"] == "0.875000"
    # bias of the commit: (10,000 − 16,000) / 16,000 = −0.375
    assert cell("forecast_bias", 1).details["commit_bias"] == "-0.375000"


def test_february_over_and_under_forecast_and_a_win_nobody_forecast(world):
    # all: F 8,000, W 11,000 → 1 − 3,000 / 11,000 = 0.727273 (8,000 / 11,000)
    assert cell("forecast_accuracy", 2).value == Decimal("0.727273")
    # Ada: F 4,000 (D6, lost), W 3,000 (D7, created after the snapshot) →
    # 1 − 1,000 / 3,000 = 0.666667; bias +1,000 / 3,000 = 0.333333 (over)
    ada = world.ada.pk
    assert cell("forecast_accuracy", 2, "owner", ada).value == Decimal("0.666667")
    assert cell("forecast_bias", 2, "owner", ada).value == Decimal("0.333333")
    # Bo: F 4,000, W 8,000 → 0.5, bias −0.5 (under)
    assert cell("forecast_accuracy", 2, "owner", world.bo.pk).value == Decimal("0.5")
    assert cell("forecast_bias", 2, "owner", world.bo.pk).value == Decimal("-0.5")


def test_march_nothing_won_is_na_with_the_parts_stored(world):
    # F 3,500, W 0 → zero denominator → n/a; accuracy numerator 0 − |3,500 − 0| = −3,500
    accuracy = cell("forecast_accuracy", 3)
    assert accuracy.value is None
    assert (accuracy.numerator, accuracy.denominator) == (Decimal("-3500"), Decimal("0"))
    assert accuracy.low_sample is True
    bias = cell("forecast_bias", 3)
    assert (bias.value, bias.numerator) == (None, Decimal("3500"))


def test_roll_up_over_the_quarter_months_is_one_minus_wape(world):
    rows = KpiSnapshot.objects.filter(kpi="forecast_accuracy", dimension="all")
    numerator = sum(row.numerator for row in rows)
    denominator = sum(row.denominator for row in rows)
    # Σ numerators 9,000 + 8,000 − 3,500 = 13,500; Σ won 27,000 → 0.5
    # = 1 − (7,000 + 3,000 + 3,500) / 27,000: one minus the weighted absolute percentage error
    assert (numerator, denominator) == (Decimal("13500"), Decimal("27000"))


def test_quarter_uses_the_quarter_snapshot(world):
    compute_period(
        granularity="quarter", period_start=dt.date(2026, 1, 1), kpi_keys=KEYS, now=APRIL
    )
    row = snapshot("forecast_accuracy", granularity="quarter", period_start=dt.date(2026, 1, 1))
    # F 13,000 (D1, D2, D3, D5 at Jan 1), W 27,000 → 13,000 / 27,000 = 0.481481
    assert row.value == Decimal("0.481481")


def test_open_period_and_period_without_snapshot_are_na(world):
    compute_period(
        granularity="month", period_start=dt.date(2026, 3, 1), kpi_keys=KEYS, now=local(2026, 3, 25)
    )
    assert cell("forecast_accuracy", 3).value is None
    assert cell("forecast_accuracy", 3).sample_size == 0  # not computed while open
    compute_period(granularity="month", period_start=dt.date(2025, 12, 1), kpi_keys=KEYS, now=APRIL)
    december = snapshot("forecast_accuracy", period_start=dt.date(2025, 12, 1))
    assert (december.value, december.numerator) == (None, None)
    assert not ForecastSnapshot.objects.filter(period_start=dt.date(2025, 12, 1)).exists()


def test_drill_down_lists_the_won_deals(world):
    definition = registry.get("forecast_accuracy")
    ctx = KpiContext.build(
        granularity="month",
        period_start=dt.date(2026, 2, 1),
        period_end=dt.date(2026, 3, 1),
        now=APRIL,
    )
    records = definition.records(ctx, "owner", str(world.ada.pk), "denominator")
    assert records is not None
    assert [deal.name for deal in records] == ["D7"]

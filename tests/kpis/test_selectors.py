"""Snapshot reads and the drill-down list behind a number (same query as the number)."""

import datetime as dt

import pytest

from kpis.engine import compute_period
from kpis.selectors import (
    latest_snapshots,
    snapshot_drilldown,
    snapshot_list,
    snapshot_series,
)
from tests.customers.factories import TeamFactory
from tests.kpis.conftest import MARCH, NOW, buyer, customer, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


@pytest.fixture
def churn_story():
    team = TeamFactory.create(name="T1")
    stayed = buyer(local(2026, 1, 10), local(2026, 3, 10), team=team)
    left = buyer(local(2025, 12, 15), team=team)
    other = buyer(local(2025, 12, 16))
    compute_period(granularity="month", period_start=MARCH, kpi_keys=["churn_rate"], now=NOW)
    return {"team": team, "stayed": stayed, "left": left, "other": other}


def test_drilldown_lists_the_records_behind_numerator_and_denominator(churn_story):
    churned = snapshot_drilldown(
        kpi="churn_rate", granularity="month", period_start=MARCH, part="numerator"
    )
    at_start = snapshot_drilldown(
        kpi="churn_rate", granularity="month", period_start=MARCH, part="denominator"
    )
    team_churned = snapshot_drilldown(
        kpi="churn_rate",
        granularity="month",
        period_start=MARCH,
        dimension="team",
        dimension_value=str(churn_story["team"].pk),
    )

    assert churned is not None
    assert at_start is not None
    assert team_churned is not None
    assert {c.pk for c in churned} == {churn_story["left"].pk, churn_story["other"].pk}
    assert at_start.count() == 3
    assert [c.pk for c in team_churned] == [churn_story["left"].pk]
    # the list has as many rows as the stored numerator
    stored = snapshot_series(kpi="churn_rate", granularity="month").get()
    assert stored.numerator == churned.count()


def test_drilldown_of_none_group_and_unknown_dimension(churn_story):
    no_team = snapshot_drilldown(
        kpi="churn_rate",
        granularity="month",
        period_start=MARCH,
        dimension="team",
        dimension_value="",
    )
    assert no_team is not None
    assert [c.pk for c in no_team] == [churn_story["other"].pk]
    with pytest.raises(KeyError, match="no dimension 'product_line'"):
        snapshot_drilldown(
            kpi="churn_rate", granularity="month", period_start=MARCH, dimension="product_line"
        )


def test_snapshot_reads(churn_story):
    customer(local(2026, 4, 3))
    compute_period(
        granularity="month", period_start=dt.date(2026, 4, 1), kpi_keys=["churn_rate"], now=NOW
    )

    series = snapshot_series(kpi="churn_rate", granularity="month")
    latest = latest_snapshots(granularity="month")
    teams = snapshot_list(granularity="month", dimension="team", end=dt.date(2026, 4, 1))

    assert [row.period_start for row in series] == [MARCH, dt.date(2026, 4, 1)]
    assert [(row.kpi, row.period_start) for row in latest] == [("churn_rate", dt.date(2026, 4, 1))]
    assert {row.dimension_label for row in teams} == {"T1", "(none)"}

"""One figure (latest, previous, change, target) for the overview's card, the digest and the
period report: kpis.selectors.cell_figures, read in a bounded number of queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.definitions import registry
from kpis.models import Target
from kpis.selectors import cell_figures, cell_snapshots
from reports.digests import digest_build, digest_subscription_create
from reports.period_report import ScopeCell, kpi_figures
from tests.reports.conftest import FEBRUARY, MARCH

pytestmark = pytest.mark.django_db


@pytest.fixture
def revenue_target(snapshots):
    # Revenue: 4 March orders against 1 in February (the conftest's month of data).
    return Target.objects.create(
        kpi="revenue",
        granularity="month",
        period_start=MARCH,
        kind=Target.Kind.ABSOLUTE,
        amount=Decimal("500"),
    )


def test_overview_digest_and_report_state_the_same_figure(
    client, snapshots, revenue_target, at_send_time, django_assert_max_num_queries
):
    manager = snapshots["manager"]
    client.force_login(manager)
    # As many queries as before the cards read their figure through cell_figures.
    with django_assert_max_num_queries(19):
        overview = client.get(reverse("kpis:overview"), {"granularity": "month", "period": MARCH})
    card = next(c for c in overview.context["cards"] if c["series"].key == "revenue")
    subscription = digest_subscription_create(
        user=manager, frequency="monthly", scope="company", kpi_keys=["revenue"]
    )
    (line,) = digest_build(subscription=subscription, period_start=MARCH).figures
    (report_line,) = kpi_figures(
        definitions=[registry.get("revenue")],
        granularity="month",
        period_start=MARCH,
        cell=ScopeCell.of(scope="company"),
        with_charts=False,
    )

    shown = card["figure"]
    assert shown.value == line.value == report_line.value
    assert shown.baseline == line.previous == report_line.previous
    assert shown.baseline_start == FEBRUARY
    assert shown.change == line.change_previous == report_line.change_previous
    assert shown.change == shown.value - shown.baseline
    # Absolute target 500 in the stored unit: what each of them resolves the goal to.
    assert line.target is not None
    assert card["target"].resolved_value == line.target.resolved_value == Decimal("500")


def test_cell_figures_give_latest_previous_change_and_target(snapshots, revenue_target):
    rows = {
        (row.kpi, row.period_start): row
        for row in cell_snapshots(
            kpis=["revenue"], granularity="month", dimension="all", value="", first=FEBRUARY
        )
    }

    figure = cell_figures(
        keys=["revenue"],
        granularity="month",
        period_start=MARCH,
        dimension="all",
        value="",
        snapshots=rows,
    )["revenue"]

    march, february = rows[("revenue", MARCH)], rows[("revenue", FEBRUARY)]
    assert figure.snapshot == march
    assert figure.previous == february
    # change = March − February, in the stored unit.
    assert march.value is not None
    assert february.value is not None
    assert figure.change == march.value - february.value
    assert figure.target is not None
    assert figure.target.target.pk == revenue_target.pk
    assert figure.alert is None


def test_the_digest_reads_a_bounded_number_of_queries(
    snapshots, revenue_target, at_send_time, django_assert_max_num_queries
):
    subscription = digest_subscription_create(
        user=snapshots["manager"],
        frequency="monthly",
        scope="company",
        kpi_keys=["revenue", "orders", "aov", "churn_rate"],
    )
    # Snapshots 1, targets 3 (targets, their snapshots, index directions), annotations 1, the
    # subscription's scope and priorities, alerts and the index: 10, as before the figure moved.
    with django_assert_max_num_queries(10):
        digest = digest_build(subscription=subscription, period_start=MARCH)

    assert len(digest.figures) == 4

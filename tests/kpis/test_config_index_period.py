"""The index card on the overview, the index page and its waterfall open on the last closed
period (the one the KPI cards show), say the index is company-wide, and read a restated period
under the version in force."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis import charts
from kpis.models import Granularity, IndexContribution, IndexSnapshot, WeightVersion
from kpis.periods import last_closed_period, period_label
from kpis.services import weight_version_create_draft
from tests.customers.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTH = Granularity.MONTH


def months() -> tuple[dt.date, dt.date, dt.date]:
    """The month before the last closed one, the last closed one and the open one."""
    closed, _end = last_closed_period(MONTH)
    return charts.shift_period(MONTH, closed, -1), closed, charts.shift_period(MONTH, closed, 1)


def index(start, value, version, *, churn, published=True, coverage="1", computed_at=None):
    snapshot = IndexSnapshot.objects.create(
        granularity=MONTH,
        period_start=start,
        period_end=charts.shift_period(MONTH, start, 1),
        version=version,
        # An unpublished index has no value (only its coverage and contributions).
        value=Decimal(value) if published else None,
        coverage=Decimal(coverage),
        band="yellow",
        published=published,
    )
    if computed_at is not None:
        IndexSnapshot.objects.filter(pk=snapshot.pk).update(computed_at=computed_at)
    # Churn carries `churn` points, CSAT the rest.
    for kpi, group, points in (
        ("churn_rate", "retention", Decimal(churn)),
        ("csat", "maintenance", Decimal(value) - Decimal(churn)),
    ):
        IndexContribution.objects.create(
            snapshot=snapshot, kpi=kpi, group=group, weight=Decimal(1),
            normalised_score=points * 2, effective_share=Decimal("0.5"), contribution=points,
        )  # fmt: skip
    return snapshot


@pytest.fixture
def active() -> WeightVersion:
    return WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)


@pytest.fixture
def three_months(active):
    before, closed, open_ = months()
    index(before, "60", active, churn="30")
    index(closed, "70", active, churn="38")
    index(open_, "20", active, churn="5")  # a few days in: partial, never the headline
    return before, closed, open_


@pytest.fixture
def manager(client):
    client.force_login(UserFactory(role="Manager"))


def text(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[html.index(">", start) + 1 : html.index("<", start)]


def test_the_overview_index_card_shows_the_last_closed_month_and_is_company_wide(
    client, manager, three_months
):
    _before, closed, _open = three_months

    html = client.get(reverse("kpis:overview"), {"granularity": "month"}).content.decode()

    assert text(html, "index-value") == "70.0"
    assert text(html, "index-period") == period_label(MONTH, closed)
    assert text(html, "index-previous") == "previous 60.0"
    assert text(html, "index-company-wide") == "Company-wide: one index for the whole organisation."


def test_the_index_card_follows_the_chosen_period(client, manager, three_months):
    _before, _closed, open_ = three_months

    html = client.get(
        reverse("kpis:overview"), {"granularity": "month", "period": open_.isoformat()}
    ).content.decode()

    assert text(html, "index-value") == "20.0"
    assert text(html, "index-period") == period_label(MONTH, open_)


def test_under_a_team_filter_the_card_says_the_index_is_not_broken_down(
    client, manager, three_months
):
    team = TeamFactory(name="North")

    html = client.get(
        reverse("kpis:overview"), {"granularity": "month", "team": str(team.pk)}
    ).content.decode()

    assert text(html, "index-value") == "70.0"
    assert "Company-wide: the index is not broken down by team." in html


def test_the_index_page_and_its_waterfall_open_on_the_last_closed_month(
    client, manager, three_months
):
    _before, closed, _open = three_months

    html = client.get(reverse("kpis:index"), {"granularity": "month"}).content.decode()
    waterfall = json.loads(
        client.get(reverse("kpis:waterfall_chart"), {"granularity": "month"}).content
    )

    assert text(html, "index-value") == "70.0"
    assert text(html, "index-period") == period_label(MONTH, closed)
    assert "Company-wide" in text(html, "index-company-wide")
    # 60 → 70: churn 30 → 38 (+8), CSAT 30 → 32 (+2); the open month's 20 is not the headline.
    assert waterfall["labels"] == [
        "Previous",
        "Churn rate",
        "Customer satisfaction (CSAT)",
        "Latest",
    ]
    assert waterfall["datasets"][0]["data"] == [[0, 60.0], [60.0, 68.0], [68.0, 70.0], [0, 70.0]]


def test_the_waterfall_of_a_chosen_open_period_reads_it_against_the_closed_one(
    client, manager, three_months
):
    _before, _closed, open_ = three_months

    waterfall = json.loads(
        client.get(
            reverse("kpis:waterfall_chart"), {"granularity": "month", "period": open_.isoformat()}
        ).content
    )

    # 70 → 20: churn 38 → 5 (−33), CSAT 32 → 15 (−17).
    assert waterfall["datasets"][0]["data"] == [[0, 70.0], [70.0, 37.0], [37.0, 20.0], [0, 20.0]]


def test_a_restated_period_shows_the_version_in_force_not_the_newest_row(client, manager, active):
    _before, closed, _open = months()
    earlier = timezone.now() - dt.timedelta(days=1)
    index(closed, "70", active, churn="38", computed_at=earlier)
    draft = weight_version_create_draft(name="Retention-heavy")
    # The draft's preview-like row for the same month is computed later but not in force.
    index(closed, "55", draft, churn="30")

    html = client.get(reverse("kpis:overview"), {"granularity": "month"}).content.decode()
    page = client.get(reverse("kpis:index"), {"granularity": "month"}).content.decode()

    assert text(html, "index-value") == "70.0"
    assert text(page, "index-value") == "70.0"
    assert text(page, "index-version") == active.name


def test_without_an_index_for_the_last_closed_month_the_card_says_so(client, manager, active):
    _before, closed, open_ = months()
    index(open_, "20", active, churn="5")  # only the open month: not shown in its place

    html = client.get(reverse("kpis:overview"), {"granularity": "month"}).content.decode()

    assert 'data-testid="index-value"' not in html
    assert text(html, "index-none") == f"No index computed for {period_label(MONTH, closed)} yet."


def test_an_unpublished_index_says_why(client, manager, active):
    _before, closed, _open = months()
    index(closed, "40", active, churn="20", published=False, coverage="0.5")

    html = client.get(reverse("kpis:index"), {"granularity": "month"}).content.decode()

    # Coverage 50 % below the default minimum of 0.70 → not published.
    assert text(html, "index-value") == "n/a"
    assert text(html, "index-unpublished") == (
        "Not published: coverage below the version's minimum of 70 %."
    )

"""Annotations on the KPI page: in the trend chart's JSON (marked by kpi-charts.js) and in the
period table, read with a fixed number of queries however many notes there are."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kpis import charts
from kpis.models import Granularity, KpiSnapshot
from reports.services import annotation_create
from tests.customers.factories import UserFactory
from tests.reports.conftest import FEBRUARY, MARCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_send_time")]

# October 2025 … March 2026: the six closed months before the send time (1 April 2026).
MONTHS = [charts.shift_period(Granularity.MONTH, dt.date(2025, 10, 1), step) for step in range(6)]


@pytest.fixture
def manager() -> object:
    # No team: the organisation's figures (a manager with a team reads that team's).
    return UserFactory(username="olga", role="Manager")


@pytest.fixture
def browser(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def revenue_months(db) -> list[KpiSnapshot]:
    return [
        KpiSnapshot.objects.create(
            kpi="revenue",
            granularity=Granularity.MONTH,
            period_start=start,
            period_end=charts.shift_period(Granularity.MONTH, start, 1),
            value=Decimal(100 * (step + 1)),
            numerator=Decimal(100 * (step + 1)),
            sample_size=step + 1,
        )
        for step, start in enumerate(MONTHS)
    ]


@pytest.fixture
def notes(manager, revenue_months) -> dict[str, object]:
    """Two notes that concern revenue's monthly chart and four that do not."""
    make = annotation_create
    return {
        "price": make(
            text="New price list",
            kind="price_change",
            kpi="revenue",
            granularity="month",
            period_start=FEBRUARY,
            actor=manager,
        ),
        "outage": make(
            text="Checkout <down> for 3 days",
            kind="outage",
            starts_on=dt.date(2026, 2, 27),
            ends_on=dt.date(2026, 3, 2),
            actor=manager,
        ),
        "other_kpi": make(
            text="Orders only", kpi="orders", granularity="month", period_start=MARCH, actor=manager
        ),
        "weekly": make(
            text="A weekly note",
            kpi="revenue",
            granularity="week",
            period_start=dt.date(2026, 3, 2),
            actor=manager,
        ),
        "before": make(
            text="Before the chart",
            starts_on=dt.date(2025, 1, 1),
            ends_on=dt.date(2025, 1, 31),
            actor=manager,
        ),
    }


def chart(browser: Client, **params: str) -> dict:
    response = browser.get(
        reverse("kpis:kpi_chart", kwargs={"key": "revenue"}), {"granularity": "month", **params}
    )
    assert response.status_code == 200
    return json.loads(response.content)


def test_chart_json_carries_the_annotations_of_its_window_with_their_positions(browser, notes):
    payload = chart(browser)

    assert payload["labels"] == [start.isoformat() for start in MONTHS]
    # February is position 4; the outage runs from 27 February into March (positions 4–5).
    assert payload["annotations"] == [
        {
            "id": notes["price"].pk,
            "kind": "price_change",
            "kindLabel": "Price change",
            "text": "New price list",
            "kpi": "revenue",
            "startsOn": "2026-02-01",
            "endsOn": "2026-02-28",
            "from": 4,
            "to": 4,
        },
        {
            "id": notes["outage"].pk,
            "kind": "outage",
            "kindLabel": "Outage",
            "text": "Checkout <down> for 3 days",
            "kpi": "",
            "startsOn": "2026-02-27",
            "endsOn": "2026-03-02",
            "from": 4,
            "to": 5,
        },
    ]


def test_a_dimension_chart_shows_the_same_notes_and_an_empty_chart_none(browser, notes):
    KpiSnapshot.objects.create(
        kpi="revenue",
        granularity=Granularity.MONTH,
        period_start=MARCH,
        period_end=dt.date(2026, 4, 1),
        dimension="team",
        dimension_value="7",
        dimension_label="North",
        value=Decimal(5),
    )

    by_team = chart(browser, dimension="team")
    weekly = chart(browser, granularity="week")

    # One period on the axis (March): the outage's last days are in it, February's note is not.
    assert [note["id"] for note in by_team["annotations"]] == [notes["outage"].pk]
    assert (by_team["annotations"][0]["from"], by_team["annotations"][0]["to"]) == (0, 0)
    assert weekly["labels"] == []
    assert weekly["annotations"] == []


def test_a_chart_ending_at_a_period_has_the_notes_of_that_window_only(browser, notes):
    january = chart(browser, period="2026-01-15")
    refused = browser.get(
        reverse("kpis:kpi_chart", kwargs={"key": "revenue"}), {"period": "last month"}
    )

    # The window ends with January's period (the page's table ends there too): no note in it.
    assert january["labels"][-1] == "2026-01-01"
    assert january["annotations"] == []
    assert refused.status_code == 400


def test_the_kpi_pages_trend_chart_ends_at_the_chosen_period(browser, revenue_months):
    response = browser.get(
        reverse("kpis:kpi_detail", kwargs={"key": "revenue"}),
        {"granularity": "month", "period": "2026-02-01"},
    )

    assert "period=2026-02-01" in response.context["trend_url"]
    trend = browser.get(response.context["trend_url"])
    assert json.loads(trend.content)["labels"][-1] == "2026-02-01"


def test_period_table_shows_each_periods_notes_and_exports_them(browser, notes):
    url = reverse("kpis:kpi_detail", kwargs={"key": "revenue"})

    response = browser.get(url)
    exported = browser.get(url, {"format": "csv", "table": "periods"}).content.decode()

    table = response.context["tables"][0]
    assert table.columns[-1] == "Annotations"
    by_period = {row[0].text: row[-1].text for row in table.rows}
    assert by_period["2026-03-01"] == "Outage: Checkout <down> for 3 days"
    assert by_period["2026-02-01"] == (
        "Price change: New price list; Outage: Checkout <down> for 3 days"
    )
    assert by_period["2026-01-01"] == ""
    assert by_period["2025-10-01"] == ""
    html = response.content.decode()
    # Escaped in the page, plain in the CSV.
    assert "Checkout &lt;down&gt; for 3 days" in html
    assert "Checkout <down>" not in html
    assert "Price change: New price list; Outage: Checkout <down> for 3 days" in exported
    assert exported.splitlines()[0].endswith(",Records,Annotations")


def test_kpi_page_offers_annotate_this_period_to_managers(browser, revenue_months):
    url = reverse("kpis:kpi_detail", kwargs={"key": "revenue"})

    html = browser.get(url, {"granularity": "month", "period": "2026-02-01"}).content.decode()
    latest = browser.get(url).content.decode()

    link = html.split('data-testid="annotate-period" href="')[1].split('"')[0]
    assert link.startswith(reverse("reports:annotations") + "?kpi=revenue&amp;granularity=month")
    assert "period=2026-02-01" in link
    assert "next=/kpis/kpi/revenue/%3Fgranularity%3Dmonth%26period%3D2026-02-01" in link
    # Without a chosen period: the newest stored one.
    assert "period=2026-03-01" in latest.split('data-testid="annotate-period"')[1].split(">")[0]
    assert 'id="trend-annotations"' in html
    assert 'data-annotations-list="trend-annotations"' in html


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def test_chart_and_table_read_annotations_in_a_fixed_number_of_queries(
    browser, manager, revenue_months, django_assert_max_num_queries
):
    page = reverse("kpis:kpi_detail", kwargs={"key": "revenue"})
    chart_url = reverse("kpis:kpi_chart", kwargs={"key": "revenue"})
    annotation_create(text="One", starts_on=MARCH, ends_on=MARCH, actor=manager)
    browser.get(page)  # warm the session and the role cache
    few = (_queries(lambda: browser.get(page)), _queries(lambda: browser.get(chart_url)))
    for day in range(1, 29):
        annotation_create(
            text=f"Note {day}",
            kind="campaign",
            starts_on=dt.date(2026, 2, day),
            ends_on=dt.date(2026, 2, day),
            actor=manager,
        )

    with django_assert_max_num_queries(20):
        page_response = browser.get(page)
    with django_assert_max_num_queries(10):
        chart_response = browser.get(chart_url)

    many = (_queries(lambda: browser.get(page)), _queries(lambda: browser.get(chart_url)))
    assert many == few
    assert len(json.loads(chart_response.content)["annotations"]) == 29
    assert "Campaign: Note 28" in page_response.content.decode()

"""The forecast page, its chart JSON, export and the take-now button: figures of the pipeline in
forecast_pipeline.py seen on April 15 2026, who may see whose forecast, query counts."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from sales.models import ForecastSnapshot
from sales.services import opportunity_create
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.forecast_pipeline import build_forecast_world, local

pytestmark = pytest.mark.django_db

PAGE = reverse("sales:forecast")
CHART = reverse("sales:forecast_chart")
TAKE = reverse("sales:forecast_take")


@pytest.fixture
def world():
    built = build_forecast_world()
    # April's open deals of Ada: 1,000 × 0.5 commit and 2,000 × 0.25 best case
    customer = CustomerFactory()
    for amount, stage, category in (
        ("1000", "propose", "commit"),
        ("2000", "qualify", "best_case"),
    ):
        opportunity_create(
            customer=customer,
            name=f"April {category}",
            amount=Decimal(amount),
            stage=stage,
            owner=built.ada,
            team=built.north,
            forecast_category=category,
            expected_close_date=dt.date(2026, 4, 20),
            created_at=local(2026, 4, 2),
        )
    with time_machine.travel(local(2026, 4, 15), tick=False):
        yield built


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


def by_start(response):
    return {period.period_start: period for period in response.context["periods"]}


def test_the_page_needs_login_and_a_sales_role(world):
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))
    assert as_user(UserFactory(role="Support agent")).get(PAGE).status_code == 403
    assert as_user(UserFactory()).get(PAGE).status_code == 403
    assert Client().get(CHART).status_code == 302


def test_a_rep_sees_their_own_forecast_against_what_they_won(world):
    response = as_user(world.ada).get(PAGE)
    periods = by_start(response)

    assert response.status_code == 200
    assert response.context["selection"].scope.key == f"owner:{world.ada.pk}"
    assert [choice.key for choice in response.context["selection"].choices] == [
        f"owner:{world.ada.pk}"
    ]
    january = periods[dt.date(2026, 1, 1)]
    # Ada's January: F 5,000 + 1,000 = 6,000, W 10,000 → 1 − 4,000/10,000 = 0.6, bias −0.4
    assert (january.weighted, january.won) == (Decimal("6000.00"), Decimal("10000.00"))
    assert (january.accuracy, january.bias) == (Decimal("0.6"), Decimal("-0.4"))
    february = periods[dt.date(2026, 2, 1)]
    # F 4,000, W 3,000 → 1 − 1,000/3,000, bias +1,000/3,000 (over-forecast)
    assert february.accuracy == Decimal("0.666667")
    assert february.bias == Decimal("0.333333")
    march = periods[dt.date(2026, 3, 1)]
    assert (march.weighted, march.won, march.accuracy) == (Decimal("1000.00"), Decimal("0"), None)
    april = periods[dt.date(2026, 4, 1)]
    assert (april.is_closed, april.snapshot, april.accuracy) == (False, None, None)
    assert len(periods) == 12  # May 2025 – April 2026
    html = response.content.decode()
    assert "60.0 %" in html
    assert "\u221240.0 %" in html  # the minus sign, as every KPI figure writes it
    assert 'data-testid="forecast-no-snapshot"' in html
    assert 'data-testid="forecast-take"' not in html  # a rep does not store snapshots


def test_a_win_in_a_forecast_period_without_a_row_of_its_own_counts_a_zero_forecast(world):
    # Nora (manager) had no January deal when the forecast was taken, then won 500 in January:
    # F = 0, W = 500 → accuracy 1 − 500/500 = 0, bias −1 (as forecast_accuracy counts it)
    deal = opportunity_create(
        customer=CustomerFactory(),
        name="Walk-in",
        amount=Decimal("500"),
        stage="won",
        owner=world.manager,
        team=world.north,
        created_at=local(2026, 1, 12),
    )
    assert deal.outcome == "won"

    response = as_user(world.manager).get(PAGE, {"scope": f"owner:{world.manager.pk}"})

    january = by_start(response)[dt.date(2026, 1, 1)]
    assert (january.snapshot, january.weighted, january.won) == (
        None,
        Decimal("0.00"),
        Decimal("500.00"),
    )
    assert (january.accuracy, january.bias) == (Decimal("0"), Decimal("-1"))
    may = by_start(response)[dt.date(2025, 5, 1)]
    assert (may.weighted, may.accuracy) == (None, None)  # no forecast taken at all
    assert "nothing forecast" in response.content.decode()


def test_the_current_period_by_category(world):
    response = as_user(world.ada).get(PAGE)
    categories = {row["category"]: row for row in response.context["categories"]}

    # commit 1,000 × 0.5 = 500; best case 2,000 × 0.25 = 500; nothing in pipeline
    assert (categories["commit"]["deal_count"], categories["commit"]["weighted"]) == (
        1,
        Decimal("500.00"),
    )
    assert (categories["best_case"]["amount"], categories["best_case"]["weighted"]) == (
        Decimal("2000.00"),
        Decimal("500.00"),
    )
    assert categories["pipeline"]["deal_count"] == 0
    assert response.context["category_total"]["weighted"] == Decimal("1000.00")


def test_an_undated_deal_is_left_out_with_the_reason_shown(world):
    response = as_user(world.bo).get(PAGE)

    assert response.context["left_out"] == {"undated": 1, "overdue": 0}  # D4
    assert "1 open deal has no expected close date and is not in the forecast." in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "scope", ["all", "team:{north}", "team:{south}", "owner:{bo}", "owner:999999", "nonsense"]
)
def test_a_rep_cannot_read_anyone_elses_forecast(world, scope):
    wanted = scope.format(north=world.north.pk, south=world.south.pk, bo=world.bo.pk)

    assert as_user(world.ada).get(PAGE, {"scope": wanted}).status_code == 404
    assert as_user(world.ada).get(CHART, {"scope": wanted}).status_code == 404


def test_a_manager_reads_their_team_and_its_people_but_not_another_team(world):
    client = as_user(world.manager)

    default = client.get(PAGE)
    ada = client.get(PAGE, {"scope": f"owner:{world.ada.pk}"})

    assert default.context["selection"].scope.key == f"team:{world.north.pk}"
    keys = [choice.key for choice in default.context["selection"].choices]
    assert keys[0] == f"team:{world.north.pk}"
    assert set(keys[1:]) == {f"owner:{world.ada.pk}", f"owner:{world.manager.pk}"}
    # North January: F 6,000, W 10,000 → 0.6
    assert by_start(default)[dt.date(2026, 1, 1)].accuracy == Decimal("0.6")
    assert ada.status_code == 200
    assert client.get(PAGE, {"scope": f"owner:{world.bo.pk}"}).status_code == 404
    assert client.get(PAGE, {"scope": f"team:{world.south.pk}"}).status_code == 404
    assert client.get(PAGE, {"scope": "all"}).status_code == 404


def test_an_admin_reads_the_organisation_per_quarter(world):
    client = as_user(UserFactory(role="Admin"))

    month = client.get(PAGE)
    quarter = client.get(PAGE, {"scope": "all", "granularity": "quarter"})

    # all January: F 9,000, W 16,000 → 1 − 7,000/16,000 = 0.5625
    assert by_start(month)[dt.date(2026, 1, 1)].accuracy == Decimal("0.5625")
    # Q1: F 13,000, W 27,000 → 13,000/27,000
    q1 = by_start(quarter)[dt.date(2026, 1, 1)]
    assert (q1.weighted, q1.won) == (Decimal("13000.00"), Decimal("27000.00"))
    assert q1.accuracy == Decimal("0.481481")
    assert client.get(PAGE, {"granularity": "week"}).status_code == 404


def test_the_export_holds_one_row_per_period(world):
    client = as_user(world.ada)

    csv = client.get(PAGE, {"format": "csv"})
    xlsx = client.get(PAGE, {"format": "xlsx"})

    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Period start,Period end (exclusive),Deals forecast,Weighted")
    assert len(lines) == 1 + 12
    january = next(line for line in lines if line.startswith("2026-01-01"))
    # Ada: 2 deals, weighted 6,000, best case 14,000, commit 10,000, won 10,000, 0.6, −0.4
    assert january.startswith(
        "2026-01-01,2026-02-01,2,6000.00,14000.00,10000.00,10000.00,0.600000,-0.400000,0,"
    )
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_chart_json_has_numbers_and_iso_dates(world):
    response = as_user(world.ada).get(CHART)
    payload = json.loads(response.content)

    assert payload["chartType"] == "bar"
    assert payload["unit"] == "money"
    assert payload["labels"][-4:] == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    forecast, commit, won = (dataset["data"] for dataset in payload["datasets"])
    assert [dataset["label"] for dataset in payload["datasets"]] == [
        "Forecast (weighted)",
        "Commit",
        "Won",
    ]
    # January: weighted 6,000, commit 10,000, won 10,000; April: no snapshot (null), won 0
    assert (forecast[-4], commit[-4], won[-4]) == (6000.0, 10000.0, 10000.0)
    assert (forecast[-1], commit[-1], won[-1]) == (None, None, 0.0)
    assert forecast[0] is None  # May 2025: nothing stored


def test_the_page_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    client = as_user(world.manager)
    with django_assert_max_num_queries(20) as first:
        client.get(PAGE)
    customer = CustomerFactory()
    for index in range(15):
        opportunity_create(
            customer=customer,
            name=f"More {index}",
            amount=Decimal("10"),
            owner=world.ada,
            team=world.north,
            expected_close_date=dt.date(2026, 4, 25),
            forecast_category="commit",
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(PAGE)


def test_a_manager_stores_the_missing_snapshot_once(world):
    client = as_user(world.manager)

    stored = client.post(TAKE, {"granularity": "month"}, follow=True)
    again = client.post(TAKE, {"granularity": "month"}, follow=True)

    april = ForecastSnapshot.objects.get(
        granularity="month", period_start=dt.date(2026, 4, 1), dimension="all"
    )
    # April at Apr 15: 1,000 × 0.5 + 2,000 × 0.25 = 1,000 weighted; taken by the manager
    assert (april.weighted_pipeline, april.taken_by) == (Decimal("1000.00"), world.manager)
    assert "The forecast of this period was stored." in stored.content.decode()
    assert "The forecast of this period had already been stored." in again.content.decode()
    assert by_start(again)[dt.date(2026, 4, 1)].snapshot is not None


def test_only_managers_store_snapshots_by_post_with_csrf(world):
    assert as_user(world.ada).post(TAKE, {"granularity": "month"}).status_code == 403
    assert as_user(world.manager).get(TAKE).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.manager)
    assert strict.post(TAKE, {"granularity": "month"}).status_code == 403
    bad = as_user(world.manager).post(TAKE, {"granularity": "week"}, follow=True)
    assert "A forecast is taken per month, quarter or year." in bad.content.decode()
    assert not ForecastSnapshot.objects.filter(period_start=dt.date(2026, 4, 1)).exists()


def test_the_sales_navigation_links_the_forecast(world):
    html = as_user(world.ada).get(reverse("sales:pipeline")).content.decode()

    assert f'href="{PAGE}"' in html

"""The manager KPI overview and the per-KPI Chart.js JSON endpoint."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import charts
from kpis.models import Granularity, KpiSnapshot
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("kpis:overview")


def chart_url(key: str, **params: str) -> str:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return reverse("kpis:kpi_chart", kwargs={"key": key}) + (f"?{query}" if query else "")


def month_starts(count: int) -> list[dt.date]:
    """The last `count` month starts, oldest first, ending with the current month."""
    first = charts.window_start(Granularity.MONTH, count)
    return [charts.shift_period(Granularity.MONTH, first, step) for step in range(count)]


def snapshot(key: str, start: dt.date, value: str | None, **fields: object) -> KpiSnapshot:
    defaults: dict[str, object] = {
        "numerator": None if value is None else Decimal(value),
        "denominator": None,
        "sample_size": 0,
    }
    defaults.update(fields)
    return KpiSnapshot.objects.create(
        kpi=key,
        granularity=Granularity.MONTH,
        period_start=start,
        period_end=charts.shift_period(Granularity.MONTH, start, 1),
        value=None if value is None else Decimal(value),
        **defaults,
    )


@pytest.fixture
def manager(client):
    user = UserFactory(role="Manager")
    client.force_login(user)
    return user


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [OVERVIEW, chart_url("revenue")])
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("Sales rep", 403), ("Support agent", 403), ("Manager", 200), ("Admin", 200), (None, 403)],
)
@pytest.mark.parametrize("url", [OVERVIEW, chart_url("revenue")])
def test_only_managers_and_admins_see_kpis(client, role, status, url):
    client.force_login(UserFactory(role=role))

    response = client.get(url)

    assert response.status_code == status


def test_a_superuser_without_a_role_is_an_admin(client):
    client.force_login(UserFactory(is_superuser=True))

    assert client.get(OVERVIEW).status_code == 200


# --- overview ------------------------------------------------------------------------------


def test_overview_shows_latest_value_change_and_the_figures_behind_it(client, manager):
    previous_month, latest_month = month_starts(2)
    snapshot("customers_new", previous_month, "8", numerator=Decimal("8"), sample_size=8)
    snapshot("customers_new", latest_month, "10", numerator=Decimal("10"), sample_size=10)
    snapshot(
        "csat_like_rate",
        latest_month,
        "0.750000",
        numerator=Decimal("3"),
        denominator=Decimal("4"),
        sample_size=4,
        low_sample=True,
    )

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    cards = {card["series"].key: card["series"] for card in response.context["cards"]}
    # Featured KPIs come first even without rows; every stored key gets a card.
    assert list(cards)[:3] == ["revenue", "customers_new", "nps"]
    assert "csat_like_rate" in cards
    # 10 new customers this month, 8 the month before → +2 (+25 %).
    assert cards["customers_new"].change == Decimal("2")
    assert cards["customers_new"].relative_change == Decimal("0.25")
    assert cards["revenue"].latest is None
    html = response.content.decode()
    card_html = html.split('id="kpi-csat_like_rate"')[1].split("</section>")[0]
    # 3 of 4 → 0.75, shown on the card next to its numerator, denominator and sample size.
    assert 'data-testid="kpi-value">0.75<' in card_html
    assert ">3<" in card_html
    assert ">4<" in card_html
    assert "low sample" in card_html
    assert html.count('class="kpi-chart"') == len(cards)
    assert chart_url("customers_new", granularity="month") in html


def test_overview_orders_stored_kpis_like_the_catalogue_and_names_them_from_the_registry(
    client, manager
):
    (month,) = month_starts(1)
    for key in ("first_response_time", "churn_rate", "zz_experimental", "leads_new"):
        snapshot(key, month, "1")

    response = client.get(OVERVIEW)

    keys = [card["series"].key for card in response.context["cards"]]
    # Featured first, then catalogue order, then keys the registry does not know.
    assert keys == [
        "revenue",
        "customers_new",
        "nps",
        "leads_new",
        "churn_rate",
        "first_response_time",
        "zz_experimental",
    ]
    html = response.content.decode()
    assert ">Churn rate</h2>" in html
    assert ">zz_experimental</h2>" in html
    # 1.000000 stored as a fraction → 100.0 % on the card.
    churn_card = html.split('id="kpi-churn_rate"')[1].split("</section>")[0]
    assert 'data-testid="kpi-value">100.0 %<' in churn_card


def test_a_lower_is_better_kpi_going_down_is_shown_as_good_news(client, manager):
    previous_month, latest_month = month_starts(2)
    snapshot("churn_rate", previous_month, "0.200000")
    snapshot("churn_rate", latest_month, "0.150000")

    html = client.get(OVERVIEW).content.decode()

    churn_card = html.split('id="kpi-churn_rate"')[1].split("</section>")[0]
    # 15 % − 20 % → −5 percentage points, green because lower churn is better.
    assert "text-bg-success" in churn_card
    assert "−5.0 pp" in churn_card


def test_overview_shows_na_for_a_null_value_never_zero(client, manager):
    (latest_month,) = month_starts(1)
    snapshot("nps", latest_month, None, sample_size=0)

    response = client.get(OVERVIEW)

    card_html = response.content.decode().split('id="kpi-nps"')[1].split("</section>")[0]
    assert 'data-testid="kpi-value">n/a<' in card_html
    # No previous value to compare with: no change badge rather than "n/a" twice.
    assert 'data-testid="kpi-change"' not in card_html


def test_overview_reads_snapshots_with_a_bounded_number_of_queries(
    client, manager, django_assert_max_num_queries
):
    keys = ["revenue", "customers_new", "nps", "churn_rate", "aov", "first_response_time"]
    KpiSnapshot.objects.bulk_create(
        KpiSnapshot(
            kpi=key,
            granularity=Granularity.MONTH,
            period_start=start,
            period_end=charts.shift_period(Granularity.MONTH, start, 1),
            value=Decimal(index),
            numerator=Decimal(index),
            sample_size=index,
        )
        for key in keys
        for index, start in enumerate(month_starts(24), start=1)
    )

    with django_assert_max_num_queries(20):
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    assert len(response.context["cards"]) == len(keys)


def test_overview_ignores_other_granularities_dimensions_and_old_periods(client, manager):
    (latest_month,) = month_starts(1)
    old = charts.shift_period(Granularity.MONTH, latest_month, -30)
    snapshot("orders", old, "99")
    KpiSnapshot.objects.create(
        kpi="orders",
        granularity=Granularity.MONTH,
        period_start=latest_month,
        period_end=charts.shift_period(Granularity.MONTH, latest_month, 1),
        dimension="team",
        dimension_value="7",
        value=Decimal("5"),
    )

    response = client.get(OVERVIEW)

    keys = [card["series"].key for card in response.context["cards"]]
    assert "orders" not in keys


# --- chart JSON ----------------------------------------------------------------------------


def test_money_chart_encodes_decimals_as_numbers_and_dates_as_iso_strings(client, manager):
    first, second, third = month_starts(3)
    snapshot("revenue", first, "1234.560000")
    snapshot("revenue", second, "0.100000")
    snapshot("revenue", third, "98765.430000")

    response = client.get(chart_url("revenue"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    payload = json.loads(response.content)
    assert payload["labels"] == [first.isoformat(), second.isoformat(), third.isoformat()]
    assert len(payload["datasets"]) == 1
    dataset = payload["datasets"][0]
    # Numbers, not strings: "1234.560000" would only plot by accident of Chart.js's parser.
    assert dataset["data"] == [1234.56, 0.1, 98765.43]
    assert payload["unit"] == "money"
    assert payload["name"] == "Revenue"  # from the definitions registry
    assert payload["chartType"] == "bar"
    assert payload["granularity"] == "month"
    assert dataset["spanGaps"] is False


def test_count_chart_has_a_gap_for_a_missing_month_and_a_null_value(client, manager):
    first, second, third, fourth = month_starts(4)
    snapshot("customers_new", first, "3", sample_size=3)
    snapshot("customers_new", second, None)
    # no row at all for `third`
    snapshot("customers_new", fourth, "5", sample_size=5)

    payload = json.loads(client.get(chart_url("customers_new")).content)

    assert payload["labels"] == [d.isoformat() for d in (first, second, third, fourth)]
    assert payload["datasets"][0]["data"] == [3, None, None, 5]
    assert payload["datasets"][0]["sampleSizes"] == [3, 0, None, 5]


def test_score_chart_keeps_negative_nps_and_flags_low_samples(client, manager):
    first, second = month_starts(2)
    snapshot("nps", first, "-12.500000", sample_size=12, low_sample=True)
    snapshot("nps", second, "40.000000", sample_size=45)

    payload = json.loads(client.get(chart_url("nps")).content)

    assert payload["datasets"][0]["data"] == [-12.5, 40.0]
    assert payload["datasets"][0]["lowSample"] == [True, False]
    assert payload["chartType"] == "line"


def test_rate_chart_shows_a_stored_fraction_as_a_percentage(client, manager):
    (month,) = month_starts(1)
    snapshot("churn_rate", month, "0.125000", numerator=Decimal(1), denominator=Decimal(8))

    payload = json.loads(client.get(chart_url("churn_rate")).content)

    # 1 of 8 customers churned → 0.125 stored → 12.5 % on the axis.
    assert payload["datasets"][0]["data"] == [12.5]
    assert payload["unit"] == "rate"
    assert payload["name"] == "Churn rate"


def test_dimension_chart_has_one_dataset_per_dimension_value(client, manager):
    first, second = month_starts(2)
    for start, north, south in ((first, "10", "20"), (second, "11", None)):
        for value, label, number in (("1", "North", north), ("2", "South", south)):
            KpiSnapshot.objects.create(
                kpi="orders",
                granularity=Granularity.MONTH,
                period_start=start,
                period_end=charts.shift_period(Granularity.MONTH, start, 1),
                dimension="team",
                dimension_value=value,
                dimension_label=label,
                value=None if number is None else Decimal(number),
            )

    payload = json.loads(client.get(chart_url("orders", dimension="team")).content)

    assert [d["label"] for d in payload["datasets"]] == ["North", "South"]
    assert [d["data"] for d in payload["datasets"]] == [[10, 11], [20, None]]


def test_chart_without_rows_is_empty_for_a_known_kpi_and_404_for_an_unknown_one(client, manager):
    payload = json.loads(client.get(chart_url("revenue")).content)

    assert payload["labels"] == []
    assert payload["datasets"] == []
    assert client.get(chart_url("no_such_kpi")).status_code == 404


@pytest.mark.parametrize(
    "params", [{"granularity": "fortnight"}, {"periods": "0"}, {"periods": "many"}]
)
def test_chart_refuses_bad_parameters(client, manager, params):
    response = client.get(chart_url("revenue", **params))

    assert response.status_code == 400


def test_chart_json_encoder_handles_decimal_date_and_none():
    text = charts.chart_json(
        {"labels": [dt.date(2026, 1, 1)], "data": [Decimal("1.500000"), None, Decimal("-3")]}
    )

    assert json.loads(text) == {"labels": ["2026-01-01"], "data": [1.5, None, -3.0]}


def test_card_figures_are_rounded_not_truncated(client, manager):
    previous_month, latest_month = month_starts(2)
    snapshot("customers_new", previous_month, "7")
    snapshot("customers_new", latest_month, "8")

    html = client.get(OVERVIEW).content.decode()

    card = html.split('id="kpi-customers_new"')[1].split("</section>")[0]
    # 7 → 8 is +1, i.e. 1 ÷ 7 = 14.2857 % → 14.3 %.
    assert "+1 (+14.3 %)" in card

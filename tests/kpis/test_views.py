"""The manager KPI overview and the per-KPI Chart.js JSON endpoint."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kpis import charts
from kpis.models import Granularity, KpiSnapshot
from kpis.periods import last_closed_period
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


def closed_month_starts(count: int) -> list[dt.date]:
    """The last `count` month starts, oldest first, ending with the last closed month: the
    period the overview and the KPI pages open on."""
    last_closed, _end = last_closed_period(Granularity.MONTH)
    first = charts.shift_period(Granularity.MONTH, last_closed, -(count - 1))
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
    [("Sales rep", 200), ("Support agent", 200), ("Manager", 200), ("Admin", 200), (None, 403)],
)
def test_every_role_reaches_the_overview_and_a_user_without_one_is_refused(client, role, status):
    client.force_login(UserFactory(role=role))

    response = client.get(OVERVIEW)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    # The organisation's revenue line: a rep or an agent may not see it.
    [("Sales rep", 404), ("Support agent", 404), ("Manager", 200), ("Admin", 200), (None, 403)],
)
def test_only_the_organisation_scope_charts_the_organisation(client, role, status):
    client.force_login(UserFactory(role=role))

    assert client.get(chart_url("revenue")).status_code == status


def test_a_superuser_without_a_role_is_an_admin(client):
    client.force_login(UserFactory(is_superuser=True))

    assert client.get(OVERVIEW).status_code == 200


# --- overview ------------------------------------------------------------------------------


def test_overview_shows_latest_value_change_and_the_figures_behind_it(client, manager):
    previous_month, latest_month = closed_month_starts(2)
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
    (month,) = closed_month_starts(1)
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
    previous_month, latest_month = closed_month_starts(2)
    snapshot("churn_rate", previous_month, "0.200000")
    snapshot("churn_rate", latest_month, "0.150000")

    html = client.get(OVERVIEW).content.decode()

    churn_card = html.split('id="kpi-churn_rate"')[1].split("</section>")[0]
    # 15 % − 20 % → −5 percentage points, green because lower churn is better.
    assert "text-bg-success" in churn_card
    assert "−5.0 pp" in churn_card


def test_overview_shows_na_for_a_null_value_never_zero(client, manager):
    (latest_month,) = closed_month_starts(1)
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
    previous_month, latest_month = closed_month_starts(2)
    snapshot("customers_new", previous_month, "7")
    snapshot("customers_new", latest_month, "8")

    html = client.get(OVERVIEW).content.decode()

    card = html.split('id="kpi-customers_new"')[1].split("</section>")[0]
    # 7 → 8 is +1, i.e. 1 ÷ 7 = 14.2857 % → 14.3 %.
    assert "+1 (+14.3 %)" in card


# --- the manager workspace pages (issue 7 item 4) ----------------------------------------

from kpis.definitions import registry  # noqa: E402
from kpis.engine import compute_period  # noqa: E402
from kpis.models import Alert, AlertRule, Target  # noqa: E402
from tests.customers.factories import CustomerFactory, TeamFactory  # noqa: E402
from tests.kpis.conftest import MARCH, NOW, buyer, customer, local  # noqa: E402


def page_url(name: str, **kwargs: str) -> str:
    return reverse(f"kpis:{name}", kwargs=kwargs or None)


@pytest.fixture
def admin(client):
    user = UserFactory(role="Admin")
    client.force_login(user)
    return user


@pytest.fixture
def history():
    """24 months × every catalogue KPI, for `all` and two teams: what the demo data stores."""
    teams = [TeamFactory(name="North"), TeamFactory(name="South")]
    rows = []
    for key in [definition.key for definition in registry.all()]:
        for index, start in enumerate(month_starts(24), start=1):
            cells = [("all", "", "")] + [("team", str(t.pk), t.name) for t in teams]
            for dimension, value, label in cells:
                rows.append(
                    KpiSnapshot(
                        kpi=key,
                        granularity=Granularity.MONTH,
                        period_start=start,
                        period_end=charts.shift_period(Granularity.MONTH, start, 1),
                        dimension=dimension,
                        dimension_value=value,
                        dimension_label=label,
                        value=Decimal(index),
                        numerator=Decimal(index),
                        denominator=Decimal(index + 1),
                        sample_size=index,
                        details={
                            "promoters": 5,
                            "passives": 3,
                            "detractors": 2,
                            "median": 12.5,
                            "p90": 40.0,
                            "weighted": "1000.00",
                        },
                    )
                )
    KpiSnapshot.objects.bulk_create(rows)
    return teams


WORKSPACE_PAGES = [
    ("overview", {}),
    ("kpi_detail", {"key": "churn_rate"}),
    ("kpi_drilldown", {"key": "churn_rate"}),
    ("cohorts", {}),
    ("nps", {}),
    ("support", {}),
    ("pipeline", {}),
    ("leaderboard", {}),
    ("index", {}),
    ("alerts", {}),
    # The targets page is a manager configuration page (tests/kpis/test_config_pages.py).
]


@pytest.mark.parametrize(("name", "kwargs"), WORKSPACE_PAGES)
def test_every_workspace_page_renders_with_a_bounded_number_of_queries(
    client, manager, history, name, kwargs, django_assert_max_num_queries
):
    url = page_url(name, **kwargs)

    with django_assert_max_num_queries(20):
        response = client.get(url)
    with django_assert_max_num_queries(20):
        filtered = client.get(url, {"team": str(history[0].pk)})

    assert response.status_code == 200
    assert filtered.status_code == 200


def test_a_user_without_a_role_gets_403_on_every_workspace_page(client):
    client.force_login(UserFactory(role=None))

    for name, kwargs in WORKSPACE_PAGES:
        assert client.get(page_url(name, **kwargs)).status_code == 403, name


@pytest.mark.parametrize(
    ("name", "kwargs", "status"),
    [
        ("nps_chart", {}, 200),
        ("support_chart", {}, 200),
        ("funnel_chart", {}, 200),
        # The composite index is the organisation's only.
        ("index_chart", {}, 404),
        ("waterfall_chart", {}, 404),
    ],
)
def test_a_rep_gets_their_own_analytics_charts_and_not_the_index(client, name, kwargs, status):
    client.force_login(UserFactory(role="Sales rep"))

    assert client.get(page_url(name, **kwargs)).status_code == status


def test_overview_groups_cards_by_stage_and_keeps_the_filter_in_every_link(
    client, manager, history
):
    north = history[0]

    response = client.get(OVERVIEW, {"team": str(north.pk), "granularity": "month"})

    html = response.content.decode()
    stages = [stage["key"] for stage in response.context["stages"]]
    # Lifecycle stages by the active weights' group priority (retention 1 … service 5).
    assert stages[:5] == ["retention", "maintenance", "enhancement", "acquisition", "service"]
    assert "pipeline" in stages
    # The team filter reads the team-dimension rows: each card's chart asks for that cell.
    assert f"dimension=team&amp;value={north.pk}" in html
    churn_link = reverse("kpis:kpi_detail", kwargs={"key": "churn_rate"})
    assert f"{churn_link}?granularity=month&amp;team={north.pk}" in html
    # The sub-navigation carries the query string to the other pages.
    assert f"{reverse('kpis:nps')}?granularity=month&amp;team={north.pk}" in html
    assert 'data-testid="active-filter"' in html
    assert "Showing: North" in html


def test_overview_card_shows_target_progress_and_alert_state(client, manager):
    previous_month, latest_month = closed_month_starts(2)
    snapshot("customers_new", previous_month, "8", numerator=Decimal("8"))
    snapshot("customers_new", latest_month, "10", numerator=Decimal("10"))
    Target.objects.create(
        kpi="customers_new",
        granularity=Granularity.MONTH,
        period_start=latest_month,
        kind=Target.Kind.ABSOLUTE,
        amount=Decimal("20"),
    )
    rule = AlertRule.objects.create(
        name="New customers low",
        kpi="customers_new",
        granularity=Granularity.MONTH,
        lower_threshold=Decimal("12"),
    )
    Alert.objects.create(
        rule=rule,
        granularity=Granularity.MONTH,
        period_start=latest_month,
        period_end=charts.shift_period(Granularity.MONTH, latest_month, 1),
        value=Decimal("10"),
    )

    html = client.get(OVERVIEW).content.decode()

    card = html.split('id="kpi-customers_new"')[1].split("</section>")[0]
    # 10 of a target of 20 → 50 % progress, not reached; the rule is firing.
    assert 'data-testid="kpi-target"' in card
    assert "+50.0 %" in card
    assert "not reached" in card
    assert "alert firing" in card


def test_kpi_page_shows_formula_period_table_and_drilldown_links(client, manager, history):
    north = history[0]
    url = page_url("kpi_detail", key="churn_rate")

    response = client.get(url, {"team": str(north.pk)})

    html = response.content.decode()
    definition = registry.get("churn_rate")
    assert str(definition.formula) in html
    table = response.context["tables"][0]
    assert table.slug == "periods"
    assert len(table.rows) == 24
    newest = table.rows[0]
    # Newest first: month 24 stored value 24 → "2,400.0 %", numerator 24, denominator 25.
    assert [c.csv for c in newest[2:5]] == ["24.000000", "25.000000", "24"]
    drill = newest[7].url
    assert drill.startswith(page_url("kpi_drilldown", key="churn_rate"))
    assert f"team={north.pk}" in drill
    assert "period=" in drill
    assert "dimension=team" in response.context["trend_url"]
    assert "targets=1" in response.context["trend_url"]
    assert response.context["breakdown_url"] is not None


def test_kpi_page_of_an_unknown_key_is_404(client, manager):
    assert client.get(page_url("kpi_detail", key="no_such_kpi")).status_code == 404


def test_kpi_page_table_exports_as_csv(client, manager, history):
    response = client.get(
        page_url("kpi_detail", key="revenue"), {"format": "csv", "table": "periods"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("Period start,Value,Numerator,Denominator,Sample size")
    assert len(lines) == 1 + 24
    newest = lines[1].split(",")
    assert newest[0] == month_starts(1)[0].isoformat()
    assert newest[1:5] == ["24.000000", "24.000000", "25.000000", "24"]


def test_trend_chart_has_the_target_line_and_chart_data_exports_as_csv(client, manager):
    first, second = month_starts(2)
    snapshot("customers_new", first, "8")
    snapshot("customers_new", second, "10")
    Target.objects.create(
        kpi="customers_new",
        granularity=Granularity.MONTH,
        period_start=second,
        kind=Target.Kind.ABSOLUTE,
        amount=Decimal("12.5"),
    )
    url = chart_url("customers_new", targets="1", dimension="all", value="")

    payload = json.loads(client.get(url).content)
    exported = client.get(url + "&format=csv").content.decode().splitlines()

    assert [d["label"] for d in payload["datasets"]] == ["New customers", "Target"]
    # The target exists for the second month only: null elsewhere, a Decimal as a number.
    assert payload["datasets"][1]["data"] == [None, 12.5]
    assert exported == [
        "Period,New customers,Target",
        f"{first.isoformat()},8.000000,",
        f"{second.isoformat()},10.000000,12.500000",
    ]


def test_breakdown_chart_has_one_bar_per_dimension_value(client, manager, history):
    (latest,) = month_starts(1)

    payload = json.loads(
        client.get(
            page_url("kpi_breakdown", key="revenue"),
            {"period": latest.isoformat(), "by": "team"},
        ).content
    )

    assert sorted(payload["labels"]) == ["North", "South"]
    assert payload["datasets"][0]["data"] == [24.0, 24.0]
    assert payload["chartType"] == "bar"


def test_breakdown_by_an_unsupported_dimension_is_404(client, manager):
    url = page_url("kpi_breakdown", key="nps")

    assert client.get(url, {"period": "2026-01-01", "by": "product_line"}).status_code == 404


# --- drill-down: the list matches the number --------------------------------------------------


@pytest.fixture
def churn_population():
    """As in test_retention: A(s) = {a, b, e, f, g}; churned in March 2026 = {b, e}."""
    team = TeamFactory(name="T1")
    people = {
        "a": buyer(local(2026, 1, 10), local(2026, 3, 10), team=team),
        "b": buyer(local(2025, 12, 15), team=team),
        "c": buyer(local(2025, 6, 1), local(2025, 10, 1), local(2026, 3, 20)),
        "d": buyer(local(2026, 3, 5)),
        "e": customer(local(2025, 1, 1), contract_end_date=dt.date(2026, 3, 15), team=team),
        "f": customer(local(2025, 1, 1), contract_end_date=dt.date(2026, 12, 31)),
        "g": buyer(local(2025, 12, 10), local(2026, 3, 20)),
    }
    compute_period(
        granularity="month",
        period_start=MARCH,
        kpi_keys=["churn_rate", "customers_new", "orders", "active_customers"],
        now=NOW,
    )
    return people | {"team": team}


@pytest.mark.parametrize(
    ("kpi", "part"),
    [
        ("churn_rate", "numerator"),
        ("churn_rate", "denominator"),
        ("customers_new", "numerator"),
        ("orders", "numerator"),
        ("active_customers", "numerator"),
    ],
)
def test_drilldown_lists_as_many_records_as_the_stored_number(
    client, admin, churn_population, kpi, part
):
    stored = KpiSnapshot.objects.get(
        kpi=kpi, granularity="month", period_start=MARCH, dimension="all"
    )

    response = client.get(
        page_url("kpi_drilldown", key=kpi), {"period": MARCH.isoformat(), "part": part}
    )

    expected = stored.numerator if part == "numerator" else stored.denominator
    assert response.status_code == 200
    assert response.context["total"] == int(expected)
    assert response.context["stored_count"] == expected
    html = response.content.decode()
    noun = "record" if expected == 1 else "records"
    assert f'data-testid="record-count">{int(expected)} {noun}<' in html


def test_churn_drilldown_names_the_churned_customers_with_links(client, admin, churn_population):
    response = client.get(
        page_url("kpi_drilldown", key="churn_rate"), {"period": MARCH.isoformat()}
    )

    rows = response.context["rows"]
    # churned = {b, e} → 2 / 5
    assert sorted(row.label for row in rows) == sorted(
        [churn_population["b"].name, churn_population["e"].name]
    )
    assert all(row.url and row.url.startswith("/customers/") for row in rows)


def test_drilldown_of_a_team_matches_that_teams_snapshot(client, admin, churn_population):
    team = churn_population["team"]
    stored = KpiSnapshot.objects.get(
        kpi="churn_rate", period_start=MARCH, dimension="team", dimension_value=str(team.pk)
    )

    response = client.get(
        page_url("kpi_drilldown", key="churn_rate"),
        {"period": MARCH.isoformat(), "team": str(team.pk), "part": "denominator"},
    )

    # T1: A(s) = {a, b, e} → denominator 3
    assert stored.denominator == 3
    assert response.context["total"] == 3


def test_a_manager_sees_only_visible_records_and_is_told_so(client, churn_population):
    team = churn_population["team"]
    TeamFactory(name="Elsewhere")  # the manager is in 1 of 2 teams, so scoped to it
    user = UserFactory(role="Manager")
    team.members.add(user)
    client.force_login(user)

    response = client.get(
        page_url("kpi_drilldown", key="churn_rate"),
        {"period": MARCH.isoformat(), "part": "denominator"},
    )

    # The manager's scope is team T1: its cell, A(s) = {a, b, e}, all three visible to them.
    assert response.context["filters"].cell == ("team", str(team.pk))
    assert response.context["total"] == 3
    assert response.context["stored_count"] == 3
    assert "based on 3 records visible to you" in response.content.decode()


def test_a_manager_without_a_team_sees_the_organisation_and_only_their_visible_records(
    client, churn_population
):
    client.force_login(UserFactory(role="Manager"))

    response = client.get(
        page_url("kpi_drilldown", key="churn_rate"),
        {"period": MARCH.isoformat(), "part": "denominator"},
    )

    # Organisation cell: 5 stored; none of the five customers is the manager's own → 0 listed.
    assert response.context["filters"].cell == ("all", "")
    assert response.context["stored_count"] == 5
    assert response.context["total"] == 0
    assert "based on 0 records visible to you" in response.content.decode()


def test_drilldown_is_paginated_with_bounded_queries(client, admin, django_assert_max_num_queries):
    team = TeamFactory(name="Big")
    for index in range(60):
        buyer(local(2026, 3, 1 + index % 28), team=team)
    compute_period(granularity="month", period_start=MARCH, kpi_keys=["orders"], now=NOW)

    with django_assert_max_num_queries(20):
        response = client.get(
            page_url("kpi_drilldown", key="orders"), {"period": MARCH.isoformat(), "page": "2"}
        )

    # 60 orders, 25 a page → page 2 of 3 holds 25 rows.
    assert response.context["total"] == 60
    assert len(response.context["rows"]) == 25
    assert response.context["records_page"].number == 2


def test_drilldown_exports_every_record_as_csv(client, admin, churn_population):
    response = client.get(
        page_url("kpi_drilldown", key="churn_rate"),
        {"period": MARCH.isoformat(), "format": "csv"},
    )

    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "Record,Type,Customer,Date,Link"
    assert len(lines) == 1 + 2  # b and e


# --- analytics pages --------------------------------------------------------------------------


def test_nps_distribution_chart_reads_the_snapshot_details(client, manager):
    (month,) = month_starts(1)
    snapshot(
        "nps",
        month,
        "20.000000",
        numerator=Decimal("2"),
        denominator=Decimal("10"),
        sample_size=10,
        details={"promoters": 5, "passives": 2, "detractors": 3, "margin_of_error": 55.4},
    )

    payload = json.loads(client.get(page_url("nps_chart")).content)
    page = client.get(page_url("nps"))

    # 5 promoters − 3 detractors of 10 → NPS 20.
    assert [d["label"] for d in payload["datasets"]] == ["Promoters", "Passives", "Detractors"]
    assert [d["data"] for d in payload["datasets"]] == [[5], [2], [3]]
    assert payload["stacked"] is True
    row = page.context["tables"][0].rows[0]
    assert [c.csv for c in row[:6]] == [month.isoformat(), "20.000000", "5", "2", "3", "10"]


def test_support_page_shows_medians_p90_and_a_per_agent_table(client, manager):
    (month,) = month_starts(1)
    agent = UserFactory(username="agent-ann", first_name="Ann", last_name="Agent")
    for dimension, value, label in (("all", "", ""), ("owner", str(agent.pk), "Ann Agent")):
        for key, number in (("first_response_time", "30"), ("resolution_time", "240")):
            snapshot(
                key,
                month,
                number,
                dimension=dimension,
                dimension_value=value,
                dimension_label=label,
                sample_size=4,
                details={"median": float(number), "p90": float(number) * 2},
            )
        snapshot(
            "csat",
            month,
            "0.750000",
            dimension=dimension,
            dimension_value=value,
            dimension_label=label,
        )
    snapshot("sla_first_response_attainment", month, "0.900000")

    response = client.get(page_url("support"))

    periods, agents, backlog = response.context["tables"]
    # Medians and p90s from the details: 30 and 60 minutes, 240 and 480 minutes; SLA 90 %.
    assert [c.text for c in periods.rows[0][1:6]] == [
        "30 min (business hours)",
        "1 h (business hours)",
        "4 h (business hours)",
        "8 h (business hours)",
        "90.0 %",
    ]
    assert agents.rows[0][0].text == "Ann Agent"
    assert agents.rows[0][6].text == "75.0 %"  # CSAT by owner where stored
    assert backlog.slug == "backlog"


def test_pipeline_funnel_counts_deals_per_stage_with_conversion(client, admin):
    from sales.services import opportunity_create, opportunity_move_stage
    from tests.sales.factories import PipelineStageFactory

    PipelineStageFactory(code="qualify", name="Qualify", position=1, probability=Decimal("0.2"))
    PipelineStageFactory(code="propose", name="Propose", position=2, probability=Decimal("0.6"))
    PipelineStageFactory(code="won", name="Won", position=3, probability=Decimal("1"), is_won=True)
    PipelineStageFactory(code="lost", name="Lost", position=4, probability=0, is_lost=True)
    buyer_ = CustomerFactory()
    deals = [
        opportunity_create(customer=buyer_, name=f"Deal {n}", amount=Decimal(100), stage="qualify")
        for n in range(4)
    ]
    opportunity_move_stage(opportunity=deals[0], to_stage="propose")
    opportunity_move_stage(opportunity=deals[0], to_stage="won")
    opportunity_move_stage(opportunity=deals[1], to_stage="propose")
    opportunity_move_stage(opportunity=deals[2], to_stage="lost")

    response = client.get(page_url("pipeline"))
    payload = json.loads(client.get(page_url("funnel_chart")).content)

    funnel = {row[0].csv: row for row in response.context["tables"][0].rows}
    # 4 reached qualify, 2 propose (2/4 = 50 %), 1 won (1/2 = 50 %), 1 lost.
    assert funnel["qualify"][2].csv == "4"
    assert funnel["qualify"][3].text == "50.0 %"
    assert funnel["propose"][2].csv == "2"
    assert funnel["propose"][3].text == "50.0 %"
    assert funnel["lost"][2].csv == "1"
    assert payload["datasets"][0]["data"][:4] == [4, 2, 1, 1]


def test_cohort_heat_map_blanks_immature_cells(client, manager):
    (this_month,) = month_starts(1)
    buyer(timezone_now_local())

    response = client.get(page_url("cohorts"), {"periods": "6"})

    table = response.context["tables"][0]
    newest = table.rows[-1]
    assert newest[0].text == this_month.strftime("%Y-%m")
    assert newest[1].csv == "1"
    # The current month is not over: its own cell (k = 0) is blank, not 0 %.
    assert newest[2].text == ""
    assert "heat-na" in newest[2].css


def timezone_now_local():
    from django.utils import timezone

    return timezone.localtime().replace(day=1, hour=12)


def test_every_analytics_table_exports_as_csv(client, manager, history):
    for name, table in (("nps", "nps"), ("support", "agents"), ("leaderboard", "leaderboard")):
        response = client.get(page_url(name), {"format": "csv", "table": table})

        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.decode().count("\n") >= 1


def test_leaderboard_ranks_teams_and_shows_their_targets(client, manager, history):
    north = history[0]
    (latest,) = month_starts(1)
    Target.objects.create(
        kpi="revenue",
        dimension="team",
        dimension_value=str(north.pk),
        granularity=Granularity.MONTH,
        period_start=latest,
        kind=Target.Kind.ABSOLUTE,
        amount=Decimal("48"),
    )

    table = client.get(page_url("leaderboard")).context["tables"][0]

    north_row = next(row for row in table.rows if row[0].text == "North")
    # Revenue 24 of a target of 48 → 50 %.
    assert "(50 %)" in north_row[1].text


# --- alerts and targets -------------------------------------------------------------------------


@pytest.fixture
def firing_alert():
    (month,) = month_starts(1)
    rule = AlertRule.objects.create(
        name="Churn high",
        kpi="churn_rate",
        granularity=Granularity.MONTH,
        upper_threshold=Decimal("0.1"),
    )
    return Alert.objects.create(
        rule=rule,
        granularity=Granularity.MONTH,
        period_start=month,
        period_end=charts.shift_period(Granularity.MONTH, month, 1),
        value=Decimal("0.2"),
    )


def test_alerts_inbox_links_to_the_kpi_page_at_the_breaching_period(client, manager, firing_alert):
    html = client.get(page_url("alerts")).content.decode()

    kpi_page = reverse("kpis:kpi_detail", kwargs={"key": "churn_rate"})
    assert (
        f"{kpi_page}?granularity=month&amp;period={firing_alert.period_start.isoformat()}" in html
    )
    assert "Acknowledge" in html


def test_acknowledge_then_resolve_an_alert(client, manager, firing_alert):
    url = page_url("alert_action", pk=str(firing_alert.pk), action="acknowledge")

    client.post(url)
    firing_alert.refresh_from_db()
    assert firing_alert.state == Alert.State.ACKNOWLEDGED
    assert firing_alert.acknowledged_by == manager

    client.post(page_url("alert_action", pk=str(firing_alert.pk), action="resolve"))
    firing_alert.refresh_from_db()
    assert firing_alert.state == Alert.State.RESOLVED


def test_alert_actions_need_post_csrf_and_a_manager(firing_alert):
    from django.test import Client

    url = page_url("alert_action", pk=str(firing_alert.pk), action="acknowledge")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(UserFactory(role="Manager"))
    rep = Client()
    rep.force_login(UserFactory(role="Sales rep"))

    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403  # no CSRF token
    assert rep.post(url).status_code == 403
    firing_alert.refresh_from_db()
    assert firing_alert.state == Alert.State.FIRING


def test_targets_list_resolves_relative_targets(client, manager):
    # The targets page (kpis.views.config) shows the resolved goal in a sentence and, for a
    # closed period, whether it was met and by how much.
    first, second, _current = month_starts(3)
    snapshot("churn_rate", first, "0.200000")
    snapshot("churn_rate", second, "0.180000")
    Target.objects.create(
        kpi="churn_rate",
        granularity=Granularity.MONTH,
        period_start=second,
        kind=Target.Kind.RELATIVE_CHANGE_PCT,
        amount=Decimal("-5"),
        baseline_period_start=first,
    )

    with translation.override("en"):
        response = client.get(page_url("targets"))

    (row,) = response.context["rows"]
    # "reduce churn 5 %" from 20 % → 20 % × 0.95 = 19 %; 18 % is 1 point better → met.
    assert "20.0 %" in row["sentence"]
    assert "→ 19.0 % (−5 % relative)" in row["sentence"]
    assert row["status"].state == "met"
    assert row["status"].text == "Met: 18.0 % against 19.0 %, 1.0 pp better."


def test_overview_cards_export_as_csv(client, manager):
    previous_month, latest_month = closed_month_starts(2)
    snapshot("customers_new", previous_month, "8", numerator=Decimal("8"), sample_size=8)
    snapshot("customers_new", latest_month, "10", numerator=Decimal("10"), sample_size=10)

    response = client.get(OVERVIEW, {"format": "csv", "table": "cards"})

    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("KPI,Stage,Period start,Value,Change vs previous period")
    row = next(line for line in lines if line.startswith("customers_new,"))
    # 10 this month, 8 before → change +2.
    assert row.split(",")[:8] == [
        "customers_new",
        "acquisition",
        latest_month.isoformat(),
        "10.000000",
        "2.000000",
        "10.000000",
        "",
        "10",
    ]


@pytest.fixture
def index_history():
    from kpis.models import IndexContribution, IndexSnapshot, WeightVersion

    previous_month, latest_month = closed_month_starts(2)
    # The default version the migrations activate; only the name is ours.
    version = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    version.name = "Spring weights"
    version.save(update_fields=["name"])
    snapshots = {}
    for month, value, churn, csat in (
        (previous_month, "60.00", "30.0000", "30.0000"),
        (latest_month, "70.00", "38.0000", "32.0000"),
    ):
        snapshots[month] = IndexSnapshot.objects.create(
            granularity=Granularity.MONTH,
            period_start=month,
            period_end=charts.shift_period(Granularity.MONTH, month, 1),
            version=version,
            value=Decimal(value),
            coverage=Decimal("1"),
            band="yellow",
            published=True,
        )
        for kpi, group, contribution in (
            ("churn_rate", "retention", churn),
            ("csat", "maintenance", csat),
        ):
            IndexContribution.objects.create(
                snapshot=snapshots[month],
                kpi=kpi,
                group=group,
                weight=Decimal("1"),
                normalised_score=Decimal(contribution) * 2,
                effective_share=Decimal("0.5"),
                contribution=Decimal(contribution),
            )
    return version, snapshots


def test_index_page_shows_the_version_in_force_and_a_waterfall(client, manager, index_history):
    version, _snapshots = index_history

    html = client.get(page_url("index")).content.decode()
    payload = json.loads(client.get(page_url("waterfall_chart")).content)
    line = json.loads(client.get(page_url("index_chart")).content)

    assert "Spring weights" in html
    # 60 → 70: churn +8 points (30 → 38), CSAT +2 (30 → 32); bars float from the running total.
    assert payload["labels"] == ["Previous", "Churn rate", "Customer satisfaction (CSAT)", "Latest"]
    assert payload["datasets"][0]["data"] == [[0, 60.0], [60.0, 68.0], [68.0, 70.0], [0, 70.0]]
    assert line["datasets"][0]["data"] == [60.0, 70.0]


def test_overview_shows_the_index_and_its_band(client, manager, index_history):
    html = client.get(OVERVIEW).content.decode()

    assert 'data-testid="index-value">70.0<' in html
    assert 'data-testid="index-band">yellow<' in html


def test_overview_period_filter_shows_that_period_as_the_latest(client, manager, history):
    north = history[0]
    months = month_starts(24)
    chosen = months[9]  # stored value 10 in every cell

    unfiltered = client.get(OVERVIEW, {"period": chosen.isoformat()})
    by_team = client.get(OVERVIEW, {"period": chosen.isoformat(), "team": str(north.pk)})

    for response in (unfiltered, by_team):
        cards = {card["series"].key: card["series"] for card in response.context["cards"]}
        assert cards["orders"].latest.period_start == chosen
        # 10 at the chosen month, 9 the month before → +1.
        assert cards["orders"].latest.value == Decimal(10)
        assert cards["orders"].change == Decimal(1)


def test_kpi_page_falls_back_to_all_for_a_dimension_the_kpi_does_not_store(
    client, manager, history
):
    response = client.get(page_url("kpi_detail", key="nps"), {"product_line": "42"})

    assert response.context["unsupported"] is True
    assert "dimension=all" in response.context["trend_url"]
    assert len(response.context["tables"][0].rows) == 24


def test_leaderboard_finds_the_latest_team_period_without_an_all_row(client, manager):
    team = TeamFactory(name="Solo")
    (month,) = month_starts(1)
    snapshot(
        "revenue",
        month,
        "500",
        dimension="team",
        dimension_value=str(team.pk),
        dimension_label="Solo",
    )

    table = client.get(page_url("leaderboard")).context["tables"][0]

    assert [row[0].text for row in table.rows] == ["Solo"]
    assert table.rows[0][1].csv == "500.000000"


@pytest.mark.parametrize("part", ["numerator", "denominator"])
@pytest.mark.parametrize("kpi", [definition.key for definition in registry.all()])
def test_every_kpi_drilldown_renders(client, admin, kpi, part):
    CustomerFactory()  # one row behind the record lists: the queries run, whatever they find
    response = client.get(
        page_url("kpi_drilldown", key=kpi), {"period": MARCH.isoformat(), "part": part}
    )

    assert response.status_code == 200


# --- what each user may see: the KPI scope ----------------------------------------------------


def cell_snapshot(key: str, start: dt.date, value: str, dimension: str, member, **fields):
    """A snapshot of one cell; `member` is "" (all), a team or a user."""
    return snapshot(
        key,
        start,
        value,
        dimension=dimension,
        dimension_value=str(getattr(member, "pk", member)),
        dimension_label=str(member),
        sample_size=fields.pop("sample_size", 3),
        **fields,
    )


@pytest.fixture
def two_teams():
    """Team North (manager Nora, rep Rita) and team South (rep Sam), with revenue and cac stored
    for the organisation, each team and each rep last month."""
    nora = UserFactory(username="nora", role="Manager")
    rita = UserFactory(username="rita", first_name="Rita", role="Sales rep")
    sam = UserFactory(username="sam", role="Sales rep")
    north = TeamFactory(name="North", manager=nora)
    south = TeamFactory(name="South")
    north.members.add(rita)
    south.members.add(sam)
    (month,) = closed_month_starts(1)
    cell_snapshot("revenue", month, "9000.00", "all", "", sample_size=40)
    cell_snapshot("revenue", month, "2500.00", "team", north, sample_size=12)
    cell_snapshot("revenue", month, "6500.00", "team", south, sample_size=28)
    cell_snapshot("revenue", month, "1234.00", "owner", rita, sample_size=7)
    cell_snapshot("revenue", month, "4321.00", "owner", sam, sample_size=20)
    # cac is stored for all, channel and team only: not for a rep.
    cell_snapshot("cac", month, "80.00", "all", "")
    cell_snapshot("cac", month, "70.00", "team", north)
    cell_snapshot("first_response_time", month, "30", "team", north)
    return {"nora": nora, "rita": rita, "sam": sam, "north": north, "south": south}


def revenue_card(response):
    return next(card for card in response.context["cards"] if card["series"].key == "revenue")


def test_a_rep_sees_their_own_revenue_and_not_the_organisations(client, two_teams):
    rita, sam, south = two_teams["rita"], two_teams["sam"], two_teams["south"]
    client.force_login(rita)

    own = client.get(OVERVIEW)
    asked_for_a_team = client.get(OVERVIEW, {"team": str(south.pk)})
    asked_for_another_rep = client.get(OVERVIEW, {"owner": str(sam.pk)})

    for response in (own, asked_for_a_team, asked_for_another_rep):
        assert response.status_code == 200
        assert response.context["filters"].cell == ("owner", str(rita.pk))
        assert revenue_card(response)["series"].latest.value == Decimal("1234.00")
    html = own.content.decode()
    card = html.split('id="kpi-revenue"')[1].split("</section>")[0]
    assert "1,234" in card
    assert "9,000" not in html
    assert "4,321" not in html
    assert "6,500" not in html
    assert "based on 7 records visible to you" in card
    # The filter bar offers the rep themselves only: no segment, team or other rep.
    assert set(own.context["form"].fields) == {"granularity", "period", "periods", "owner"}
    assert own.context["form"].fields["owner"].choices[1:] == [(str(rita.pk), "Rita")]


def test_a_rep_charts_their_own_cell_and_gets_404_for_anyone_elses(client, two_teams):
    rita, sam, north = two_teams["rita"], two_teams["sam"], two_teams["north"]
    client.force_login(rita)

    own = client.get(chart_url("revenue", dimension="owner", value=str(rita.pk)))
    other = client.get(chart_url("revenue", dimension="owner", value=str(sam.pk)))
    team = client.get(chart_url("revenue", dimension="team", value=str(north.pk)))
    every_rep = client.get(chart_url("revenue", dimension="owner"))

    assert own.status_code == 200
    assert json.loads(own.content)["datasets"][0]["data"] == [1234.0]
    assert (other.status_code, team.status_code, every_rep.status_code) == (404, 404, 404)


def test_a_kpi_not_stored_for_the_reps_cell_is_not_available_rather_than_the_organisations(
    client, two_teams
):
    client.force_login(two_teams["rita"])

    overview = client.get(OVERVIEW)
    page = client.get(page_url("kpi_detail", key="cac"))
    drilldown = client.get(page_url("kpi_drilldown", key="cac"))

    cac = next(card for card in overview.context["cards"] if card["series"].key == "cac")
    assert cac["unavailable"]
    assert cac["chart_url"] is None
    card = overview.content.decode().split('id="kpi-cac"')[1].split("</section>")[0]
    assert "Not available at your scope." in card
    assert "80" not in card
    assert page.status_code == 200
    assert page.context["scope_unavailable"] is True
    assert page.context["latest"] is None
    assert page.context["tables"][0].rows == []
    assert 'data-testid="scope-unavailable"' in page.content.decode()
    assert drilldown.context["period"] is None
    assert drilldown.context["stored"] is None


def test_a_team_manager_sees_their_teams_figure_and_not_another_teams(client, two_teams):
    nora, north, south = two_teams["nora"], two_teams["north"], two_teams["south"]
    client.force_login(nora)

    overview = client.get(OVERVIEW)
    asked_for_south = client.get(OVERVIEW, {"team": str(south.pk)})
    own_rep = client.get(OVERVIEW, {"owner": str(two_teams["rita"].pk)})
    south_chart = client.get(chart_url("revenue", dimension="team", value=str(south.pk)))
    north_chart = client.get(chart_url("revenue", dimension="team", value=str(north.pk)))

    assert revenue_card(overview)["series"].latest.value == Decimal("2500.00")
    assert revenue_card(asked_for_south)["series"].latest.value == Decimal("2500.00")
    # A rep of the manager's team is within the scope.
    assert revenue_card(own_rep)["series"].latest.value == Decimal("1234.00")
    assert south_chart.status_code == 404
    assert client.get(page_url("nps_chart"), {"team": str(south.pk)}).status_code == 404
    assert client.get(page_url("support_chart"), {"segment": "1"}).status_code == 404
    assert json.loads(north_chart.content)["datasets"][0]["data"] == [2500.0]
    assert "6,500" not in overview.content.decode()
    # The composite index is the organisation's: not shown on a team's overview.
    assert 'data-testid="index-unavailable"' in overview.content.decode()


def test_a_team_managers_breakdown_and_leaderboard_hold_their_team_only(client, two_teams):
    nora, north = two_teams["nora"], two_teams["north"]
    client.force_login(nora)
    (month,) = closed_month_starts(1)

    by_team = client.get(
        page_url("kpi_breakdown", key="revenue"), {"period": month.isoformat(), "by": "team"}
    )
    by_segment = client.get(
        page_url("kpi_breakdown", key="revenue"), {"period": month.isoformat(), "by": "segment"}
    )
    board = client.get(page_url("leaderboard")).context["tables"][0]

    assert json.loads(by_team.content)["labels"] == ["North"]
    assert by_segment.status_code == 404
    assert [row[0].csv for row in board.rows] == [str(north.pk)]


def test_a_support_agent_sees_their_teams_service_figures_only(client, two_teams):
    agent = UserFactory(role="Support agent")
    two_teams["north"].members.add(agent)
    client.force_login(agent)

    overview = client.get(OVERVIEW)

    keys = {card["series"].key for card in overview.context["cards"]}
    assert "first_response_time" in keys
    assert "revenue" not in keys
    frt = next(c for c in overview.context["cards"] if c["series"].key == "first_response_time")
    assert frt["series"].latest.value == Decimal("30")
    assert client.get(page_url("kpi_detail", key="revenue")).status_code == 404
    assert client.get(page_url("kpi_drilldown", key="revenue")).status_code == 404
    assert 'data-testid="scope-unavailable"' in client.get(page_url("nps")).content.decode()


def test_organisation_only_pages_say_not_available_to_a_scoped_user(client, two_teams):
    client.force_login(two_teams["rita"])

    for name in ("cohorts", "index"):
        response = client.get(page_url(name))
        assert response.status_code == 200
        assert response.context["scope_unavailable"] is True
        assert response.context["tables"] == ()


def test_alerts_and_targets_of_other_cells_are_not_shown_or_actionable(client, two_teams):
    nora, north, south = two_teams["nora"], two_teams["north"], two_teams["south"]
    (month,) = month_starts(1)
    alerts = {}
    for team in (north, south):
        rule = AlertRule.objects.create(
            name=f"Revenue low {team.name}",
            kpi="revenue",
            granularity=Granularity.MONTH,
            dimension="team",
            dimension_value=str(team.pk),
            lower_threshold=Decimal("10000"),
        )
        alerts[team.name] = Alert.objects.create(
            rule=rule,
            granularity=Granularity.MONTH,
            period_start=month,
            period_end=charts.shift_period(Granularity.MONTH, month, 1),
            value=Decimal("1"),
        )
        Target.objects.create(
            kpi="revenue",
            granularity=Granularity.MONTH,
            period_start=month,
            dimension="team",
            dimension_value=str(team.pk),
            kind=Target.Kind.ABSOLUTE,
            amount=Decimal("3000"),
        )
    client.force_login(nora)

    inbox = client.get(page_url("alerts"))
    targets = client.get(page_url("targets")).context["rows"]
    refused = client.post(
        page_url("alert_action", pk=str(alerts["South"].pk), action="acknowledge")
    )

    assert [item["alert"].pk for item in inbox.context["alerts"]] == [alerts["North"].pk]
    assert [row["scope"] for row in targets] == ["Team: North"]
    assert refused.status_code == 404


@pytest.mark.parametrize("who", ["rep", "agent", "team manager"])
@pytest.mark.parametrize(("name", "kwargs"), WORKSPACE_PAGES)
def test_scoped_users_get_every_workspace_page_with_a_bounded_number_of_queries(
    client, history, who, name, kwargs, django_assert_max_num_queries
):
    role = {"rep": "Sales rep", "agent": "Support agent", "team manager": "Manager"}[who]
    user = UserFactory(role=role)
    history[0].members.add(user)
    client.force_login(user)
    if who == "agent" and kwargs:
        kwargs = {"key": "first_response_time"}

    with django_assert_max_num_queries(20):
        response = client.get(page_url(name, **kwargs))
    with django_assert_max_num_queries(20):
        widened = client.get(page_url(name, **kwargs), {"team": str(history[1].pk)})

    assert response.status_code == 200
    assert widened.status_code == 200
    assert widened.context["filters"].cell == response.context["filters"].cell

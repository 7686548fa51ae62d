"""Segment movement: customers and revenue from each RFM segment at one period's end to each at
another's — the table, its cells' customers, the chart, the API and who may see what. The small
company of test_segment_history over the four quarters of 2025."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from kpis.engine import compute_range
from kpis.segments import segment_movement
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.kpis.conftest import local
from tests.kpis.test_segment_history import NOW, Q1, Q2, Q3, SEGMENT_KPIS, YEAR_END, build_company
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("kpis:segment_movement")
CUSTOMERS = reverse("kpis:segment_movement_customers")
CHART = reverse("kpis:segment_movement_chart")
API = reverse("v1:kpi-segment-movement")


def compute_year():
    compute_range(
        granularity="quarter", start=Q1, end=YEAR_END, kpi_keys=["revenue", *SEGMENT_KPIS], now=NOW
    )


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def year(post_compute_calls, team):
    build_company()
    Customer.objects.update(team=team)
    compute_year()
    return team


@pytest.fixture
def manager(client, team):
    user = UserFactory(role="Manager")
    team.manager = user
    team.save()
    client.force_login(user)
    return user


def table(source, target, customers=None):
    movement = segment_movement(
        customers if customers is not None else Customer.objects.all(),
        granularity="quarter",
        source=source,
        target=target,
    )
    return {(cell.source, cell.target): (cell.customers, cell.revenue) for cell in movement.cells}


def test_the_movement_from_q1_to_q2_written_out(year):
    # revenue: the customers' net revenue in the later quarter (Q2)
    assert table(Q1, Q2) == {
        # 3 high-frequency in Q1 → 2 still high-frequency (H1, H2: 6 × 10 each), 1 dormant (H3,
        # his one order of 1 May)
        ("high_frequency", "high_frequency"): (2, Decimal("120.00")),
        ("high_frequency", "dormant"): (1, Decimal("10.00")),
        # 2 first-time buyers → B1 churned (no order), B2 regular (1000 on 1 June)
        ("first_time_buyer", "churned"): (1, Decimal("0.00")),
        ("first_time_buyer", "regular"): (1, Decimal("1000.00")),
        # D, dormant at 1 April, came back on 20 May
        ("dormant", "regular"): (1, Decimal("50.00")),
        # S skipped Q2
        ("regular", "churned"): (1, Decimal("0.00")),
        ("churned", "churned"): (6, Decimal("0.00")),
    }


def test_the_skipper_comes_back_from_churned_to_regular(year):
    cells = table(Q2, Q3)
    # S ordered 100 on 10 August and on 1 September
    assert cells[("churned", "regular")] == (1, Decimal("200.00"))
    # churned at both ends: B1, S's former company C0–C5; H3 dormant → churned; B2, D lapsed
    assert cells[("churned", "churned")] == (7, Decimal("0.00"))
    assert cells[("dormant", "churned")] == (1, Decimal("0.00"))
    assert cells[("regular", "churned")] == (2, Decimal("0.00"))
    assert cells[("high_frequency", "high_frequency")] == (2, Decimal("120.00"))
    # 13 customers in all
    assert sum(customers for customers, _revenue in cells.values()) == 13


def test_a_customer_without_orders_at_the_earlier_end_comes_from_no_orders(year):
    late = CustomerFactory(name="Late", acquired_at=local(2025, 6, 10))
    OrderFactory(customer=late, ordered_at=local(2025, 6, 10), total=Decimal("70.00"))
    compute_year()

    assert table(Q1, Q2)[("", "first_time_buyer")] == (1, Decimal("70.00"))


def test_the_page_shows_the_table_and_each_cell_lists_its_customers(client, year, manager):
    response = client.get(
        PAGE, {"granularity": "quarter", "from": "2025-01-01", "to": "2025-04-01"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="movement-row-high_frequency"' in html
    rows = {row["segment"]: row for row in response.context["rows"]}
    columns = [segment for segment, _label in response.context["columns"]]
    cell = rows["high_frequency"]["cells"][columns.index("dormant")]
    assert (cell.customers, cell.revenue) == (1, Decimal("10.00"))

    listed = client.get(cell.url)

    assert listed.status_code == 200
    assert [customer.name for customer in listed.context["page"].object_list] == ["H3"]


def test_the_page_reads_a_constant_number_of_queries(client, year, manager, team):
    params = {"granularity": "quarter", "from": "2025-01-01", "to": "2025-04-01"}
    with CaptureQueriesContext(connection) as small:
        client.get(PAGE, params)
    for index in range(10):
        person = CustomerFactory(name=f"More {index}", team=team, acquired_at=local(2025, 2, 1))
        OrderFactory(customer=person, ordered_at=local(2025, 2, 1))
        OrderFactory(customer=person, ordered_at=local(2025, 5, 1))
    compute_year()

    with CaptureQueriesContext(connection) as large:
        response = client.get(PAGE, params)

    assert response.context["movement"].customers == 23
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(small.captured_queries) <= 12


def test_the_chart_stacks_each_segment_by_where_its_customers_went(client, year, manager):
    response = client.get(
        CHART, {"granularity": "quarter", "from": "2025-01-01", "to": "2025-04-01"}
    )

    payload = json.loads(response.content)
    assert payload["categorical"] is True
    assert payload["stacked"] is True
    dormant = next(d for d in payload["datasets"] if d["label"] == "Dormant")
    high = payload["labels"].index("High-frequency")
    # of the 3 high-frequency customers of Q1, 1 went dormant
    assert dormant["data"][high] == 1


def test_the_api_returns_the_cells(client, year, manager):
    response = client.get(API, {"granularity": "quarter", "from": "2025-04-01", "to": "2025-07-01"})

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["customers"]) == ("2025-04-01", "2025-07-01", 13)
    assert {
        "from_segment": "churned",
        "to_segment": "regular",
        "customers": 1,
        "revenue": "200.00",
    } in body["cells"]


# --- who may see what --------------------------------------------------------------------------


def test_a_rep_sees_only_their_own_customers_and_no_other_cell(client, year, team):
    rep = UserFactory(role="Sales rep")
    Customer.objects.filter(name__in=["H1", "H3"]).update(owner=rep)
    client.force_login(rep)
    params = {"granularity": "quarter", "from": "2025-01-01", "to": "2025-04-01"}

    response = client.get(PAGE, params)
    # the rep's two customers: H1 stayed high-frequency, H3 went dormant
    assert response.context["movement"].customers == 2
    # the team's figures are not the rep's to see: 404 from the chart, the cell list, the API
    assert client.get(CHART, {**params, "team": str(team.pk)}).status_code == 404
    assert (
        client.get(
            CUSTOMERS,
            {
                **params,
                "team": str(team.pk),
                "source_segment": "high_frequency",
                "target_segment": "dormant",
            },
        ).status_code
        == 404
    )
    assert client.get(API, {**params, "team": str(team.pk)}).status_code == 404
    # the page quietly shows the rep's own cell instead
    assert client.get(PAGE, {**params, "team": str(team.pk)}).context["movement"].customers == 2


def test_support_agents_and_users_without_a_role_get_no_movement(client, year):
    client.force_login(UserFactory(role="Support agent"))
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.context["scope_unavailable"] is True
    assert page.context["movement"] is None
    assert client.get(CHART).status_code == 404
    assert client.get(API).status_code == 404

    client.force_login(UserFactory(role=None))
    assert client.get(PAGE).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_cell_of_an_unknown_segment_is_not_found(client, year, manager):
    response = client.get(CUSTOMERS, {"source_segment": "vip", "target_segment": "churned"})
    assert response.status_code == 404


# --- one period parser: a bad period is one message (issue 15) ---------------------------------


def test_a_bad_period_on_the_page_shows_the_parsers_message_and_the_default_periods(
    client, year, manager
):
    response = client.get(PAGE, {"granularity": "quarter", "from": "2025-13-01"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="movement-period-error"' in html
    assert "Unknown period 2025-13-01" in html
    assert response.context["filters"].errors == (
        "Unknown period 2025-13-01: give the period start as YYYY-MM-DD.",
    )


def test_a_bad_period_or_granularity_is_a_400_with_the_same_message_on_chart_api_and_cell(
    client, year, manager
):
    chart = client.get(CHART, {"granularity": "quarter", "to": "soon"})
    api = client.get(API, {"granularity": "quarter", "to": "soon"})
    cell = client.get(
        CUSTOMERS,
        {"to": "soon", "source_segment": "churned", "target_segment": "regular"},
    )
    bad_granularity = client.get(CHART, {"granularity": "fortnight"})

    message = "Unknown period soon: give the period start as YYYY-MM-DD."
    assert (chart.status_code, chart.json()) == (400, {"error": message})
    assert (api.status_code, api.json()) == (400, {"period": [message]})
    assert (cell.status_code, cell.content.decode()) == (400, message)
    assert bad_granularity.status_code == 400
    assert "fortnight" in bad_granularity.json()["error"]

"""A record's History tab and /history/<kind>/<pk>/: who changed what, when, before → after, for
anyone who may see the record (404 otherwise); on SQLite the pages say there is no trail."""

from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from audit.selectors import record_history
from crm.roles import SALES_REP
from customers.models import Customer
from customers.services import customer_update
from tests.audit.conftest import requires_trail
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(client, team):
    user = UserFactory(role=SALES_REP, username="rita", first_name="Rita", last_name="Rep")
    team.members.add(user)
    client.force_login(user)
    return user


@requires_trail
def test_an_edit_shows_before_after_and_who_made_it(client, rep, team):
    customer = CustomerFactory(name="Acme", team=team, status=Customer.Status.PROSPECT)
    new_owner = UserFactory(first_name="Olga", last_name="Owner")

    customer_update(customer=customer, actor=rep, name="Acme GmbH", owner=new_owner)

    (latest, created) = record_history(customer, limit=10)
    assert latest.action == "update"
    assert latest.user == rep
    changes = {name: (before, after) for name, before, after in latest.changes}
    assert changes["Name"] == ("Acme", "Acme GmbH")
    # A linked record shows by name, not by its id.
    assert changes["Owner"] == ("—", "Olga Owner")
    assert created.action == "insert"

    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="history-entry"' in page
    assert "<del>Acme</del> → Acme GmbH" in page
    assert "Rita Rep" in page


@requires_trail
def test_the_history_page_pages_through_many_changes(client, rep, team):
    customer = CustomerFactory(name="v0", team=team)
    for number in range(1, 31):
        customer_update(customer=customer, actor=rep, name=f"v{number}")
    url = reverse("history:record", args=["customer", customer.pk])

    first = client.get(url)
    second = client.get(url, {"page": 2})

    # 30 updates and the creation: 31 events, 25 a page
    assert first.context["page_obj"].paginator.count == 31
    assert len(first.context["entries"]) == 25
    assert len(second.context["entries"]) == 6
    newest = {name: (before, after) for name, before, after in first.context["entries"][0].changes}
    assert newest["Name"] == ("v29", "v30")


@requires_trail
def test_the_history_page_runs_a_bounded_number_of_queries(
    client, rep, team, django_assert_max_num_queries
):
    customer = CustomerFactory(name="v0", team=team)
    for number in range(1, 21):
        customer_update(customer=customer, actor=rep, name=f"v{number}", owner=UserFactory())

    with django_assert_max_num_queries(15):
        response = client.get(reverse("history:record", args=["customer", customer.pk]))

    assert len(response.context["entries"]) == 21


@requires_trail
def test_an_order_has_a_history_page_behind_its_customers_visibility(client, rep, team):
    order = OrderFactory(customer=CustomerFactory(team=team))

    response = client.get(reverse("history:record", args=["order", order.pk]))

    assert response.status_code == 200
    assert response.context["entries"][0].action == "insert"


@pytest.mark.parametrize("kind", ["customer", "order"])
def test_another_teams_record_history_is_a_404(client, rep, kind):
    stranger = CustomerFactory(team=TeamFactory(name="South"))
    record: Any = stranger if kind == "customer" else OrderFactory(customer=stranger)

    response = client.get(reverse("history:record", args=[kind, record.pk]))

    assert response.status_code == 404


def test_an_unknown_kind_is_a_404(client, rep):
    assert client.get("/history/password/1/").status_code == 404


def test_without_a_session_history_is_refused(client):
    customer = CustomerFactory()

    response = client.get(reverse("history:record", args=["customer", customer.pk]))

    assert response.status_code == 302


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite keeps no trail")
def test_on_sqlite_the_pages_say_there_is_no_trail(client, rep, team):
    customer = CustomerFactory(team=team)

    tab = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    page = client.get(reverse("history:record", args=["customer", customer.pk])).content.decode()

    assert "SQLite, which keeps no history of changes" in tab
    assert "SQLite, which keeps no history of changes" in page


@requires_trail
def test_the_order_page_has_the_history_tab_and_the_history_page_links_back_to_it(
    client, rep, team
):
    order = OrderFactory(customer=CustomerFactory(team=team))

    page = client.get(reverse("sales:order_detail", args=[order.pk]))
    history = client.get(reverse("history:record", args=["order", order.pk]))

    assert 'data-testid="tab-history"' in page.content.decode()
    assert reverse("sales:order_detail", args=[order.pk]) in history.content.decode()

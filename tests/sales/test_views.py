"""The deals list: who may open it and which deals it shows."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sales.models import Opportunity
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("sales:index")


def names(response) -> list[str]:
    return [deal.name for deal in response.context["opportunities"]]


def test_the_deals_list_requires_login(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("Sales rep", 200), ("Manager", 200), ("Admin", 200), ("Support agent", 403), (None, 403)],
)
def test_only_sales_roles_open_the_deals_list(client, role, status):
    client.force_login(UserFactory(role=role))

    assert client.get(INDEX).status_code == status


def test_a_rep_sees_own_open_deals_soonest_close_first(client):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    customer = CustomerFactory(owner=rep)
    OpportunityFactory(
        name="Later", owner=rep, customer=customer, expected_close_date=dt.date(2026, 12, 20)
    )
    OpportunityFactory(name="Undated", owner=rep, customer=customer, expected_close_date=None)
    OpportunityFactory(
        name="Sooner", owner=rep, customer=customer, expected_close_date=dt.date(2026, 12, 1)
    )
    OpportunityFactory(
        name="Won",
        owner=rep,
        customer=customer,
        outcome=Opportunity.Outcome.WON,
        closed_at=timezone.now(),
    )
    OpportunityFactory(name="Not mine", owner=UserFactory(role="Sales rep"))

    assert names(client.get(INDEX)) == ["Sooner", "Later", "Undated"]
    assert set(names(client.get(INDEX, {"show": "all"}))) == {"Sooner", "Later", "Undated", "Won"}
    assert names(client.get(INDEX, {"q": "soon"})) == ["Sooner"]


def test_the_deals_list_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    for _ in range(20):
        OpportunityFactory(owner=rep, customer=CustomerFactory(owner=rep))

    with django_assert_max_num_queries(10):
        response = client.get(INDEX)

    assert len(response.context["opportunities"]) == 20

"""The customer merge page runs a fixed number of queries, whatever the number of look-alike
customers and of orders, contacts and activities that move (1 or 20 of each)."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import ActivityFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [1, 20])
def test_the_merge_page_and_the_merge_query_a_fixed_number_of_times(
    client, rows, django_assert_max_num_queries
):
    team = TeamFactory(name="North")
    rep = UserFactory(username="rita", role="Sales rep")
    team.members.add(rep)
    client.force_login(rep)
    target = CustomerFactory(name="Acme", team=team, owner=rep)
    source = CustomerFactory(name="Acme Inc", team=team, owner=rep)
    for index in range(rows):
        CustomerFactory(name=f"Acme {index}", team=team)
        ContactFactory(customer=source)
        OrderFactory(customer=source)
        ActivityFactory(customer=source)
    url = reverse("customers:merge", args=[target.pk])

    with django_assert_max_num_queries(7):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(url, {"other": source.pk}).status_code == 200
    with django_assert_max_num_queries(39):
        merged = client.post(url, {"other": source.pk, "keep_name": "source"})

    assert merged.status_code == 302
    assert Customer.objects.get(pk=target.pk).name == "Acme Inc"

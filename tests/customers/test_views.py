"""Customer list and page: visibility, search, sorting, pagination."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")


def detail(customer) -> str:
    return reverse("customers:detail", kwargs={"pk": customer.pk})


@pytest.fixture
def rep(client):
    user = UserFactory(role="Sales rep")
    client.force_login(user)
    return user


def names(response) -> list[str]:
    return [customer.name for customer in response.context["customers"]]


@pytest.mark.parametrize("url", [LIST, reverse("customers:detail", kwargs={"pk": 1})])
def test_customer_pages_require_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_rep_sees_own_and_team_customers_only(client, rep):
    team = TeamFactory.create()
    team.members.add(rep)
    CustomerFactory(name="Own", owner=rep)
    CustomerFactory(name="Team's", team=team)
    CustomerFactory(name="Someone else's", owner=UserFactory(role="Sales rep"))

    response = client.get(LIST)

    assert response.status_code == 200
    assert names(response) == ["Own", "Team's"]


def test_a_customer_the_user_may_not_see_is_a_404(client, rep):
    hidden = CustomerFactory(owner=UserFactory(role="Sales rep"))
    own = CustomerFactory(owner=rep)

    assert client.get(detail(hidden)).status_code == 404
    page = client.get(detail(own))
    assert page.status_code == 200
    assert own.name in page.content.decode()


def test_an_admin_sees_every_customer(client):
    client.force_login(UserFactory(role="Admin"))
    CustomerFactory.create_batch(3)

    assert client.get(LIST).context["page_obj"].paginator.count == 3


def test_search_matches_name_email_and_phone(client, rep):
    CustomerFactory(name="Acme Widgets", owner=rep)
    CustomerFactory(name="Globex", email="buyer@acme.test", owner=rep)
    CustomerFactory(name="Initech", phone="+49 30 1234", owner=rep)
    CustomerFactory(name="Hooli", owner=rep)

    assert names(client.get(LIST, {"q": "acme"})) == ["Acme Widgets", "Globex"]
    assert names(client.get(LIST, {"q": "1234"})) == ["Initech"]


def test_search_never_reaches_customers_outside_the_users_view(client, rep):
    CustomerFactory(name="Acme hidden", owner=UserFactory())

    assert names(client.get(LIST, {"q": "acme"})) == []


def test_sorting_by_a_whitelisted_column_both_ways_and_ignoring_others(client, rep):
    for name in ("Bravo", "Alpha", "Charlie"):
        CustomerFactory(name=name, owner=rep)

    assert names(client.get(LIST, {"sort": "name"})) == ["Alpha", "Bravo", "Charlie"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Charlie", "Bravo", "Alpha"]
    # An unknown sort key (here a private column) falls back to name order.
    assert names(client.get(LIST, {"sort": "owner__password"})) == ["Alpha", "Bravo", "Charlie"]


def test_pagination_shows_25_a_page_and_keeps_the_search(client, rep):
    for number in range(30):
        CustomerFactory(name=f"Acme {number:02d}", owner=rep)

    first = client.get(LIST, {"q": "acme"})
    second = client.get(LIST, {"q": "acme", "page": 2})

    # 30 matches at 25 a page → 25 + 5.
    assert len(first.context["customers"]) == 25
    assert len(second.context["customers"]) == 5
    assert "q=acme" in first.content.decode().split('aria-label="Pages"')[1]


def test_the_list_runs_a_bounded_number_of_queries(client, rep, django_assert_max_num_queries):
    team = TeamFactory.create()
    team.members.add(rep)
    for _ in range(25):
        CustomerFactory(owner=rep, team=team)

    with django_assert_max_num_queries(10):
        response = client.get(LIST)

    assert len(response.context["customers"]) == 25


def test_a_support_agent_reads_the_customers_of_their_team(client):
    agent = UserFactory(role="Support agent")
    team = TeamFactory.create()
    team.members.add(agent)
    client.force_login(agent)
    CustomerFactory(name="Team customer", team=team)
    CustomerFactory(name="Other customer")

    assert names(client.get(LIST)) == ["Team customer"]

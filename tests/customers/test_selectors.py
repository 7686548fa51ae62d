# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import pytest
from django.contrib.auth.models import AnonymousUser

from crm.roles import ADMIN, MANAGER, SALES_REP, SUPPORT_AGENT
from customers.selectors import customers_visible_to
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams():
    """Team A with a rep and a manager, team B with its own customer."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    rep = UserFactory(role=SALES_REP)
    team_a.members.add(rep)
    manager = UserFactory(role=MANAGER)
    team_a.manager = manager
    team_a.save()
    return team_a, team_b, rep, manager


def _names(user):
    return set(customers_visible_to(user).values_list("name", flat=True))


def test_rep_sees_own_and_team_customers_but_not_another_team(two_teams):
    team_a, team_b, rep, _manager = two_teams
    CustomerFactory(name="team A", team=team_a)
    CustomerFactory(name="team B", team=team_b)
    CustomerFactory(name="own, no team", owner=rep)
    CustomerFactory(name="nobody's")

    assert _names(rep) == {"team A", "own, no team"}


def test_manager_sees_the_team_they_manage(two_teams):
    team_a, team_b, _rep, manager = two_teams
    CustomerFactory(name="team A", team=team_a)
    CustomerFactory(name="team B", team=team_b)

    assert _names(manager) == {"team A"}


def test_admin_role_and_superuser_see_everything(two_teams):
    _team_a, team_b, _rep, _manager = two_teams
    CustomerFactory(name="team B", team=team_b)
    CustomerFactory(name="nobody's")
    admin = UserFactory(role=ADMIN)
    superuser = UserFactory(is_superuser=True)

    assert _names(admin) == _names(superuser) == {"team B", "nobody's"}


def test_support_agent_sees_team_customers_and_customers_of_their_tickets(two_teams):
    team_a, team_b, _rep, _manager = two_teams
    agent = UserFactory(role=SUPPORT_AGENT)
    team_a.members.add(agent)
    CustomerFactory(name="team A", team=team_a)
    TicketFactory(customer=CustomerFactory(name="B, ticket of team A", team=team_b), team=team_a)
    TicketFactory(customer=CustomerFactory(name="B, assigned", team=team_b), assignee=agent)
    TicketFactory(customer=CustomerFactory(name="B, other ticket", team=team_b), team=team_b)

    assert _names(agent) == {"team A", "B, ticket of team A", "B, assigned"}


def test_user_without_role_sees_only_what_they_own():
    user = UserFactory()
    team = TeamFactory()
    team.members.add(user)
    CustomerFactory(name="own", owner=user)
    CustomerFactory(name="team", team=team)

    assert _names(user) == {"own"}


def test_anonymous_sees_nothing():
    CustomerFactory()

    assert not customers_visible_to(AnonymousUser()).exists()


def test_a_customer_with_several_tickets_is_listed_once(two_teams):
    team_a, _team_b, _rep, _manager = two_teams
    agent = UserFactory(role=SUPPORT_AGENT)
    team_a.members.add(agent)
    customer = CustomerFactory(team=team_a)
    TicketFactory.create_batch(3, customer=customer, team=team_a)

    assert list(customers_visible_to(agent)) == [customer]


@pytest.mark.parametrize("role", [SALES_REP, MANAGER, SUPPORT_AGENT])
def test_selector_is_one_query_whatever_the_row_count(django_assert_num_queries, role):
    team = TeamFactory()
    user = UserFactory(role=role)
    team.members.add(user)
    CustomerFactory.create_batch(2, team=team)
    user = type(user).objects.get(pk=user.pk)  # fresh instance: no cached roles
    # one query for the user's roles, one for the customers
    with django_assert_num_queries(2):
        small = list(customers_visible_to(user))
    CustomerFactory.create_batch(20, team=team)
    with django_assert_num_queries(1):  # roles are cached on the user now
        large = list(customers_visible_to(user))
    assert (len(small), len(large)) == (2, 22)

# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import pytest
from django.contrib.auth.models import AnonymousUser

from crm.roles import ADMIN, MANAGER, SALES_REP, SUPPORT_AGENT
from sales.selectors import (
    activities_visible_to,
    leads_visible_to,
    opportunities_visible_to,
    orders_visible_to,
)
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import ActivityFactory, LeadFactory, OpportunityFactory, OrderFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Team A (rep, manager, agent) and team B, each with a customer, lead, deal, order, call."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    rep, agent = UserFactory(role=SALES_REP), UserFactory(role=SUPPORT_AGENT)
    manager = UserFactory(role=MANAGER)
    team_a.members.add(rep, agent)
    team_a.manager = manager
    team_a.save()
    rows = {}
    for label, team in (("A", team_a), ("B", team_b)):
        customer = CustomerFactory(name=label, team=team)
        rows[label] = {
            "customer": customer,
            "lead": LeadFactory(name=label, team=team),
            "opportunity": OpportunityFactory(name=label, team=team, customer=customer),
            "order": OrderFactory(customer=customer, external_id=label),
            "activity": ActivityFactory(subject=label, customer=customer, team=team),
        }
    return {"rep": rep, "manager": manager, "agent": agent, "team_a": team_a, "rows": rows}


def _labels(queryset, field):
    return set(queryset.values_list(field, flat=True))


def test_rep_sees_team_records_but_not_another_team(world):
    rep = world["rep"]

    assert _labels(leads_visible_to(rep), "name") == {"A"}
    assert _labels(opportunities_visible_to(rep), "name") == {"A"}
    assert _labels(orders_visible_to(rep), "external_id") == {"A"}
    assert _labels(activities_visible_to(rep), "subject") == {"A"}


def test_rep_sees_own_records_outside_their_teams(world):
    rep = world["rep"]
    LeadFactory(name="own", owner=rep)
    OpportunityFactory(name="own", owner=rep, customer=world["rows"]["B"]["customer"])
    OrderFactory(external_id="own", owner=rep, customer=world["rows"]["B"]["customer"])
    ActivityFactory(subject="own", owner=rep, customer=world["rows"]["B"]["customer"])

    assert _labels(leads_visible_to(rep), "name") == {"A", "own"}
    assert _labels(opportunities_visible_to(rep), "name") == {"A", "own"}
    assert _labels(orders_visible_to(rep), "external_id") == {"A", "own"}
    assert _labels(activities_visible_to(rep), "subject") == {"A", "own"}


def test_manager_sees_the_managed_team(world):
    manager = world["manager"]

    assert _labels(leads_visible_to(manager), "name") == {"A"}
    assert _labels(opportunities_visible_to(manager), "name") == {"A"}
    assert _labels(orders_visible_to(manager), "external_id") == {"A"}


def test_admin_sees_everything(world):
    admin = UserFactory(role=ADMIN)

    assert _labels(leads_visible_to(admin), "name") == {"A", "B"}
    assert _labels(opportunities_visible_to(admin), "name") == {"A", "B"}
    assert _labels(orders_visible_to(admin), "external_id") == {"A", "B"}
    assert _labels(activities_visible_to(admin), "subject") == {"A", "B"}


def test_orders_and_activities_follow_the_customer_a_support_agent_sees(world):
    agent = world["agent"]
    customer_b = world["rows"]["B"]["customer"]
    TicketFactory(customer=customer_b, assignee=agent)

    assert _labels(orders_visible_to(agent), "external_id") == {"A", "B"}
    assert _labels(activities_visible_to(agent), "subject") == {"A", "B"}
    # agents do not work the pipeline
    assert not leads_visible_to(agent).exists()
    assert not opportunities_visible_to(agent).exists()


def test_activity_on_a_visible_lead_is_visible(world):
    rep = world["rep"]
    ActivityFactory(subject="lead call", customer=None, lead=world["rows"]["A"]["lead"])
    ActivityFactory(subject="other lead", customer=None, lead=world["rows"]["B"]["lead"])

    assert _labels(activities_visible_to(rep), "subject") == {"A", "lead call"}


def test_anonymous_sees_nothing(world):
    anonymous = AnonymousUser()

    assert not leads_visible_to(anonymous).exists()
    assert not opportunities_visible_to(anonymous).exists()
    assert not orders_visible_to(anonymous).exists()
    assert not activities_visible_to(anonymous).exists()


@pytest.mark.parametrize(
    "selector",
    [leads_visible_to, opportunities_visible_to, orders_visible_to, activities_visible_to],
)
def test_each_selector_is_one_query_whatever_the_row_count(
    world, django_assert_num_queries, selector
):
    rep = world["rep"]
    customer = world["rows"]["A"]["customer"]
    selector(rep)  # caches the roles on the user
    with django_assert_num_queries(1):
        small = len(list(selector(rep)))
    for index in range(10):
        LeadFactory(team=world["team_a"])
        OpportunityFactory(team=world["team_a"], customer=customer)
        OrderFactory(customer=customer, external_id=f"more-{index}")
        ActivityFactory(customer=customer)

    with django_assert_num_queries(1):
        large = len(list(selector(rep)))

    assert large == small + 10

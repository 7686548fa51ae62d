# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment"
"""Automatic assignment among a team's available agents; canned responses with safe
placeholders."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from support.models import AgentAvailability, CannedResponse
from support.services import (
    agent_availability_set,
    canned_response_check,
    canned_response_render,
    ticket_auto_assign,
)
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)


@pytest.fixture
def team():
    team = TeamFactory(name="Helpdesk")
    for name in ("ann", "bob", "cid"):
        team.members.add(UserFactory(username=name))
    return team


def assign(team, strategy="round_robin", minutes=0):
    ticket = TicketFactory(team=team, created_at=AT)
    return ticket_auto_assign(
        ticket=ticket, strategy=strategy, at=AT + dt.timedelta(minutes=minutes)
    ).assignee.username


def test_round_robin_cycles_through_the_team(team):
    assert [assign(team, minutes=n) for n in range(5)] == ["ann", "bob", "cid", "ann", "bob"]


def test_unavailable_and_inactive_agents_are_skipped(team):
    agent_availability_set(user=team.members.get(username="bob"), is_available=False)
    cid = team.members.get(username="cid")
    cid.is_active = False
    cid.save()
    assert [assign(team, minutes=n) for n in range(3)] == ["ann", "ann", "ann"]


def test_least_open_picks_the_agent_with_fewest_open_tickets(team):
    ann, bob, cid = (team.members.get(username=n) for n in ("ann", "bob", "cid"))
    # ann has 2 open tickets, bob 1 open + 3 solved, cid 1 open
    for user, status in [(ann, "open"), (ann, "new"), (bob, "pending"), (cid, "open")] + [
        (bob, "solved")
    ] * 3:
        TicketFactory(assignee=user, status=status, created_at=AT)
    # bob and cid tie on 1 open ticket; neither auto-assigned before → lower id (bob)
    assert assign(team, strategy="least_open") == "bob"
    # now bob has 2 and cid 1 → cid
    assert assign(team, strategy="least_open", minutes=1) == "cid"
    assert AgentAvailability.objects.get(user=cid).last_assigned_at == AT + dt.timedelta(minutes=1)


def test_no_available_agent_is_a_clear_refusal(team):
    for user in team.members.all():
        agent_availability_set(user=user, is_available=False)
    ticket = TicketFactory(team=team, created_at=AT)
    with pytest.raises(ValidationError, match="No agent of team Helpdesk is available"):
        ticket_auto_assign(ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.assignee_id is None


def test_ticket_without_team_and_unknown_strategy_are_refused(team):
    with pytest.raises(ValidationError, match="no team"):
        ticket_auto_assign(ticket=TicketFactory(created_at=AT))
    with pytest.raises(ValidationError, match="Unknown assignment strategy"):
        ticket_auto_assign(ticket=TicketFactory(team=team, created_at=AT), strategy="random")


def test_assignment_can_route_to_another_team(team):
    other = TeamFactory(name="Billing")
    other.members.add(UserFactory(username="dee"))
    ticket = TicketFactory(team=team, created_at=AT)
    ticket = ticket_auto_assign(ticket=ticket, team=other)
    assert (ticket.team_id, ticket.assignee.username) == (other.pk, "dee")


# --- canned responses ----------------------------------------------------------------------


def test_placeholders_are_filled():
    customer = CustomerFactory(name="Acme GmbH")
    ticket = TicketFactory(customer=customer)
    agent = UserFactory(first_name="Grace", last_name="Hopper")
    canned = CannedResponse(
        name="Thanks", body="Hello {customer_name}, ticket {ticket_number} is with {agent_name}."
    )
    assert canned_response_render(canned=canned, ticket=ticket, agent=agent) == (
        f"Hello Acme GmbH, ticket #{ticket.pk} is with Grace Hopper."
    )


def test_contact_first_name_is_the_customer_name_when_known():
    contact = ContactFactory(first_name="Bob")
    ticket = TicketFactory(customer=contact.customer, contact=contact)
    canned = CannedResponse(name="Hi", body="Hi {customer_name}")
    assert canned_response_render(canned=canned, ticket=ticket) == "Hi Bob"


@pytest.mark.parametrize(
    "body",
    [
        "{customer_name.__class__.__mro__}",
        "{{ settings.SECRET_KEY }}",
        "{% load log %}{% get_admin_log 10 as x %}",
        "{0}",
        "{agent_name!r}",
    ],
)
def test_template_code_is_never_evaluated(body):
    ticket = TicketFactory()
    canned = CannedResponse(name="Evil", body=body)
    assert canned_response_render(canned=canned, ticket=ticket) == body


@pytest.mark.parametrize("body", ["Hi {customer}", "{customer_name.__class__}", " "])
def test_unknown_placeholders_are_refused_on_save(body):
    with pytest.raises(ValidationError):
        canned_response_check(body=body)


def test_known_placeholders_pass_the_check():
    canned_response_check(body="{customer_name} {ticket_number} {agent_name} and {} braces")

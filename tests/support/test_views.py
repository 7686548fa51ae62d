"""The ticket queue: who may open it and which tickets it shows."""

import pytest
from django.urls import reverse

from customers.models import Team
from support.models import Ticket
from tests.customers.factories import TeamFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("support:index")


def subjects(response) -> list[str]:
    return [ticket.subject for ticket in response.context["tickets"]]


def test_the_ticket_queue_requires_login(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("Support agent", 200), ("Manager", 200), ("Admin", 200), ("Sales rep", 403), (None, 403)],
)
def test_only_support_roles_open_the_ticket_queue(client, role, status):
    client.force_login(UserFactory(role=role))

    assert client.get(INDEX).status_code == status


def test_an_agent_sees_team_and_assigned_tickets_without_spam_or_merged(client):
    agent = UserFactory.create(role="Support agent")
    client.force_login(agent)
    team: Team = Team.objects.create(name="Helpdesk")
    team.members.add(agent)
    kept = TicketFactory(subject="Team ticket", team=team)
    TicketFactory(subject="Assigned", assignee=agent, status=Ticket.Status.OPEN)
    TicketFactory(subject="Spam", team=team, is_spam=True)
    TicketFactory(subject="Duplicate", team=team, merged_into=kept)
    TicketFactory(subject="Other team", team=TeamFactory())

    assert set(subjects(client.get(INDEX))) == {"Team ticket", "Assigned"}
    assert subjects(client.get(INDEX, {"status": "open"})) == ["Assigned"]
    assert subjects(client.get(INDEX, {"q": "team"})) == ["Team ticket"]

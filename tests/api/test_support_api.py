import pytest

from support.models import Ticket
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.support.factories import SLAPolicyFactory, TicketFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/"


def test_agent_opens_a_ticket_whose_body_is_the_first_message(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.agent)

    created = client.post(
        URL,
        {"customer": customer.pk, "subject": "Broken", "body": "It broke", "team": crew.team_a.pk},
    )
    messages = client.get(f"{URL}{created.json()['id']}/messages/")

    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "new"
    assert created.json()["allowed_transitions"] == sorted(Ticket.TRANSITIONS["new"])
    assert [row["body"] for row in messages.json()] == ["It broke"]


def test_agent_reply_opens_the_ticket_and_counts_as_first_response(crew, client_as):
    ticket = TicketFactory(team=crew.team_a)
    client = client_as(crew.agent)

    reply = client.post(f"{URL}{ticket.pk}/messages/", {"body": "On it", "author_kind": "agent"})

    assert reply.status_code == 201
    assert reply.json()["author_user"] == crew.agent.pk
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.first_response_at is not None


def test_transitions_follow_the_status_machine(crew, client_as):
    ticket = TicketFactory(team=crew.team_a, status="closed")
    client = client_as(crew.agent)

    refused = client.post(f"{URL}{ticket.pk}/transition/", {"to_status": "open"})
    unknown = client.post(f"{URL}{ticket.pk}/transition/", {"to_status": "archived"})

    assert refused.status_code == 400
    assert unknown.status_code == 400
    assert "to_status" in unknown.json()


def test_solve_then_history(crew, client_as):
    ticket = TicketFactory(team=crew.team_a)
    client = client_as(crew.agent)

    solved = client.post(f"{URL}{ticket.pk}/transition/", {"to_status": "solved"})
    history = client.get(f"{URL}{ticket.pk}/status-history/")

    assert solved.json()["status"] == "solved"
    assert solved.json()["first_solved_at"] is not None
    assert [(row["from_status"], row["to_status"]) for row in history.json()] == [("new", "solved")]


@pytest.mark.parametrize(
    ("role", "team", "expected"),
    [
        ("agent", "a", 200),
        ("agent", "b", 404),
        ("rep", "a", 200),  # reps read their team's tickets
        ("manager", "a", 200),
        ("rep_b", "a", 404),
        ("admin", "b", 200),
    ],
)
def test_ticket_visibility(crew, client_as, role, team, expected):
    ticket = TicketFactory(team=crew.team_a if team == "a" else crew.team_b)

    assert client_as(getattr(crew, role)).get(f"{URL}{ticket.pk}/").status_code == expected


def test_reps_cannot_change_tickets(crew, client_as):
    ticket = TicketFactory(team=crew.team_a)

    response = client_as(crew.rep).post(f"{URL}{ticket.pk}/transition/", {"to_status": "open"})

    assert response.status_code == 403


def test_patch_edits_descriptive_fields_only(crew, client_as):
    ticket = TicketFactory(team=crew.team_a)
    client = client_as(crew.agent)

    response = client.patch(f"{URL}{ticket.pk}/", {"priority": "urgent", "status": "closed"})

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == ("urgent", "new")


def test_assign_and_merge(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    duplicate = TicketFactory(customer=customer, team=crew.team_a)
    survivor = TicketFactory(customer=customer, team=crew.team_a)
    client = client_as(crew.agent)

    assigned = client.post(f"{URL}{survivor.pk}/assign/", {"assignee": crew.agent.pk})
    merged = client.post(f"{URL}{duplicate.pk}/merge/", {"into": survivor.pk})

    assert assigned.json()["assignee"] == crew.agent.pk
    assert merged.status_code == 200
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk


def test_contact_of_another_customer_is_refused(crew, client_as):
    ticket = TicketFactory(team=crew.team_a, customer=CustomerFactory(team=crew.team_a))
    stranger = ContactFactory(customer=CustomerFactory(team=crew.team_a))

    response = client_as(crew.agent).patch(f"{URL}{ticket.pk}/", {"contact": stranger.pk})

    assert response.status_code == 400
    assert "contact" in response.json()


def test_ticket_filters(crew, client_as):
    urgent = TicketFactory(team=crew.team_a, priority="urgent", subject="Server down")
    TicketFactory(team=crew.team_a, priority="low", subject="Typo")
    client = client_as(crew.agent)

    by_priority = client.get(URL, {"priority": "urgent"}).json()["results"]
    by_text = client.get(URL, {"q": "server"}).json()["results"]

    assert [row["id"] for row in by_priority] == [urgent.pk]
    assert [row["id"] for row in by_text] == [urgent.pk]


def test_ticket_upsert_for_helpdesk_sync(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.agent)
    url = f"{URL}by-external-id/zd-77/"

    created = client.put(
        url, {"customer": customer.pk, "subject": "From Zendesk", "team": crew.team_a.pk}
    )
    updated = client.put(url, {"customer": customer.pk, "subject": "Renamed"})

    assert (created.status_code, updated.status_code) == (201, 200)
    assert Ticket.objects.get(external_id="zd-77").subject == "Renamed"


def test_sla_policies_readable_by_agents_writable_by_admins(crew, client_as):
    policy = SLAPolicyFactory()

    assert client_as(crew.agent).get(f"/api/v1/sla-policies/{policy.pk}/").status_code == 200
    assert (
        client_as(crew.agent).patch(f"/api/v1/sla-policies/{policy.pk}/", {"name": "x"}).status_code
        == 403
    )
    bad = client_as(crew.admin).patch(
        f"/api/v1/sla-policies/{policy.pk}/", {"first_response_minutes": 0}
    )
    assert bad.status_code == 400
    assert "first_response_minutes" in bad.json()

"""Merging tickets with a per-field choice of the surviving value: on the page (side by side, a
radio per field) and through the API; a merge with itself or with a ticket of a team the agent
may not see is refused with nothing saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from support.models import Priority, Ticket, TicketMessage
from support.services import ticket_create, ticket_merge, ticket_status_change
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="Helpdesk")


@pytest.fixture
def agent(team):
    user = UserFactory(username="alex", first_name="Alex", last_name="Agent", role="Support agent")
    team.members.add(user)
    return user


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def customer(team):
    return CustomerFactory(name="Globex", team=team)


def merge_url(ticket):
    return reverse("support:ticket_merge", args=[ticket.pk])


def test_the_chosen_values_survive_and_the_others_stay(agent_client, agent, team, customer):
    caller = ContactFactory(customer=customer, first_name="Hank", last_name="Scorpio")
    survivor = ticket_create(
        customer=customer,
        subject="Cannot log in",
        body="Help",
        team=team,
        priority=Priority.NORMAL,
        category=Ticket.Category.QUESTION,
    )
    duplicate = ticket_create(
        customer=customer,
        subject="Login broken since the update",
        body="Still cannot log in",
        team=team,
        priority=Priority.URGENT,
        category=Ticket.Category.INCIDENT,
        contact=caller,
        assignee=agent,
    )

    compare = agent_client.get(merge_url(survivor), {"duplicate": duplicate.pk})
    rows = {row["name"]: row for row in compare.context["rows"]}
    assert (rows["priority"]["stays"], rows["priority"]["duplicate"]) == ("Normal", "Urgent")
    assert (rows["contact"]["duplicate"], rows["assignee"]["duplicate"]) == (
        "Hank Scorpio",
        "Alex Agent",
    )
    assert not any(row["take"] for row in rows.values())
    assert rows["team"]["differs"] is False

    response = agent_client.post(
        merge_url(survivor),
        {
            "duplicate": duplicate.pk,
            "keep_subject": "take",
            "keep_priority": "take",
            "keep_contact": "take",
            "keep_category": "keep",
        },
    )

    assert response.status_code == 302
    survivor.refresh_from_db()
    assert (survivor.subject, survivor.priority, survivor.contact_id, survivor.category) == (
        "Login broken since the update",
        Priority.URGENT,
        caller.pk,
        Ticket.Category.QUESTION,
    )
    # The assignee was not chosen: the survivor stays unassigned.
    assert survivor.assignee_id is None
    duplicate.refresh_from_db()
    assert (duplicate.merged_into_id, duplicate.status) == (survivor.pk, Ticket.Status.CLOSED)


def test_a_merge_with_itself_is_refused_with_a_message(agent_client, team, customer):
    ticket = ticket_create(customer=customer, subject="Alone", body="Hi", team=team)

    page = agent_client.get(merge_url(ticket), {"duplicate": ticket.pk})
    posted = agent_client.post(merge_url(ticket), {"duplicate": ticket.pk, "keep_subject": "take"})

    assert page.status_code == 200
    assert "cannot be merged into itself" in page.content.decode()
    assert posted.status_code == 400
    assert posted.context["form"].errors["duplicate"]
    ticket.refresh_from_db()
    assert ticket.merged_into_id is None


def test_a_ticket_of_a_team_the_agent_cannot_see_is_refused(agent_client, team, customer):
    mine = ticket_create(customer=customer, subject="Mine", body="Hi", team=team)
    foreign = ticket_create(
        customer=customer, subject="Secret subject", body="Hi", team=TeamFactory(name="Billing")
    )

    assert agent_client.get(merge_url(mine), {"duplicate": foreign.pk}).status_code == 404
    assert agent_client.get(merge_url(foreign), {"duplicate": mine.pk}).status_code == 404
    assert agent_client.post(merge_url(foreign), {"duplicate": mine.pk}).status_code == 404
    refused = agent_client.post(merge_url(mine), {"duplicate": foreign.pk, "keep_subject": "take"})

    assert refused.status_code == 400
    assert refused.context["form"].errors["duplicate"]
    assert "Secret subject" not in refused.content.decode()
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.subject, foreign.merged_into_id) == ("Mine", None)


def test_a_refused_merge_saves_none_of_the_chosen_values(team, customer):
    survivor = ticket_create(customer=customer, subject="Kept", body="Hi", team=team)
    closed = ticket_create(customer=customer, subject="Closed one", body="Hi", team=team)
    ticket_status_change(ticket=closed, to_status=Ticket.Status.CLOSED)
    duplicate = ticket_create(
        customer=customer, subject="Dup", body="Hi", team=team, priority=Priority.URGENT
    )

    with pytest.raises(ValidationError, match="closed ticket"):
        ticket_merge(duplicate=duplicate, into=closed, take_from_duplicate=["subject"])
    with pytest.raises(ValidationError) as unknown:
        ticket_merge(duplicate=duplicate, into=survivor, take_from_duplicate=["status"])

    assert "status" in unknown.value.message_dict
    closed.refresh_from_db()
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert (closed.subject, survivor.subject, duplicate.merged_into_id) == (
        "Closed one",
        "Kept",
        None,
    )
    assert not TicketMessage.objects.filter(author_kind=TicketMessage.AuthorKind.SYSTEM).exists()


def test_the_api_takes_the_chosen_fields(agent, team, customer):
    survivor = ticket_create(customer=customer, subject="Kept", body="Hi", team=team)
    duplicate = ticket_create(
        customer=customer, subject="Dup", body="Hi", team=team, priority=Priority.HIGH
    )
    client = APIClient()
    client.force_authenticate(user=agent)

    response = client.post(
        f"/api/v1/tickets/{duplicate.pk}/merge/",
        {"into": survivor.pk, "take_from_duplicate": ["priority"]},
        format="json",
    )
    refused = client.post(
        f"/api/v1/tickets/{duplicate.pk}/merge/",
        {"into": survivor.pk, "take_from_duplicate": ["customer"]},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["subject"], response.json()["priority"]) == ("Kept", Priority.HIGH)
    assert refused.status_code == 400


def test_an_inactive_assignee_chosen_in_a_merge_is_refused_and_nothing_is_taken(team, customer):
    inactive = UserFactory(username="gone", role="Support agent", is_active=False)
    survivor = ticket_create(customer=customer, subject="Kept", body="Hi", team=team)
    duplicate = ticket_create(customer=customer, subject="Dup", body="Hi", team=team)
    Ticket.objects.filter(pk=duplicate.pk).update(assignee=inactive)

    with pytest.raises(ValidationError, match="inactive"):
        ticket_merge(
            duplicate=duplicate, into=survivor, take_from_duplicate=["subject", "assignee"]
        )

    survivor.refresh_from_db()
    assert (survivor.subject, survivor.assignee_id) == ("Kept", None)


@pytest.mark.parametrize("rows", [1, 20])
def test_the_merge_page_and_the_merge_query_a_fixed_number_of_times(
    agent_client, team, customer, rows, django_assert_max_num_queries
):
    ticket = ticket_create(customer=customer, subject="Main", body="Hi", team=team)
    duplicate = ticket_create(customer=customer, subject="Dup", body="Hi", team=team)
    for index in range(rows):
        ticket_create(customer=customer, subject=f"Other {index}", body="Hi", team=team)

    with django_assert_max_num_queries(8):
        assert agent_client.get(merge_url(ticket)).status_code == 200
    with django_assert_max_num_queries(9):
        assert agent_client.get(merge_url(ticket), {"duplicate": duplicate.pk}).status_code == 200
    with django_assert_max_num_queries(22):
        merged = agent_client.post(
            merge_url(ticket), {"duplicate": duplicate.pk, "keep_subject": "take"}
        )

    assert merged.status_code == 302
    ticket.refresh_from_db()
    assert ticket.subject == "Dup"


def test_the_api_refuses_a_merge_with_another_teams_ticket(agent, team, customer):
    mine = ticket_create(customer=customer, subject="Mine", body="Hi", team=team)
    foreign = ticket_create(
        customer=customer, subject="Theirs", body="Hi", team=TeamFactory(name="Billing")
    )
    client = APIClient()
    client.force_authenticate(user=agent)

    as_duplicate = client.post(
        f"/api/v1/tickets/{foreign.pk}/merge/", {"into": mine.pk}, format="json"
    )
    as_survivor = client.post(
        f"/api/v1/tickets/{mine.pk}/merge/",
        {"into": foreign.pk, "take_from_duplicate": ["subject"]},
        format="json",
    )

    assert (as_duplicate.status_code, as_survivor.status_code) == (404, 400)
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.merged_into_id, foreign.subject) == (None, "Theirs")


def test_taking_a_team_that_hides_the_ticket_lands_on_the_queue(
    agent_client, agent, team, customer
):
    billing = TeamFactory(name="Billing")
    kept = ticket_create(customer=customer, subject="Kept", body="Hi", team=team)
    # Visible to the agent as its assignee, though it is the billing team's.
    duplicate = ticket_create(
        customer=customer, subject="Dup", body="Hi", team=billing, assignee=agent
    )

    response = agent_client.post(merge_url(kept), {"duplicate": duplicate.pk, "keep_team": "take"})

    # Billing's and assigned to no one, the kept ticket is out of the agent's sight.
    assert response.status_code == 302
    assert response.url == reverse("support:index")
    kept.refresh_from_db()
    assert (kept.team_id, kept.assignee_id) == (billing.pk, None)

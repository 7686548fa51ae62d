"""Ticket record pages: an agent opens a ticket for a call, edits category, priority and team,
merges a duplicate after comparing both, and replies with a canned response whose placeholders
are filled — with visibility (404), refusals saving nothing, stale edits and bounded queries."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.concurrency import edit_version
from support.models import CannedResponse, Priority, Ticket, TicketMessage
from support.services import ticket_create
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory

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


def new_ticket_url(customer):
    return reverse("support:ticket_create") + f"?customer={customer.pk}"


def ticket_data(**changes):
    data = {
        "subject": "Printer on fire",
        "channel": Ticket.Channel.PHONE,
        "category": Ticket.Category.INCIDENT,
        "priority": Priority.HIGH,
        "assign_to_me": "on",
        "body": "Caller says the printer is smoking.",
    }
    data.update(changes)
    return data


def test_the_customer_search_finds_only_visible_customers(agent_client, customer):
    CustomerFactory(name="Globex Hidden", team=TeamFactory(name="Elsewhere"))

    page = agent_client.get(reverse("support:ticket_create"), {"find": "globex"})

    assert page.context["matches"] == [customer]


def test_an_agent_opens_a_phone_ticket_for_a_customer(agent_client, agent, team, customer):
    contact = ContactFactory(customer=customer, is_primary=True)
    page = agent_client.get(new_ticket_url(customer))
    assert page.context["form"].initial["contact"] == contact
    assert page.context["form"].initial["team"] == team

    response = agent_client.post(
        new_ticket_url(customer), ticket_data(contact=contact.pk, team=team.pk)
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("support:ticket_detail", args=[ticket.pk])
    assert (ticket.channel, ticket.category, ticket.priority) == ("phone", "incident", "high")
    assert (ticket.contact_id, ticket.team_id, ticket.assignee_id) == (
        contact.pk,
        team.pk,
        agent.pk,
    )
    assert ticket.opened_by_agent
    first = ticket.messages.get()
    assert (first.author_kind, first.author_user_id, first.body) == (
        TicketMessage.AuthorKind.AGENT,
        agent.pk,
        "Caller says the printer is smoking.",
    )
    # The agent's own account of the call is not a first response.
    assert ticket.first_response_at is None


def test_a_ticket_with_another_customers_contact_or_no_subject_saves_nothing(
    agent_client, customer
):
    stranger = ContactFactory(customer=CustomerFactory(team=customer.team))

    wrong_contact = agent_client.post(new_ticket_url(customer), ticket_data(contact=stranger.pk))
    no_subject = agent_client.post(new_ticket_url(customer), ticket_data(subject=" "))

    assert wrong_contact.status_code == 400
    assert wrong_contact.context["form"].errors["contact"]
    assert no_subject.status_code == 400
    assert no_subject.context["form"].errors["subject"]
    assert not Ticket.objects.exists()


def test_a_ticket_for_a_customer_out_of_sight_is_a_404(agent_client):
    hidden = CustomerFactory(team=TeamFactory(name="Elsewhere"))

    assert agent_client.get(new_ticket_url(hidden)).status_code == 404
    assert agent_client.post(new_ticket_url(hidden), ticket_data()).status_code == 404
    assert not Ticket.objects.exists()


def test_sales_reps_do_not_open_tickets(client, customer):
    rep = UserFactory(role="Sales rep")
    customer.team.members.add(rep)
    client.force_login(rep)

    assert client.get(new_ticket_url(customer)).status_code == 403


def test_an_agent_edits_category_priority_and_team(agent_client, agent, team, customer):
    ticket = TicketFactory(customer=customer, team=team, assignee=agent)
    second = TeamFactory(name="Second line")

    response = agent_client.post(
        reverse("support:ticket_edit", args=[ticket.pk]),
        {
            "subject": ticket.subject,
            "category": Ticket.Category.COMPLAINT,
            "priority": Priority.URGENT,
            "team": second.pk,
            "edit_version": edit_version(ticket),
        },
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.category, ticket.priority, ticket.team_id) == ("complaint", "urgent", second.pk)


def test_a_stale_ticket_edit_is_refused_and_keeps_the_input(agent_client, agent, team, customer):
    ticket = TicketFactory(customer=customer, team=team)
    opened = edit_version(ticket)
    # A colleague's reply after the form was opened changes the ticket.
    agent_client.post(
        reverse("support:ticket_message", args=[ticket.pk]), {"body": "On it", "kind": "reply"}
    )

    response = agent_client.post(
        reverse("support:ticket_edit", args=[ticket.pk]),
        {
            "subject": "My new subject",
            "category": Ticket.Category.PROBLEM,
            "priority": Priority.LOW,
            "edit_version": opened,
        },
    )

    assert response.status_code == 400
    assert "since you opened it" in response.context["form"].non_field_errors()[0]
    assert 'value="My new subject"' in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority) != ("My new subject", Priority.LOW)


def test_another_teams_ticket_is_a_404(agent_client):
    foreign = TicketFactory(team=TeamFactory(name="Elsewhere"))

    for name in ("ticket_edit", "ticket_merge"):
        assert agent_client.get(reverse(f"support:{name}", args=[foreign.pk])).status_code == 404
        assert agent_client.post(reverse(f"support:{name}", args=[foreign.pk])).status_code == 404


def test_an_agent_merges_a_duplicate_after_comparing_both(agent_client, agent, team, customer):
    original = ticket_create(customer=customer, subject="Cannot log in", body="Help", team=team)
    duplicate = ticket_create(
        customer=customer, subject="Login broken", body="Still cannot log in", team=team
    )
    TicketFactory(subject="Other customer", team=team)

    choose = agent_client.get(reverse("support:ticket_merge", args=[original.pk]))
    assert choose.context["candidates"] == [duplicate]
    compare = agent_client.get(
        reverse("support:ticket_merge", args=[original.pk]), {"duplicate": duplicate.pk}
    )
    assert "Still cannot log in" in compare.content.decode()

    response = agent_client.post(
        reverse("support:ticket_merge", args=[original.pk]), {"duplicate": duplicate.pk}
    )

    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.merged_into_id, duplicate.status) == (original.pk, Ticket.Status.CLOSED)
    assert original.messages.filter(author_kind=TicketMessage.AuthorKind.SYSTEM).count() == 1


def test_a_merge_with_itself_or_another_customers_ticket_is_refused(agent_client, team, customer):
    ticket = TicketFactory(customer=customer, team=team)
    other_customer = TicketFactory(team=team)

    for duplicate in (ticket, other_customer):
        response = agent_client.post(
            reverse("support:ticket_merge", args=[ticket.pk]), {"duplicate": duplicate.pk}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["duplicate"]
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_a_canned_response_is_offered_with_its_placeholders_filled_and_sent(
    agent_client, agent, team, customer
):
    ticket = TicketFactory(customer=customer, team=team)
    canned = CannedResponse.objects.create(
        name="Thanks",
        body="Hello {customer_name}, about {ticket_number}: on it. {agent_name}",
    )
    CannedResponse.objects.create(name="Other team's", body="x", team=TeamFactory(name="Other"))

    page = agent_client.get(reverse("support:ticket_detail", args=[ticket.pk]))

    offered = page.context["canned"]
    assert [item["pk"] for item in offered] == [canned.pk]
    filled = f"Hello Globex, about #{ticket.pk}: on it. Alex Agent"
    assert offered[0]["body"] == filled
    # The page's script puts the filled text into the reply box; the reply is that text.
    agent_client.post(
        reverse("support:ticket_message", args=[ticket.pk]), {"body": filled, "kind": "reply"}
    )
    assert ticket.messages.get().body == filled


def test_ticket_forms_need_csrf(agent, team, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.post(new_ticket_url(customer), ticket_data()).status_code == 403


def test_ticket_record_pages_run_a_bounded_number_of_queries(
    agent_client, team, customer, django_assert_max_num_queries
):
    ticket = ticket_create(customer=customer, subject="Main", body="Hi", team=team)
    for index in range(15):
        ticket_create(customer=customer, subject=f"Dup {index}", body="Hi", team=team)
        CustomerFactory(name=f"Globex {index}", team=team)
        ContactFactory(customer=customer)
    duplicate = Ticket.objects.exclude(pk=ticket.pk).earliest("id")

    pages = [
        reverse("support:ticket_create") + "?find=globex",
        new_ticket_url(customer),
        reverse("support:ticket_edit", args=[ticket.pk]),
        reverse("support:ticket_merge", args=[ticket.pk]),
        reverse("support:ticket_merge", args=[ticket.pk]) + f"?duplicate={duplicate.pk}",
    ]
    for url in pages:
        with django_assert_max_num_queries(14):
            assert agent_client.get(url).status_code == 200

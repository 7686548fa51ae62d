"""Two agents editing one ticket: the second save is refused saying when it changed, the form
keeps the input, and — now carrying the saved version — a second, informed save goes
through."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.concurrency import edit_version
from support.models import Priority, Ticket
from support.services import ticket_create, ticket_update
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_stale_ticket_edit_is_refused_and_a_second_save_goes_through(client):
    team = TeamFactory(name="Helpdesk")
    agent = UserFactory(username="alex", role="Support agent")
    colleague = UserFactory(
        username="tom", first_name="Tom", last_name="Teammate", role="Support agent"
    )
    team.members.add(agent, colleague)
    client.force_login(agent)
    ticket = ticket_create(customer=CustomerFactory(team=team), subject="Printer", team=team)
    url = reverse("support:ticket_edit", args=[ticket.pk])
    opened = {
        "subject": "Printer on fire",
        "category": Ticket.Category.INCIDENT,
        "priority": Priority.URGENT,
        "team": team.pk,
        "edit_version": edit_version(ticket),
    }
    ticket_update(ticket=ticket, actor=colleague, priority=Priority.LOW)

    refused = client.post(url, opened)

    assert refused.status_code == 400
    errors = " ".join(refused.context["form"].non_field_errors())
    assert "since you opened it" in errors
    # The time is the minute of the colleague's save (the ticket's edit stamp).
    assert timezone.localtime().strftime("%H:") in errors
    if connection.vendor == "postgresql":
        # The audit trail names the colleague whose save made the form stale.
        assert "Changed by Tom Teammate at " in errors
    assert refused.context["form"]["subject"].value() == "Printer on fire"
    ticket.refresh_from_db()
    assert ticket.priority == Priority.LOW

    again = client.post(url, refused.context["form"].data)

    assert again.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority) == ("Printer on fire", Priority.URGENT)

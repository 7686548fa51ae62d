"""Tickets and ticket messages go through the support services (status machine, SLA clocks)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from support.models import Ticket, TicketMessage
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def test_tickets_and_messages(write_csv, import_data):
    CustomerFactory(external_id="C-1")
    UserFactory(username="agent1")
    tickets = write_csv(
        "tickets.csv",
        [
            [
                "external_id",
                "customer",
                "subject",
                "body",
                "priority",
                "status",
                "created_at",
                "status_changed_at",
            ],
            ["T-1", "C-1", "Login broken", "Help", "high", "", "2024-03-01T09:00", ""],
            ["T-2", "C-1", "Invoice", "?", "", "closed", "2024-03-01T09:00", "2024-03-02T09:00"],
            ["T-3", "C-1", "Bad", "", "extreme", "", "", ""],
        ],
    )
    result = import_data("tickets", tickets, "--skip-invalid")
    assert "line 4, column priority: unknown value “extreme”" in result.err
    assert import_data("tickets", tickets, "--skip-invalid").ok

    ticket = Ticket.objects.get(external_id="T-1")
    assert (ticket.priority, ticket.status, ticket.created_at) == (
        "high",
        "new",
        dt.datetime(2024, 3, 1, 9, tzinfo=BERLIN),
    )
    assert ticket.messages.count() == 1  # the body, not duplicated by the re-import
    assert Ticket.objects.get(external_id="T-2").closed_at == dt.datetime(
        2024, 3, 2, 9, tzinfo=BERLIN
    )

    messages = write_csv(
        "messages.csv",
        [
            ["external_id", "ticket", "author_kind", "author", "body", "created_at"],
            ["M-1", "T-1", "agent", "agent1", "On it", "2024-03-01T10:00"],
            ["M-2", "T-2", "agent", "agent1", "Too late", "2024-03-03T10:00"],
            ["M-3", "T-9", "robot", "", "", ""],
        ],
    )
    result = import_data("ticket_messages", messages, "--skip-invalid")
    again = import_data("ticket_messages", messages, "--skip-invalid")

    assert "line 3, column ticket: The ticket is closed." in result.err
    assert "line 4, column ticket: unknown ticket “T-9”" in result.err
    assert "line 4, column author_kind: unknown value “robot”" in result.err
    assert "0 new, 1 updated" in again.out
    ticket.refresh_from_db()
    # the agent's public reply is the first response and opens the ticket (ticket_message_add)
    assert ticket.status == "open"
    assert ticket.first_response_at == dt.datetime(2024, 3, 1, 10, tzinfo=BERLIN)
    assert TicketMessage.objects.filter(external_id="M-1").count() == 1


def test_status_machine_is_enforced(write_csv, import_data):
    CustomerFactory(external_id="C-1")
    header = ["external_id", "customer", "subject", "status", "created_at"]
    first = write_csv("t.csv", [header, ["T-1", "C-1", "S", "closed", "2024-03-01"]])
    assert import_data("tickets", first).ok

    reopen = write_csv("t2.csv", [header, ["T-1", "C-1", "S", "open", "2024-03-01"]])
    result = import_data("tickets", reopen)

    assert "line 2, column status: The ticket is closed and cannot change status." in result.err
    assert Ticket.objects.get().status == "closed"

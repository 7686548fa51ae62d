# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""Issue 5 round trip: an inbound e-mail opens a ticket, the agent's reply goes out with
threading headers, and the customer's answer to it lands on the same ticket."""

import pytest
from django.core import mail
from django.test import TestCase

from support.inbound import inbound_email_process
from support.models import TicketMessage
from support.outbound import ticket_reply_email_send
from support.services import ticket_reply_send, ticket_status_change
from tests.customers.factories import CustomerFactory, UserFactory
from tests.support.mail import raw_email

pytestmark = pytest.mark.django_db


def test_email_round_trip(settings):
    settings.SUPPORT_FROM_EMAIL = "Pulse Support <support@pulse.example>"
    customer = CustomerFactory(email="ada@example.com")
    agent = UserFactory(first_name="Grace", last_name="Agent")

    # given Ada's e-mail opens a ticket
    opened = inbound_email_process(
        raw=raw_email(subject="Printer on fire", message_id="<q1@mail.example.com>")
    )
    ticket = opened.ticket
    assert ticket.customer_id == customer.pk

    # when the agent replies (the e-mail goes out after commit through Celery)
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = ticket_reply_send(ticket=ticket, body="Unplug it, please.", author_user=agent)
    ticket_status_change(ticket=ticket, to_status="pending")

    # then one message to Ada, threaded under her e-mail
    assert len(mail.outbox) == 1
    sent = mail.outbox[0].message()
    reply.refresh_from_db()
    assert sent["To"] == "ada@example.com"
    assert sent["Message-ID"] == reply.email_message_id
    assert reply.email_message_id.endswith("@pulse.example>")
    assert sent["In-Reply-To"] == "<q1@mail.example.com>"
    assert sent["References"] == "<q1@mail.example.com>"
    assert sent["Subject"] == f"Re: Printer on fire [#{ticket.pk}]"
    assert "Unplug it, please." in mail.outbox[0].body

    # when Ada answers that e-mail
    answered = inbound_email_process(
        raw=raw_email(
            subject=f"Re: Printer on fire [#{ticket.pk}]",
            body="Done, thanks!",
            in_reply_to=reply.email_message_id,
            references=f"<q1@mail.example.com> {reply.email_message_id}",
        )
    )

    # then it lands on the same ticket, which leaves pending
    assert (answered.action, answered.ticket.pk) == ("replied", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert list(ticket.messages.values_list("author_kind", "body")) == [
        ("customer", "It is on fire."),
        ("agent", "Unplug it, please."),
        ("customer", "Done, thanks!"),
    ]


def test_reply_email_is_sent_once(settings):
    customer = CustomerFactory(email="ada@example.com")
    ticket = inbound_email_process(raw=raw_email(sender=customer.email)).ticket
    reply = ticket_reply_send(ticket=ticket, body="Hi", author_user=UserFactory(), email=False)
    assert ticket_reply_email_send(message_id=reply.pk) is True
    assert ticket_reply_email_send(message_id=reply.pk) is False
    assert len(mail.outbox) == 1


def test_rolled_back_reply_sends_nothing():
    from django.db import transaction

    customer = CustomerFactory(email="ada@example.com")
    ticket = inbound_email_process(raw=raw_email(sender=customer.email)).ticket
    with TestCase.captureOnCommitCallbacks(execute=True):
        try:
            with transaction.atomic():
                ticket_reply_send(ticket=ticket, body="Oops", author_user=UserFactory())
                raise RuntimeError("view failed after the reply")
        except RuntimeError:
            pass
    assert mail.outbox == []
    assert "Oops" not in {message.body for message in TicketMessage.objects.all()}


def test_internal_notes_and_customers_without_address_are_not_mailed():
    customer = CustomerFactory(email="")
    from tests.support.factories import TicketFactory, TicketMessageFactory

    ticket = TicketFactory(customer=customer)
    note = TicketMessageFactory(ticket=ticket, author_kind="agent", is_public=False, body="note")
    reply = TicketMessageFactory(ticket=ticket, author_kind="agent", body="hello")
    assert ticket_reply_email_send(message_id=note.pk) is False
    assert ticket_reply_email_send(message_id=reply.pk) is False
    assert mail.outbox == []


def test_reply_goes_to_the_ticket_contact(settings):
    from tests.customers.factories import ContactFactory

    customer = CustomerFactory(email="office@example.com")
    ContactFactory(customer=customer, email="bob@example.com")
    ticket = inbound_email_process(raw=raw_email(sender="bob@example.com")).ticket
    with TestCase.captureOnCommitCallbacks(execute=True):
        ticket_reply_send(ticket=ticket, body="Hi Bob", author_user=UserFactory())
    assert mail.outbox[0].to == ["bob@example.com"]

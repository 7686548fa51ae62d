# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""E-mail in: tickets and replies from raw messages, auto-replies and bounces ignored,
bad mail refused with nothing written."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from customers.models import Customer
from support.inbound import InboundEmailRefused, inbound_email_process
from support.models import Ticket, TicketMessage
from support.services import ticket_status_change
from surveys.models import SurveyInvitation
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.support.mail import raw_email
from tests.surveys.factories import SurveyInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return CustomerFactory(name="Ada Ltd", email="ada@example.com")


def test_new_message_from_a_customer_opens_an_email_ticket(ada):
    # when Ada writes to support
    result = inbound_email_process(raw=raw_email(message_id="<first@mail.example.com>"))
    # then a ticket of hers with her message, keyed by its Message-ID
    assert result.action == "created"
    ticket = result.ticket
    assert (ticket.customer_id, ticket.subject, ticket.channel) == (
        ada.pk,
        "Printer on fire",
        "email",
    )
    message = ticket.messages.get()
    assert message.author_kind == "customer"
    assert message.body == "It is on fire."
    assert message.email_message_id == "<first@mail.example.com>"


def test_sender_matched_to_a_contact_by_email_case_insensitively(ada):
    contact = ContactFactory(customer=ada, email="Bob@Example.com")
    result = inbound_email_process(raw=raw_email(sender="BOB@example.COM"))
    assert result.ticket.customer_id == ada.pk
    assert result.ticket.contact_id == contact.pk


def test_unknown_sender_becomes_a_person_customer():
    result = inbound_email_process(raw=raw_email(sender="Grace Hopper <grace@navy.example>"))
    customer = result.ticket.customer
    assert (customer.name, customer.email, customer.kind) == (
        "Grace Hopper",
        "grace@navy.example",
        Customer.Kind.PERSON,
    )


def test_reply_threads_by_in_reply_to(ada):
    ticket = TicketFactory(customer=ada)
    TicketMessageFactory(ticket=ticket, email_message_id="<agent-1@pulse.example>")
    result = inbound_email_process(
        raw=raw_email(subject="Re: something else", in_reply_to="<agent-1@pulse.example>")
    )
    assert result.action == "replied"
    assert result.ticket.pk == ticket.pk
    assert ticket.messages.count() == 2


def test_reply_threads_by_references_when_in_reply_to_is_unknown(ada):
    ticket = TicketFactory(customer=ada)
    TicketMessageFactory(ticket=ticket, email_message_id="<agent-1@pulse.example>")
    result = inbound_email_process(
        raw=raw_email(
            in_reply_to="<lost@elsewhere>", references="<agent-1@pulse.example> <lost@elsewhere>"
        )
    )
    assert result.ticket.pk == ticket.pk


def test_reply_threads_by_subject_token_from_the_customer(ada):
    ticket = TicketFactory(customer=ada)
    result = inbound_email_process(raw=raw_email(subject=f"Re: help [#{ticket.pk}]"))
    assert (result.action, result.ticket.pk) == ("replied", ticket.pk)


def test_subject_token_from_a_stranger_does_not_reach_the_ticket(ada):
    # given Ada's ticket and a stranger who guessed its number
    ticket = TicketFactory(customer=ada)
    result = inbound_email_process(
        raw=raw_email(sender="eve@evil.example", subject=f"Re: [#{ticket.pk}] hi")
    )
    # then the stranger gets a ticket of their own
    assert result.action == "created"
    assert result.ticket.pk != ticket.pk
    assert ticket.messages.count() == 0


def test_reply_on_a_solved_ticket_reopens_it(ada):
    ticket = TicketFactory(customer=ada, created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    TicketMessageFactory(
        ticket=ticket,
        email_message_id="<a@pulse.example>",
        created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    )
    ticket_status_change(
        ticket=ticket, to_status="solved", at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    )
    inbound_email_process(raw=raw_email(in_reply_to="<a@pulse.example>"))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count) == ("open", 1)


def test_reply_on_a_closed_ticket_opens_a_follow_up(ada):
    ticket = TicketFactory(customer=ada, created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    TicketMessageFactory(
        ticket=ticket,
        email_message_id="<a@pulse.example>",
        created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    )
    ticket_status_change(
        ticket=ticket, to_status="closed", at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    )
    result = inbound_email_process(raw=raw_email(in_reply_to="<a@pulse.example>"))
    assert result.ticket.follow_up_of_id == ticket.pk
    assert result.ticket.status == "new"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
    ],
)
def test_auto_replies_open_no_ticket(ada, headers):
    result = inbound_email_process(raw=raw_email(subject="Out of office", headers=headers))
    assert result.action == "ignored_auto_reply"
    assert not Ticket.objects.exists()


def test_auto_submitted_no_is_a_normal_message(ada):
    result = inbound_email_process(raw=raw_email(headers={"Auto-Submitted": "no"}))
    assert result.action == "created"


def _bounce(original_headers: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@pulse.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; gone@example.com\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{original_headers}\r\n"
        "--B--\r\n"
    ).encode()


def test_bounce_opens_no_ticket_and_marks_a_survey_invitation_undeliverable():
    # given a sent survey invitation whose e-mail bounced
    invitation = SurveyInvitationFactory(status=SurveyInvitation.Status.SENT)
    raw = _bounce(f"To: gone@example.com\r\nX-Pulse-Survey-Invitation: {invitation.pk}\r\n")
    # when the bounce arrives
    result = inbound_email_process(raw=raw)
    # then no ticket, and the invitation will not be counted or reminded
    assert result.action == "ignored_bounce"
    assert not Ticket.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.UNDELIVERABLE


def test_plain_mailer_daemon_message_is_a_bounce():
    raw = raw_email(sender="MAILER-DAEMON@mx.example.com", subject="failure notice")
    assert inbound_email_process(raw=raw).action == "ignored_bounce"
    assert not Ticket.objects.exists()


def test_html_only_message_is_stored_as_text(ada):
    result = inbound_email_process(raw=raw_email(body="", html="<p>Hello <b>there</b></p>"))
    assert result.ticket.messages.get().body == "Hello there"


def test_same_message_delivered_twice_is_stored_once(ada):
    raw = raw_email(message_id="<dup@mail.example.com>")
    first = inbound_email_process(raw=raw)
    second = inbound_email_process(raw=raw)
    assert (first.action, second.action) == ("created", "duplicate")
    assert second.ticket.pk == first.ticket.pk
    assert TicketMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "malformed"),
        (b"this is not an e-mail at all\njust text", "malformed"),
        (raw_email(sender=None), "no_sender"),
        (raw_email(sender="not an address"), "no_sender"),
    ],
)
def test_bad_mail_is_refused_and_nothing_written(ada, raw, code):
    customers_before = Customer.objects.count()
    with pytest.raises(InboundEmailRefused) as refused:
        inbound_email_process(raw=raw)
    assert refused.value.code == code
    assert isinstance(refused.value, ValidationError)
    assert not Ticket.objects.exists()
    assert Customer.objects.count() == customers_before


def test_huge_message_is_refused(settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 1000
    with pytest.raises(InboundEmailRefused) as refused:
        inbound_email_process(raw=raw_email(body="x" * 2000))
    assert refused.value.code == "too_large"
    assert not Ticket.objects.exists()


def test_huge_attachment_from_an_unknown_sender_writes_nothing(settings):
    # given a 5 kB attachment cap and an unknown sender (who would become a customer)
    settings.INBOUND_ATTACHMENT_MAX_BYTES = 5000
    with pytest.raises(InboundEmailRefused) as refused:
        inbound_email_process(raw=raw_email(sender="new@example.org", attachment=b"x" * 6000))
    assert refused.value.code == "attachment_too_large"
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()


def test_small_attachment_is_noted_in_the_body(ada):
    result = inbound_email_process(raw=raw_email(attachment=b"x" * 10))
    assert "big.bin, 10 bytes" in result.ticket.messages.get().body


def test_refusal_is_logged(caplog):
    with pytest.raises(InboundEmailRefused):
        inbound_email_process(raw=raw_email(sender=None))
    assert "inbound e-mail refused (no_sender)" in caplog.text

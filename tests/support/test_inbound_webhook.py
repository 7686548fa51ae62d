# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""The authenticated webhook and the mailbox command feeding support.inbound."""

import mailbox
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from support.models import Ticket
from tests.customers.factories import CustomerFactory
from tests.support.mail import raw_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]

AUTH = {"HTTP_AUTHORIZATION": "Bearer s3cret-inbound-token"}


def post(client, raw, **headers):
    return client.post(
        reverse("support_inbound:email"), data=raw, content_type="message/rfc822", **headers
    )


def test_valid_secret_turns_the_message_into_a_ticket(client):
    CustomerFactory(email="ada@example.com")
    response = post(client, raw_email(), **AUTH)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert response.json() == {
        "action": "created",
        "ticket": ticket.pk,
        "message": ticket.messages.get().pk,
    }


def test_alternative_secret_header_is_accepted(client):
    response = post(client, raw_email(), HTTP_X_INBOUND_SECRET="s3cret-inbound-token")
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer wrong"}])
def test_missing_or_wrong_secret_is_401_and_writes_nothing(client, headers):
    response = post(client, raw_email(), **headers)
    assert response.status_code == 401
    assert not Ticket.objects.exists()


def test_endpoint_is_disabled_without_a_secret(client, settings):
    settings.INBOUND_EMAIL_SECRET = ""
    assert post(client, raw_email(), HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_get_is_not_allowed(client):
    assert client.get(reverse("support_inbound:email"), **AUTH).status_code == 405


def test_refused_message_is_400_with_the_reason(client):
    response = post(client, raw_email(sender=None), **AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == "no_sender"
    assert not Ticket.objects.exists()


def test_oversize_body_is_413(client, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 500
    response = post(client, raw_email(body="x" * 1000), **AUTH)
    assert response.status_code == 413
    assert not Ticket.objects.exists()


def test_message_over_djangos_upload_limit_but_under_ours_is_accepted(client, settings):
    # DATA_UPLOAD_MAX_MEMORY_SIZE must not cap raw messages (it guards form parsing only)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, raw_email(body="y" * 3000), **AUTH)
    assert response.status_code == 200


def test_mbox_command_imports_each_message(tmp_path):
    # given an mbox with a new message, an auto-reply and a message without sender
    CustomerFactory(email="ada@example.com")
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    box.add(raw_email())
    box.add(raw_email(headers={"Auto-Submitted": "auto-replied"}))
    box.add(raw_email(sender=None))
    box.flush()
    box.close()
    out, err = StringIO(), StringIO()
    # when the command reads it
    call_command("support_fetch_mail", mbox=str(path), stdout=out, stderr=err)
    # then one ticket, and a summary of what happened to each message
    assert Ticket.objects.count() == 1
    assert "created: 1" in out.getvalue()
    assert "ignored_auto_reply: 1" in out.getvalue()
    assert "refused (no_sender): 1" in out.getvalue()
    assert "refused: no_sender" in err.getvalue()


def test_mbox_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("support_fetch_mail", mbox=str(tmp_path / "missing.mbox"))


def test_imap_needs_credentials():
    with pytest.raises(CommandError, match="--user and --password"):
        call_command("support_fetch_mail", imap="imap.example.com")


def test_imap_command_imports_unseen_messages_and_marks_them_seen():
    from tests.support.fake_imap import FakeMailbox, fake_imap_server

    # given an IMAP inbox with a customer message and a bounce
    CustomerFactory(email="ada@example.com")
    box = FakeMailbox(
        [raw_email(), raw_email(sender="MAILER-DAEMON@mx.example.com")],
        user="support",
        password="pw",
    )
    out = StringIO()
    # when the command reads the account
    with fake_imap_server(box) as port:
        call_command(
            "support_fetch_mail",
            imap="127.0.0.1",
            port=port,
            no_ssl=True,
            user="support",
            password="pw",
            stdout=out,
        )
    # then one ticket, the bounce ignored, and both messages flagged \\Seen
    assert Ticket.objects.count() == 1
    assert "created: 1" in out.getvalue()
    assert "ignored_bounce: 1" in out.getvalue()
    assert box.seen == {1, 2}


def test_imap_wrong_password_is_a_command_error():
    from tests.support.fake_imap import FakeMailbox, fake_imap_server

    box = FakeMailbox([], user="support", password="pw")
    with fake_imap_server(box) as port, pytest.raises(CommandError, match="Cannot log in"):
        call_command(
            "support_fetch_mail",
            imap="127.0.0.1",
            port=port,
            no_ssl=True,
            user="support",
            password="wrong",
        )

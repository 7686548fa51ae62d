"""Inbound e-mail attachments are stored on the ticket like uploads, within the inbound caps."""

from email.message import EmailMessage

import pytest

from attachments.models import Attachment
from attachments.selectors import attachments_of
from attachments.services import attachment_open
from support.inbound import inbound_email_process
from tests.attachments.conftest import PDF
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def mail_with(*files):
    message = EmailMessage()
    message["From"] = "Ada <ada@example.com>"
    message["To"] = "support@pulse.example"
    message["Subject"] = "Invoice question"
    message["Message-ID"] = "<m1@mail.example.com>"
    message.set_content("See the attached invoice.")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def test_an_accepted_attachment_is_stored_on_the_new_ticket():
    CustomerFactory(email="ada@example.com")

    result = inbound_email_process(raw=mail_with(("invoice.pdf", PDF)))

    (stored,) = attachments_of(result.ticket)
    assert (stored.name, stored.mime_type, stored.source) == (
        "invoice.pdf",
        "application/pdf",
        "email",
    )
    with attachment_open(stored) as content:
        assert content.read() == PDF
    assert result.message is not None
    assert f"[attachment: invoice.pdf, {len(PDF)} bytes]" in result.message.body


def test_a_refused_type_is_noted_but_not_stored_and_the_ticket_still_opens():
    CustomerFactory(email="ada@example.com")

    result = inbound_email_process(
        raw=mail_with(("invoice.pdf", PDF), ("tool.exe", b"MZ" + b"\x00" * 50))
    )

    assert [a.name for a in attachments_of(result.ticket)] == ["invoice.pdf"]
    assert result.message is not None
    assert "type not accepted: tool.exe" in result.message.body


def test_the_inbound_cap_applies_not_the_upload_cap(settings):
    # given uploads capped below the PDF's size, inbound mail capped above it
    settings.CRM_ATTACHMENT_MAX_BYTES = 10
    settings.INBOUND_ATTACHMENT_MAX_BYTES = 10_000
    CustomerFactory(email="ada@example.com")

    result = inbound_email_process(raw=mail_with(("invoice.pdf", PDF)))

    assert attachments_of(result.ticket).count() == 1
    assert Attachment.objects.get().size == len(PDF)

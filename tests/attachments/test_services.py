"""attachments_add / attachment_delete / move_attachments: checks, storage, all-or-nothing."""

import io

import pytest
from django.core.exceptions import ValidationError

from attachments.models import Attachment
from attachments.selectors import attachments_of
from attachments.services import (
    IncomingFile,
    attachment_delete,
    attachment_open,
    attachments_add,
    move_attachments,
)
from tests.attachments.conftest import PDF, PNG, stored_files
from tests.customers.factories import CustomerFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_files_are_stored_encrypted_and_read_back(attachment_storage_dir):
    customer = CustomerFactory()
    user = UserFactory()

    added = attachments_add(
        record=customer,
        files=[IncomingFile.from_bytes("offer.pdf", PDF), IncomingFile.from_bytes("logo.png", PNG)],
        actor=user,
    )

    assert [(a.name, a.mime_type, a.size) for a in attachments_of(customer).order_by("name")] == [
        ("logo.png", "image/png", len(PNG)),
        ("offer.pdf", "application/pdf", len(PDF)),
    ]
    files = stored_files(attachment_storage_dir)
    assert len(files) == 2
    # At rest the bytes are ciphertext; through the storage they are the upload again.
    assert all(PDF not in path.read_bytes() for path in files)
    pdf = next(a for a in added if a.name == "offer.pdf")
    with attachment_open(pdf) as stored:
        assert stored.read() == PDF
    # The stored name is random, not the uploader's file name.
    assert "offer" not in pdf.stored_name


def test_the_type_comes_from_the_content_not_the_name(attachment_storage_dir):
    # given an executable named like a PDF
    disguised = IncomingFile.from_bytes("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100)

    with pytest.raises(ValidationError) as refused:
        attachments_add(record=CustomerFactory(), files=[disguised], actor=None)

    assert refused.value.error_list[0].code == "type_not_allowed"
    assert "invoice.pdf" in refused.value.messages[0]
    assert not Attachment.objects.exists()
    assert stored_files(attachment_storage_dir) == []


def test_one_bad_file_stores_none_of_the_batch(settings, attachment_storage_dir):
    settings.CRM_ATTACHMENT_MAX_BYTES = 100
    files = [IncomingFile.from_bytes("ok.pdf", PDF), IncomingFile.from_bytes("big.pdf", PDF * 3)]

    with pytest.raises(ValidationError) as refused:
        attachments_add(record=CustomerFactory(), files=files, actor=None)

    assert [error.code for error in refused.value.error_list] == ["too_large"]
    assert "big.pdf" in refused.value.messages[0]
    assert not Attachment.objects.exists()
    assert stored_files(attachment_storage_dir) == []


def test_a_path_in_the_name_is_reduced_to_the_file_name():
    (added,) = attachments_add(
        record=CustomerFactory(),
        files=[IncomingFile(name="../../etc/notes.txt", content=io.BytesIO(b"hello"), size=5)],
        actor=None,
    )

    assert (added.name, added.mime_type) == ("notes.txt", "text/plain")


def test_delete_removes_the_row_and_the_stored_file(
    attachment_storage_dir, django_capture_on_commit_callbacks
):
    (added,) = attachments_add(
        record=CustomerFactory(), files=[IncomingFile.from_bytes("a.pdf", PDF)], actor=None
    )
    assert len(stored_files(attachment_storage_dir)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        attachment_delete(attachment=added)

    assert not Attachment.objects.exists()
    assert stored_files(attachment_storage_dir) == []


def test_move_attachments_moves_every_file_of_the_source_only():
    duplicate, survivor, other = CustomerFactory(), CustomerFactory(), CustomerFactory()
    attachments_add(
        record=duplicate,
        files=[IncomingFile.from_bytes("a.pdf", PDF), IncomingFile.from_bytes("b.png", PNG)],
        actor=None,
    )
    attachments_add(record=other, files=[IncomingFile.from_bytes("c.pdf", PDF)], actor=None)

    moved = move_attachments(source=duplicate, target=survivor)

    assert moved == 2
    assert sorted(a.name for a in attachments_of(survivor)) == ["a.pdf", "b.png"]
    assert not attachments_of(duplicate).exists()
    assert [a.name for a in attachments_of(other)] == ["c.pdf"]


def test_move_attachments_refuses_records_of_different_kinds():
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)

    with pytest.raises(ValueError, match="one model"):
        move_attachments(source=customer, target=ticket)


def test_a_ticket_and_a_customer_with_the_same_id_keep_their_own_files():
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)
    attachments_add(record=ticket, files=[IncomingFile.from_bytes("t.pdf", PDF)], actor=None)

    assert [a.name for a in attachments_of(ticket)] == ["t.pdf"]
    assert not attachments_of(customer).filter(name="t.pdf").exists()

"""A merge takes the duplicate's files along: attachments point at their record generically, so
neither the customer merge's relation walk nor the ticket merge would move them by itself."""

import pytest

from attachments.selectors import attachments_of
from attachments.services import IncomingFile, attachments_add
from customers.services import customer_merge
from support.services import ticket_merge
from tests.attachments.conftest import PDF, PNG
from tests.customers.factories import CustomerFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_customer_merge_moves_the_duplicates_files_to_the_survivor(attachment_storage_dir):
    source, target = CustomerFactory(), CustomerFactory()
    attachments_add(record=source, files=[IncomingFile.from_bytes("contract.pdf", PDF)], actor=None)
    attachments_add(record=target, files=[IncomingFile.from_bytes("logo.png", PNG)], actor=None)

    result = customer_merge(source=source, target=target)

    # 1 file of the source + 1 of the target → 2 on the survivor, none left behind.
    assert result.moved["attachments"] == 1
    assert sorted(a.name for a in attachments_of(target)) == ["contract.pdf", "logo.png"]
    assert not attachments_of(source).exists()


def test_a_ticket_merge_moves_the_duplicates_files_to_the_surviving_ticket(
    attachment_storage_dir,
):
    customer = CustomerFactory()
    into = TicketFactory(customer=customer)
    duplicate = TicketFactory(customer=customer)
    attachments_add(
        record=duplicate, files=[IncomingFile.from_bytes("screenshot.png", PNG)], actor=None
    )

    ticket_merge(duplicate=duplicate, into=into)

    assert [a.name for a in attachments_of(into)] == ["screenshot.png"]
    assert not attachments_of(duplicate).exists()

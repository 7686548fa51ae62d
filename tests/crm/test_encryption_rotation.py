# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment"
"""Key rotation: rows under key A stay readable after key B is added; `rotate_encryption_key`
puts every value under B; then key A can be removed and everything still reads."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from crm.encryption import rows
from crm.encryption.ciphers import blind_index
from crm.encryption.fields import blind_index_q
from crm.encryption.rows import encrypted_models, values_not_under_newest_key
from customers.models import Contact, Customer
from sales.models import Lead
from support.models import TicketMessage
from surveys.models import SurveyResponse
from tests.crm.encryption_keys import INDEX_KEY, KEY_A, KEY_B
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.sales.factories import LeadFactory
from tests.support.factories import TicketMessageFactory
from tests.surveys.factories import SurveyResponseFactory

pytestmark = pytest.mark.django_db


def stored(model, pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_from_key_a_to_key_b(settings):
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    customer = CustomerFactory(email="ada@example.com", phone="+49 30 1")
    contact = ContactFactory(customer=customer, email="bob@example.com")
    lead = LeadFactory(email="lea@example.com")
    message = TicketMessageFactory(body="Printer on fire")
    response = SurveyResponseFactory(comment="Fast help")
    under_a = stored(Customer, customer.pk, "email")

    # B added in front: B writes, A still reads the old rows.
    settings.CRM_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert Customer.objects.get(pk=customer.pk).email == "ada@example.com"
    assert TicketMessage.objects.get(pk=message.pk).body == "Printer on fire"
    left = sum(values_not_under_newest_key(m, connection) for m in encrypted_models())
    # The six values above plus whatever the factories filled in (their customers' e-mails).
    assert left >= 6

    out = io.StringIO()
    call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)

    assert "older keys can be removed" in out.getvalue()
    customers = Customer.objects.count()
    assert f"customers.Customer: {customers}/{customers} rows read" in out.getvalue()
    assert sum(values_not_under_newest_key(m, connection) for m in encrypted_models()) == 0
    assert stored(Customer, customer.pk, "email") != under_a
    only_b = Fernet(KEY_B.encode())
    assert only_b.decrypt(stored(Customer, customer.pk, "email").encode()) == b"ada@example.com"

    # A removed: everything reads, and the blind indexes (own key) still match.
    settings.CRM_ENCRYPTION_KEYS = [KEY_B]
    assert Customer.objects.get(pk=customer.pk).phone == "+49 30 1"
    assert Contact.objects.get(pk=contact.pk).email == "bob@example.com"
    assert Lead.objects.get(pk=lead.pk).email == "lea@example.com"
    assert TicketMessage.objects.get(pk=message.pk).body == "Printer on fire"
    assert SurveyResponse.objects.get(pk=response.pk).comment == "Fast help"
    assert (
        Customer.objects.filter(blind_index_q(Customer, "email", "ADA@example.com")).get()
        == customer
    )

    # A second run finds nothing left to do.
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert f"customers.Customer: {customers}/{customers} rows read, 0 re-encrypted" in (
        out.getvalue()
    )


def test_reindex_recomputes_blind_indexes_under_a_new_index_key(settings):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    customer = CustomerFactory(email="ada@example.com")
    settings.CRM_BLIND_INDEX_KEY = Fernet.generate_key().decode()
    assert not Customer.objects.filter(blind_index_q(Customer, "email", "ada@example.com")).exists()

    call_command("rotate_encryption_key", "--reindex", stdout=io.StringIO())

    assert (
        Customer.objects.filter(blind_index_q(Customer, "email", "ada@example.com")).get()
        == customer
    )
    # Every blind index of the column is recomputed, the e-mail domain's too.
    assert Customer.objects.get(pk=customer.pk).email_domain_bidx == blind_index(
        "email_domain", "ada@example.com"
    )


def test_rotation_never_overwrites_a_value_saved_while_it_ran(settings):
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    customer = CustomerFactory(email="old@example.com", phone="")
    settings.CRM_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    def rotate_after_a_user_saved(column, stored):
        # A user saves a new address between the rotation's read and its write.
        Customer.objects.filter(pk=customer.pk).update(email="new@example.com")  # (index aside)
        return rows._rotate_token(column, stored)

    changed = rows._walk(
        Customer,
        connection,
        rotate_after_a_user_saved,
        verb="re-encrypted",
        report=None,
        batch_size=10,
    )

    # The compare-and-swap on the old token matched nothing: the user's value stands.
    assert changed == 0
    assert Customer.objects.get(pk=customer.pk).email == "new@example.com"

# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""The import encrypts e-mails and phones (also on PostgreSQL's COPY path) and keeps their
blind indexes, so the exact-match lookups find imported and re-imported customers."""

import pytest
from django.db import connection

from crm.encryption.fields import blind_index_q
from customers.models import Customer
from tests.crm.encryption_keys import INDEX_KEY, KEY_A

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY


def test_import_writes_ciphertext_and_blind_indexes_and_reimport_moves_them(write_csv, import_data):
    header = ["external_id", "name", "email", "phone"]
    first = write_csv("c1.csv", [header, ["C-1", "Acme", "Buyer@Acme.test", "030 1"]])
    second = write_csv("c2.csv", [header, ["C-1", "Acme", "new@acme.test", "030 2"]])

    assert import_data("customers", first).ok
    acme = Customer.objects.get(external_id="C-1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, phone FROM customers_customer WHERE id = %s", [acme.pk])
        stored = cursor.fetchone()
    # "@" and " " are outside the token alphabet (url-safe base64): no plain value survives.
    assert "@" not in stored[0]
    assert " " not in stored[1]
    assert (
        Customer.objects.filter(blind_index_q(Customer, "email", "buyer@acme.test")).get() == acme
    )

    assert import_data("customers", second).ok
    assert not Customer.objects.filter(blind_index_q(Customer, "email", "buyer@acme.test")).exists()
    assert Customer.objects.filter(blind_index_q(Customer, "phone", "0302")).get() == acme
    assert Customer.objects.get(pk=acme.pk).email == "new@acme.test"

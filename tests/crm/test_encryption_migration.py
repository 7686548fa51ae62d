# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment"
"""The data migrations encrypt rows written in plain text before encryption at rest, in
resumable batches with progress, and their reverse writes the plain text back."""

import pgtrigger
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from crm.encryption.ciphers import blind_index
from crm.encryption.rows import encrypt_plain_rows
from customers.models import Customer
from tests.crm.encryption_keys import INDEX_KEY, KEY_A

BEFORE = [
    ("customers", "0003_admin_help_texts"),
    ("sales", "0003_forecast"),
    ("support", "0006_escalation_once_per_next_response_cycle"),
    ("surveys", "0003_admin_help_texts"),
]
AFTER = [
    ("customers", "0005_encrypt_existing_contact_details"),
    ("sales", "0005_encrypt_existing_lead_contact_details"),
    ("support", "0008_encrypt_existing_message_bodies"),
    ("surveys", "0005_encrypt_existing_response_comments"),
]


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY


def raw(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def _without_trail_triggers():
    """The audit trail's triggers copy today's columns; on a schema migrated back they would
    name columns that no longer exist. `migrate` installs them after migrating, so do the same."""
    if connection.vendor != "postgresql":
        yield
        return
    pgtrigger.uninstall()
    try:
        yield
    finally:
        pgtrigger.install()


# serialized_rollback: its flush then leaves the migration data to be restored, as the other
# transactional tests in this folder expect (a plain flush re-creates the content types under new
# ids, and the next serialized restore collides with them).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("_without_trail_triggers")
def test_migrations_encrypt_existing_plain_rows_and_reverse(capsys):
    old = migrate(BEFORE)
    try:
        customer = old.get_model("customers", "Customer").objects.create(
            name="Ada", email="Ada@Example.com", phone="+49 30 1"
        )
        contact = old.get_model("customers", "Contact").objects.create(
            customer_id=customer.pk, first_name="Bob", email="bob@example.com"
        )
        lead = old.get_model("sales", "Lead").objects.create(name="Lea", phone="030 99")
        ticket = old.get_model("support", "Ticket").objects.create(
            customer_id=customer.pk, subject="Broken"
        )
        message = old.get_model("support", "TicketMessage").objects.create(
            ticket_id=ticket.pk, author_kind="customer", body="It is on fire."
        )

        after = migrate(AFTER)

        email, email_bidx = raw(
            "SELECT email, email_bidx FROM customers_customer WHERE id = %s", [customer.pk]
        )
        assert "@" not in email
        assert email_bidx == blind_index("email", "ada@example.com")
        assert (
            " " not in raw("SELECT body FROM support_ticketmessage WHERE id = %s", [message.pk])[0]
        )
        assert raw("SELECT phone_bidx FROM sales_lead WHERE id = %s", [lead.pk])[0] == (
            blind_index("phone", "03099")
        )
        # The models as of AFTER: later migrations may add columns to these tables.
        encrypted = after.get_model("customers", "Customer").objects.get(pk=customer.pk)
        assert encrypted.email == "Ada@Example.com"
        assert encrypted.contacts.get().email == "bob@example.com"
        assert "customers.Customer: 1/1 rows read, 1 encrypted" in capsys.readouterr().out

        migrate(BEFORE)  # the reverse: plain text again

        assert raw("SELECT email FROM customers_customer WHERE id = %s", [customer.pk]) == (
            "Ada@Example.com",
        )
        assert raw("SELECT email FROM customers_contact WHERE id = %s", [contact.pk]) == (
            "bob@example.com",
        )
        assert raw("SELECT body FROM support_ticketmessage WHERE id = %s", [message.pk]) == (
            "It is on fire.",
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


class Interrupted(Exception):
    pass


@pytest.mark.django_db
def test_an_interrupted_encryption_resumes_where_it_stopped():
    plain = ["a@x.example", "b@x.example", "c@x.example"]
    pks = [Customer.objects.create(name=address).pk for address in plain]
    with connection.cursor() as cursor:  # rows as they were before encryption at rest
        for pk, address in zip(pks, plain, strict=True):
            cursor.execute("UPDATE customers_customer SET email = %s WHERE id = %s", [address, pk])

    def stop_after_first_batch(line: str) -> None:
        raise Interrupted(line)

    with pytest.raises(Interrupted, match="2/3 rows read, 2 encrypted"):
        encrypt_plain_rows(Customer, connection, report=stop_after_first_batch, batch_size=2)
    lines: list[str] = []
    changed = encrypt_plain_rows(Customer, connection, report=lines.append, batch_size=2)

    # The first batch (2 rows) committed before the interruption; the second run did the third.
    assert changed == 1
    assert lines == [
        "customers.Customer: 2/3 rows read, 0 encrypted",
        "customers.Customer: 3/3 rows read, 1 encrypted",
    ]
    assert sorted(Customer.objects.values_list("email", flat=True)) == plain

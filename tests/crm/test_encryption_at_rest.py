# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment"
"""Customer data is ciphertext in the database and plain text through the app."""

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.urls import reverse

from crm.encryption.fields import blind_index_q
from crm.roles import ADMIN
from customers.models import Contact, Customer
from sales.models import Lead
from support.models import TicketMessage
from surveys.models import SurveyResponse
from tests.crm.encryption_keys import INDEX_KEY, KEY_A
from tests.customers.factories import ContactFactory, CustomerFactory, UserFactory
from tests.sales.factories import LeadFactory
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.surveys.factories import SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY


def raw_row(model, pk, *columns):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} "
            f"FROM {quote(model._meta.db_table)} WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_raw_rows_hold_no_plain_contact_details_or_message_text():
    customer = CustomerFactory(email="ada@lovelace.example", phone="+44 20 7946 0000")
    contact = ContactFactory(customer=customer, email="bob@lovelace.example", phone="030 1234")
    lead = LeadFactory(email="lead@prospect.example", phone="+1 555 0100")
    message = TicketMessageFactory(
        ticket=TicketFactory(customer=customer), body="My card number is on the invoice."
    )
    response = SurveyResponseFactory(customer=customer, comment="The agent was rude.")

    rows = {
        "customer": raw_row(Customer, customer.pk, "email", "phone", "email_bidx", "phone_bidx"),
        "contact": raw_row(Contact, contact.pk, "email", "phone", "email_bidx", "phone_bidx"),
        "lead": raw_row(Lead, lead.pk, "email", "phone", "email_bidx", "phone_bidx"),
        "message": raw_row(TicketMessage, message.pk, "body"),
        "response": raw_row(SurveyResponse, response.pk, "comment"),
    }
    stored = " ".join(str(value) for row in rows.values() for value in row)
    # Each secret holds "@", "+" or a space, none of which a url-safe base64 token or a hex
    # digest can contain, so a match could only be plain text.
    for secret in (
        "ada@lovelace.example",
        "+44 20 7946 0000",
        "bob@lovelace.example",
        "030 1234",
        "lead@prospect.example",
        "+1 555 0100",
        "card number",
        "the invoice.",
        "was rude",
    ):
        assert secret not in stored
    # Fernet tokens (version byte 0x80 → "gAAAAA") and 64-hex-digit blind indexes.
    assert rows["customer"][0].startswith("gAAAAA")
    assert rows["message"][0].startswith("gAAAAA")
    assert all(len(value) == 64 for value in rows["lead"][2:])

    # Read back through the app: the plain values.
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.email, customer.phone) == ("ada@lovelace.example", "+44 20 7946 0000")
    assert Contact.objects.values_list("email", "phone").get(pk=contact.pk) == (
        "bob@lovelace.example",
        "030 1234",
    )
    assert Lead.objects.get(pk=lead.pk).email == "lead@prospect.example"
    assert TicketMessage.objects.get(pk=message.pk).body == "My card number is on the invoice."
    assert SurveyResponse.objects.get(pk=response.pk).comment == "The agent was rude."


def test_empty_values_stay_empty_so_has_no_email_still_filters():
    with_email = CustomerFactory(email="x@y.example")
    without = CustomerFactory(email="", phone="")

    assert raw_row(Customer, without.pk, "email", "email_bidx") == ("", "")
    assert list(Customer.objects.exclude(email="").values_list("pk", flat=True)) == [with_email.pk]


def test_a_search_inside_ciphertext_is_refused_not_silently_empty():
    with pytest.raises(FieldError, match="encrypted"):
        list(Customer.objects.filter(email__icontains="example"))
    with pytest.raises(FieldError, match="blind index"):
        list(Customer.objects.filter(email="x@y.example"))


def test_queryset_update_and_update_fields_saves_keep_ciphertext_and_index_in_step():
    message = TicketMessageFactory(body="first")
    TicketMessage.objects.filter(pk=message.pk).update(body="second text")
    assert "second" not in raw_row(TicketMessage, message.pk, "body")[0]
    assert TicketMessage.objects.get(pk=message.pk).body == "second text"

    lead = LeadFactory(email="old@lead.example")
    lead.email = "new@lead.example"
    lead.save(update_fields=["email"])  # the blind index is saved with it

    assert Lead.objects.filter(blind_index_q(Lead, "email", "NEW@lead.example")).get() == lead
    assert not Lead.objects.filter(blind_index_q(Lead, "email", "old@lead.example")).exists()


def test_pages_and_exports_show_plain_text_to_users_allowed_to_see_the_record(client):
    client.force_login(UserFactory(role=ADMIN))
    customer = CustomerFactory(name="Ada Ltd", email="ada@lovelace.example", phone="+44 20 1")
    ContactFactory(customer=customer, first_name="Bob", email="bob@lovelace.example")
    ticket = TicketFactory(customer=customer, subject="Broken")
    TicketMessageFactory(ticket=ticket, body="The printer is on fire.")

    export = b"".join(client.get(reverse("customers:export")).streaming_content).decode()
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    ticket_page = client.get(reverse("support:ticket_detail", args=[ticket.pk])).content.decode()

    assert "ada@lovelace.example" in export
    assert "+44 20 1" in export
    assert "ada@lovelace.example" in page
    assert "bob@lovelace.example" in page
    assert "The printer is on fire." in ticket_page

"""A customer's data: exported whole as a ZIP, or anonymised (trail included) with orders and
their figures kept; both admin-only, confirmed and recorded."""

import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.data_rights import ERASED, customer_anonymise, customer_data_export
from audit.models import DataRightsEvent
from audit.selectors import EventFilters, audit_event_list, event_model_for
from crm.roles import ADMIN, MANAGER
from customers.models import Contact, Customer
from sales.models import Order
from support.models import TicketMessage
from tests.audit.conftest import requires_trail
from tests.customers.factories import ContactFactory, CustomerFactory, UserFactory
from tests.sales.factories import LeadFactory, OrderFactory, OrderLineFactory
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.surveys.factories import SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita():
    customer = CustomerFactory(name="Rita Rossi", email="rita@rossi.test", phone="+39 06 1")
    ContactFactory(customer=customer, first_name="Rita", email="rita@work.test")
    order = OrderFactory(customer=customer, total=Decimal("250.00"))
    OrderLineFactory(order=order)
    ticket = TicketFactory(customer=customer, subject="My address changed")
    TicketMessageFactory(ticket=ticket, body="I now live at Via Roma 1")
    SurveyResponseFactory(customer=customer, comment="Ask Rita's husband")
    LeadFactory(converted_customer=customer, name="Rita Rossi", email="rita@rossi.test")
    return customer


def read_zip(payload: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert archive.namelist() == ["customer.json"]
        return json.loads(archive.read("customer.json"))


def test_export_holds_the_customer_and_everything_pointing_at_it(rita):
    admin = UserFactory(role=ADMIN)

    document = read_zip(customer_data_export(customer=rita, actor=admin))

    assert document["customer"]["email"] == "rita@rossi.test"
    related = document["related"]
    assert [c["email"] for c in related["customers.Contact (customer)"]] == ["rita@work.test"]
    orders = related["sales.Order (customer)"]
    assert orders[0]["total"] == "250.00"
    assert len(orders[0]["owned"]["sales.OrderLine"]) == 1
    tickets = related["support.Ticket (customer)"]
    assert tickets[0]["owned"]["support.TicketMessage"][0]["body"] == "I now live at Via Roma 1"
    assert related["sales.Lead (converted_customer)"][0]["name"] == "Rita Rossi"
    assert DataRightsEvent.objects.get().kind == "export"


def test_anonymise_erases_personal_data_and_keeps_orders(rita):
    admin = UserFactory(role=ADMIN)
    orders_before = list(Order.objects.filter(customer=rita).values_list("pk", "total"))

    customer_anonymise(customer=rita, actor=admin)

    rita.refresh_from_db()
    assert (rita.name, rita.email, rita.phone) == (f"Anonymised customer {rita.pk}", "", "")
    assert not Contact.objects.filter(customer=rita).exists()
    assert list(
        TicketMessage.objects.filter(ticket__customer=rita).values_list("body", flat=True)
    ) == [ERASED]
    assert rita.tickets.get().subject == ERASED
    assert rita.survey_responses.get().comment == ""
    # orders (and so every revenue KPI) are untouched: same rows, same totals
    assert list(Order.objects.filter(customer=rita).values_list("pk", "total")) == orders_before
    assert DataRightsEvent.objects.get().kind == "anonymise"
    exported = json.dumps(read_zip(customer_data_export(customer=rita, actor=admin)))
    for personal in ("Rita", "Via Roma", "rossi.test"):
        assert personal not in exported


@requires_trail
def test_anonymise_scrubs_the_trail_copies(rita):
    admin = UserFactory(role=ADMIN)
    Customer.objects.filter(pk=rita.pk).update(email="rita@new.test")

    customer_anonymise(customer=rita, actor=admin)

    values = json.dumps(
        [
            list(event_model_for(model).objects.values())
            for model in (Customer, Contact, TicketMessage)
        ],
        default=str,
    )
    for personal in ("Rita", "Via Roma", "rossi.test"):
        assert personal not in values
    anonymisation = audit_event_list(
        filters=EventFilters(record_type="customers.Customer", record_id=str(rita.pk))
    ).first()
    assert anonymisation is not None
    assert anonymisation.user_id == admin.pk


def page(customer) -> str:
    return reverse("audit:customer_data", args=[customer.pk])


def test_pages_are_admin_only(client, rita):
    client.force_login(UserFactory(role=MANAGER))

    assert client.get(page(rita)).status_code == 403
    assert client.post(page(rita), {"action": "export"}).status_code == 403
    assert client.get(reverse("audit:customer_search"), {"q": "Rita"}).status_code == 403


def test_search_then_export_download(client, rita):
    client.force_login(UserFactory(role=ADMIN))

    found = client.get(reverse("audit:customer_search"), {"q": "rita"})
    download = client.post(page(rita), {"action": "export"})

    assert list(found.context["customers"]) == [rita]
    assert download["Content-Type"] == "application/zip"
    assert read_zip(download.content)["customer"]["id"] == rita.pk


def test_anonymise_needs_the_typed_confirmation(client, rita):
    client.force_login(UserFactory(role=ADMIN))

    refused = client.post(page(rita), {"action": "anonymise", "confirm": "Rita"})
    rita.refresh_from_db()
    assert refused.status_code == 200
    assert rita.name == "Rita Rossi"

    done = client.post(page(rita), {"action": "anonymise", "confirm": str(rita.pk)})
    rita.refresh_from_db()
    assert done.status_code == 302
    assert rita.name == f"Anonymised customer {rita.pk}"


def test_unknown_customer_is_404(client):
    client.force_login(UserFactory(role=ADMIN))

    assert client.get(reverse("audit:customer_data", args=[999999])).status_code == 404

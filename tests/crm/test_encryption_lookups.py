# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr"
"""Every exact-match path on an encrypted e-mail or phone goes through its blind index: the API
filters and search, the lead-conversion duplicate suggestions, inbound e-mail sender matching,
survey invitation addresses, the import, the global search, the admin and the duplicate KPI."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from crm.roles import ADMIN, SALES_REP
from crm.views import global_search
from customers.models import Customer
from kpis.definitions.base import KpiContext
from kpis.definitions.quality import DataCompleteness
from support.inbound import inbound_email_process
from surveys.services import survey_invitation_create, survey_invitation_send
from tests.crm.encryption_keys import INDEX_KEY, KEY_A
from tests.customers.factories import ContactFactory, CustomerFactory, UserFactory
from tests.sales.factories import LeadFactory
from tests.support.factories import TicketFactory
from tests.support.mail import raw_email
from tests.surveys.factories import SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY


@pytest.fixture
def admin_user():
    return UserFactory(role=ADMIN, is_staff=True, is_superuser=True)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_api_filters_and_search_match_whole_emails_and_phones(admin_user):
    ada = CustomerFactory(name="Ada", email="ada@example.com", phone="+49 30 1234")
    CustomerFactory(name="Bob", email="bob@example.com", phone="")
    contact = ContactFactory(customer=ada, email="Team@Ada.example", phone="0170 555")
    lead = LeadFactory(name="Lea", email="lea@lead.example", phone="(030) 99-1")
    client = api(admin_user)

    assert ids(client.get("/api/v1/customers/", {"email": " ADA@example.com"})) == {ada.pk}
    assert ids(client.get("/api/v1/customers/", {"phone": "+4930/1234"})) == {ada.pk}
    assert ids(client.get("/api/v1/customers/", {"search": "ada@example.com"})) == {ada.pk}
    # A part of an e-mail matches nothing any more: ciphertext has no substrings.
    assert ids(client.get("/api/v1/customers/", {"search": "example.com"})) == set()
    assert ids(client.get("/api/v1/contacts/", {"email": "team@ada.example"})) == {contact.pk}
    assert ids(client.get("/api/v1/contacts/", {"search": "0170555"})) == {contact.pk}
    assert ids(client.get("/api/v1/leads/", {"email": "LEA@lead.example"})) == {lead.pk}
    assert ids(client.get("/api/v1/leads/", {"phone": "030991"})) == {lead.pk}
    assert ids(client.get("/api/v1/leads/", {"search": "lea@lead.example"})) == {lead.pk}
    # The API still shows the plain values to a user allowed to see them.
    row = client.get(f"/api/v1/customers/{ada.pk}/").json()
    assert (row["email"], row["phone"]) == ("ada@example.com", "+49 30 1234")


def test_lead_conversion_suggests_the_customer_with_the_same_email(client):
    rep = UserFactory(role=SALES_REP)
    client.force_login(rep)
    same = CustomerFactory(name="Zeta GmbH", email="grace@hopper.example", owner=rep)
    CustomerFactory(name="Other", email="other@hopper.example", owner=rep)
    lead = LeadFactory(owner=rep, name="Grace", company="Hopper", email="Grace@Hopper.example")

    page = client.get(reverse("sales:lead_convert", args=[lead.pk]))

    assert [customer.pk for customer in page.context["suggestions"]] == [same.pk]
    assert "grace@hopper.example" in page.content.decode()


def test_inbound_email_matches_contact_then_customer_and_threads_by_subject():
    ada = CustomerFactory(name="Ada", email="ada@example.com")
    contact = ContactFactory(customer=ada, email="Bob@Example.com")

    by_contact = inbound_email_process(raw=raw_email(sender="BOB@example.com"))
    by_customer = inbound_email_process(raw=raw_email(sender="Ada <ADA@Example.com>"))
    ticket = TicketFactory(customer=ada)
    reply = inbound_email_process(
        raw=raw_email(sender="bob@example.com", subject=f"Re: [#{ticket.pk}] help")
    )

    assert (by_contact.ticket.customer_id, by_contact.ticket.contact_id) == (ada.pk, contact.pk)
    assert (by_customer.ticket.customer_id, by_customer.ticket.contact_id) == (ada.pk, None)
    assert (reply.action, reply.ticket.pk) == ("replied", ticket.pk)
    assert Customer.objects.count() == 1  # nobody unknown was created


def test_survey_invitation_is_addressed_to_the_decrypted_email():
    customer = CustomerFactory(email="ada@example.com", language="en")
    survey = SurveyFactory()
    invitation = survey_invitation_create(survey=survey, customer=customer)

    assert survey_invitation_send(invitation_id=invitation.pk) is True
    assert mail.outbox[-1].to == ["ada@example.com"]


def test_global_search_finds_whole_emails_and_phones_not_parts(admin_user):
    ada = CustomerFactory(name="Ada", email="ada@example.com", phone="+49 30 1")
    contact = ContactFactory(customer=ada, first_name="Bob", email="bob@example.com")
    lead = LeadFactory(name="Lea", email="lea@lead.example")
    ticket = TicketFactory(customer=ada, contact=contact, subject="Broken")

    def found(text: str) -> dict[str, set[int]]:
        return {
            group.key: {row.pk for row in group.hits} for group in global_search(admin_user, text)
        }

    assert found("ada@example.com")["customers"] == {ada.pk}
    assert found("ada@example.com")["tickets"] == {ticket.pk}
    assert found("BOB@example.com")["contacts"] == {contact.pk}
    assert found("bob@example.com")["tickets"] == {ticket.pk}
    assert found("lea@lead.example")["leads"] == {lead.pk}
    assert found("+49301")["customers"] == {ada.pk}
    assert found("example.com")["customers"] == set()


def test_admin_search_finds_customers_contacts_and_leads_by_whole_email(client, admin_user):
    ada = CustomerFactory(name="Ada", email="ada@example.com")
    CustomerFactory(name="Bob", email="bob@example.com")
    client.force_login(admin_user)

    page = client.get(reverse("admin:customers_customer_changelist"), {"q": "ADA@example.com"})
    assert [row.pk for row in page.context["cl"].result_list] == [ada.pk]
    page = client.get(reverse("admin:customers_customer_changelist"), {"q": "Bob"})
    assert [row.name for row in page.context["cl"].result_list] == ["Bob"]
    lead = LeadFactory(email="lea@lead.example")
    page = client.get(reverse("admin:sales_lead_changelist"), {"q": "lea@lead.example"})
    assert [row.pk for row in page.context["cl"].result_list] == [lead.pk]


def test_duplicate_kpi_counts_customers_sharing_a_normalised_email_or_phone():
    CustomerFactory(email="Ada@Example.com", phone="030 1234")
    CustomerFactory(email=" ada@example.com", phone="030-1234")
    CustomerFactory(email="bob@example.com", phone="(030) 1234")
    CustomerFactory(email="", phone="")
    ctx = KpiContext.build(
        granularity="year",
        period_start=dt.date(2099, 1, 1),
        period_end=dt.date(2100, 1, 1),
        now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
    )

    details = DataCompleteness().extra_details(ctx, "all", None)[""]

    # two customers share ada@example.com; three share the phone 0301234 once normalised.
    assert details == {"duplicate_email_customers": 2, "duplicate_phone_customers": 3}

"""Customer page checks that guard an edit: the likely-duplicate warning on edit ("save
anyway"), a stale contact edit refused with who changed it and when (the input kept), the
"New ticket" action prefilled with the customer, and the contact pages' query caps."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.concurrency import edit_version
from customers.models import Contact
from customers.services import contact_update, contact_version
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(client, team):
    user = UserFactory(username="rita", first_name="Rita", last_name="Rep", role="Sales rep")
    team.members.add(user)
    client.force_login(user)
    return user


def edit_data(customer, **overrides):
    data = {
        "kind": customer.kind,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "language": customer.language,
        "owner": customer.owner_id or "",
        "team": customer.team_id or "",
        "edit_version": edit_version(customer),
    }
    data.update(overrides)
    return data


# --- duplicates on edit -------------------------------------------------------------------------


def test_an_edit_that_makes_a_customer_look_like_another_warns_until_save_anyway(client, rep, team):
    existing = CustomerFactory(name="Acme", email="buy@acme.example", team=team, kind="company")
    customer = CustomerFactory(name="Other Co", email="x@other.example", team=team)
    url = reverse("customers:edit", args=[customer.pk])

    warned = client.post(url, edit_data(customer, email="sales@acme.example"))

    assert warned.status_code == 200
    assert [match.customer for match in warned.context["duplicates"]] == [existing]
    html = warned.content.decode()
    assert 'data-testid="save-anyway"' in html
    assert reverse("customers:merge", args=[customer.pk]) + f"?other={existing.pk}" in html
    customer.refresh_from_db()
    assert customer.email == "x@other.example"

    saved = client.post(url, edit_data(customer, email="sales@acme.example", save_anyway="1"))

    assert saved.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "sales@acme.example"


def test_an_edit_leaving_name_e_mail_and_phone_alone_is_not_held_up(client, rep, team):
    CustomerFactory(name="Twin", email="twin@twin.example", team=team)
    customer = CustomerFactory(name="Twin", email="twin@twin.example", team=team)

    response = client.post(
        reverse("customers:edit", args=[customer.pk]), edit_data(customer, language="zh-hans")
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.language == "zh-hans"


def test_the_edit_warning_never_names_another_team_s_customer(client, rep, team):
    CustomerFactory(name="Hidden", email="a@hidden.example", team=TeamFactory(name="South"))
    customer = CustomerFactory(name="Mine", email="m@mine.example", team=team)

    response = client.post(
        reverse("customers:edit", args=[customer.pk]),
        edit_data(customer, email="b@hidden.example"),
    )

    assert response.status_code == 302


# --- "New ticket" on the customer page ----------------------------------------------------------


def test_an_agent_opens_a_ticket_from_the_customer_page_with_the_customer_filled_in(client, team):
    agent = UserFactory(username="alex", role="Support agent")
    team.members.add(agent)
    client.force_login(agent)
    customer = CustomerFactory(name="Globex", team=team)
    new_ticket = reverse("support:ticket_create") + f"?customer={customer.pk}"

    page = client.get(reverse("customers:detail", args=[customer.pk]))
    form = client.get(new_ticket)

    assert f'href="{new_ticket}"' in page.content.decode()
    assert form.status_code == 200
    assert form.context["customer"] == customer


def test_a_rep_who_does_not_work_tickets_sees_no_new_ticket_action(client, rep, team):
    customer = CustomerFactory(team=team)

    page = client.get(reverse("customers:detail", args=[customer.pk]))

    assert 'data-testid="new-ticket"' not in page.content.decode()


# --- stale contact edits ------------------------------------------------------------------------


def contact_data(contact, **overrides):
    data = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "job_title": contact.job_title,
        "edit_version": contact_version(contact),
    }
    data.update(overrides)
    return data


def test_a_stale_contact_edit_is_refused_with_who_and_when_and_keeps_the_input(client, rep, team):
    customer = CustomerFactory(team=team, owner=rep)
    contact = ContactFactory(customer=customer, first_name="Mia", job_title="Buyer")
    url = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    opened = contact_data(contact, job_title="Head of buying")
    colleague = UserFactory(username="tom", first_name="Tom", last_name="Teammate")
    contact_update(contact=contact, job_title="CFO", actor=colleague)  # saved meanwhile

    response = client.post(url, opened)

    assert response.status_code == 400
    errors = " ".join(response.context["form"].non_field_errors())
    assert "since you opened it" in errors
    if connection.vendor == "postgresql":
        # The audit trail names the colleague and the time of the save.
        event_time = timezone.localtime().strftime("%H:")
        assert "Changed by Tom Teammate at " in errors
        assert event_time in errors
    assert response.context["form"]["job_title"].value() == "Head of buying"
    contact.refresh_from_db()
    assert contact.job_title == "CFO"
    # The form now carries the saved version: a second, informed save goes through.
    again = client.post(url, response.context["form"].data)
    assert again.status_code == 302
    contact.refresh_from_db()
    assert contact.job_title == "Head of buying"


def test_a_contact_edit_without_a_change_in_between_saves(client, rep, team):
    customer = CustomerFactory(team=team, owner=rep)
    contact = ContactFactory(customer=customer, first_name="Mia")

    response = client.post(
        reverse("customers:contact_edit", args=[customer.pk, contact.pk]),
        contact_data(contact, last_name="Lang"),
    )

    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).last_name == "Lang"


def test_making_another_contact_primary_makes_an_open_edit_of_the_old_primary_stale(
    client, rep, team
):
    customer = CustomerFactory(team=team, owner=rep)
    primary = ContactFactory(customer=customer, first_name="Old", is_primary=True)
    other = ContactFactory(customer=customer, first_name="New")
    opened = contact_data(primary, job_title="Still primary?")

    client.post(reverse("customers:contact_primary", args=[customer.pk, other.pk]))
    response = client.post(
        reverse("customers:contact_edit", args=[customer.pk, primary.pk]), opened
    )

    assert response.status_code == 400
    primary.refresh_from_db()
    assert (primary.is_primary, primary.job_title) == (False, "")


# --- query caps ---------------------------------------------------------------------------------


@pytest.mark.parametrize("contacts", [1, 20])
def test_contact_pages_query_a_fixed_number_of_times(
    client, rep, team, contacts, django_assert_max_num_queries
):
    customer = CustomerFactory(team=team, owner=rep)
    made = [ContactFactory(customer=customer) for _ in range(contacts)]
    contact = made[0]
    edit = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    create = reverse("customers:contact_create", args=[customer.pk])

    with django_assert_max_num_queries(6):
        assert client.get(create).status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(edit).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.post(edit, contact_data(contact, job_title="Lead")).status_code == 302
    contact.refresh_from_db()
    with django_assert_max_num_queries(13):
        primary = contact_data(contact, is_primary="on")
        assert client.post(edit, primary).status_code == 302

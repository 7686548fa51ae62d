# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import pytest
from django.urls import reverse

from customers.models import Contact, Customer
from tests.customers.factories import (
    ChannelFactory,
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["team", "channel", "segment", "customer", "contact"])
def test_changelist_renders_with_a_bounded_query_count(
    admin_client, django_assert_max_num_queries, model
):
    owners = [UserFactory(), UserFactory()]
    team = TeamFactory(manager=owners[0])
    for index in range(15):
        customer = CustomerFactory(
            team=team,
            owner=owners[index % 2],
            segment=SegmentFactory(code=f"seg-{index}"),
            channel=ChannelFactory(code=f"ch-{index}"),
        )
        ContactFactory(customer=customer)
    url = reverse(f"admin:customers_{model}_changelist")

    # session, user, counts, rows, filters: a constant, whatever the rows (15 here)
    with django_assert_max_num_queries(14):
        response = admin_client.get(url)

    assert response.status_code == 200


def test_customer_change_page_shows_derived_fields_read_only(admin_client):
    customer = CustomerFactory(health_score=80, health_band="green")
    ContactFactory(customer=customer)

    response = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "health_score" not in form.fields
    assert "acquired_at" not in form.fields
    assert "rfm_segment" not in form.fields


def test_customer_add_goes_through_the_service_with_contacts_inline(admin_client):
    response = admin_client.post(
        reverse("admin:customers_customer_add"),
        {
            "name": "  Acme  ",
            "kind": "company",
            "language": "en",
            "status": "active",
            "created_at_0": "2026-01-05",
            "created_at_1": "10:00:00",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-first_name": "Ada",
            "contacts-0-is_primary": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get()
    assert customer.name == "Acme"  # stripped by customer_create
    # a manual status change to active acquires the customer (catalogue §1)
    assert customer.acquired_at is not None
    assert Contact.objects.get().customer == customer


def test_customer_admin_refuses_a_second_primary_contact(admin_client):
    customer = CustomerFactory()
    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[customer.pk]),
        {
            "name": customer.name,
            "kind": "company",
            "language": "en",
            "status": "prospect",
            "created_at_0": "2026-01-05",
            "created_at_1": "10:00:00",
            "contacts-TOTAL_FORMS": "2",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-first_name": "Ada",
            "contacts-0-is_primary": "on",
            "contacts-1-first_name": "Bob",
            "contacts-1-is_primary": "on",
        },
    )

    assert response.status_code == 200
    assert "at most one primary contact" in response.content.decode()
    assert not Contact.objects.exists()

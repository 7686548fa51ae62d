# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from customers.models import Contact, Customer
from customers.services import (
    contact_create,
    contact_update,
    customer_create,
    customer_mark_churned,
    customer_update,
)
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)


def test_customer_create_stores_the_given_fields():
    owner = UserFactory()
    team = TeamFactory()

    customer = customer_create(
        name="  Acme  ",
        email="ops@acme.test",
        owner=owner,
        team=team,
        external_id="C-1",
        created_at=T0,
    )

    customer.refresh_from_db()
    assert customer.name == "Acme"
    assert (customer.owner_id, customer.team_id, customer.external_id) == (owner.pk, team.pk, "C-1")
    assert customer.created_at == T0
    assert customer.status == Customer.Status.PROSPECT
    assert customer.acquired_at is None


def test_customer_create_refuses_a_bad_email_and_saves_nothing():
    with pytest.raises(ValidationError) as excinfo:
        customer_create(name="Acme", email="not-an-email")

    assert "email" in excinfo.value.message_dict
    assert not Customer.objects.exists()


def test_customer_create_refuses_a_duplicate_external_id():
    CustomerFactory(external_id="C-1")

    with pytest.raises(ValidationError) as excinfo:
        customer_create(name="Other", external_id="C-1")

    assert "external_id" in excinfo.value.message_dict
    assert Customer.objects.count() == 1


def test_customer_create_refuses_a_naive_datetime():
    with pytest.raises(ValidationError) as excinfo:
        customer_create(name="Acme", created_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001

    assert "created_at" in excinfo.value.message_dict


def test_customer_update_changes_editable_fields():
    customer = CustomerFactory(name="Old")
    team = TeamFactory()

    updated = customer_update(customer=customer, name="New", team=team)

    customer.refresh_from_db()
    assert updated.name == customer.name == "New"
    assert customer.team_id == team.pk


def test_customer_update_refuses_derived_fields_and_writes_nothing():
    customer = CustomerFactory(name="Old")

    with pytest.raises(ValidationError) as excinfo:
        customer_update(customer=customer, name="New", health_score=50, acquired_at=T0)

    assert set(excinfo.value.message_dict) == {"health_score", "acquired_at"}
    customer.refresh_from_db()
    assert customer.name == "Old"


def test_customer_update_to_active_status_acquires_the_customer():
    customer = CustomerFactory()

    customer_update(customer=customer, status=Customer.Status.ACTIVE)

    customer.refresh_from_db()
    assert customer.acquired_at is not None


def test_customer_mark_churned_sets_status_and_date():
    customer = CustomerFactory(acquired_at=T0, status=Customer.Status.ACTIVE)
    churned_at = T0 + dt.timedelta(days=30)

    customer_mark_churned(customer=customer, churned_at=churned_at)

    customer.refresh_from_db()
    assert (customer.status, customer.churned_at) == (Customer.Status.CHURNED, churned_at)


def test_customer_mark_churned_refuses_a_date_before_acquisition():
    customer = CustomerFactory(acquired_at=T0, status=Customer.Status.ACTIVE)

    with pytest.raises(ValidationError) as excinfo:
        customer_mark_churned(customer=customer, churned_at=T0 - dt.timedelta(days=1))

    assert "churned_at" in excinfo.value.message_dict
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE


def test_contact_create_new_primary_replaces_the_old_primary():
    customer = CustomerFactory()
    old = ContactFactory(customer=customer, is_primary=True)

    new = contact_create(customer=customer, first_name="Ada", is_primary=True)

    old.refresh_from_db()
    assert not old.is_primary
    assert list(Contact.objects.filter(customer=customer, is_primary=True)) == [new]


def test_contact_create_refuses_a_missing_first_name():
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as excinfo:
        contact_create(customer=customer, first_name="  ")

    assert "first_name" in excinfo.value.message_dict
    assert not Contact.objects.exists()


def test_customer_update_to_churned_records_an_explicit_churn_date():
    customer = CustomerFactory(acquired_at=T0, status=Customer.Status.ACTIVE)

    customer_update(customer=customer, status=Customer.Status.CHURNED)

    customer.refresh_from_db()
    assert customer.churned_at is not None
    assert customer.churned_at >= T0


def test_customer_update_refuses_churning_a_prospect():
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as excinfo:
        customer_update(customer=customer, status=Customer.Status.CHURNED)

    assert "status" in excinfo.value.message_dict
    customer.refresh_from_db()
    assert customer.status == Customer.Status.PROSPECT


def test_contact_update_made_primary_takes_over_and_strips_text():
    customer = CustomerFactory()
    old = ContactFactory(customer=customer, is_primary=True)
    other = ContactFactory(customer=customer, is_primary=False)

    updated = contact_update(contact=other, is_primary=True, last_name="  Lovelace ")

    old.refresh_from_db()
    assert (updated.is_primary, old.is_primary) == (True, False)
    assert updated.last_name == "Lovelace"


def test_contact_update_refuses_a_move_and_a_blank_name_and_saves_nothing():
    contact = ContactFactory(first_name="Ada")
    home = contact.customer_id
    elsewhere = CustomerFactory()

    with pytest.raises(ValidationError) as moved:
        contact_update(contact=contact, customer=elsewhere)
    with pytest.raises(ValidationError) as blank:
        contact_update(contact=contact, first_name="  ")

    assert "customer" in moved.value.message_dict
    assert "first_name" in blank.value.message_dict
    contact.refresh_from_db()
    assert (contact.first_name, contact.customer_id) == ("Ada", home)

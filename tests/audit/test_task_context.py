"""A Celery task's writes are recorded with source "task" and the task's name; an eager task
inside a request hands the request's context back when it ends."""

import pytest
from celery import shared_task

from audit.context import audit_context
from audit.selectors import EventFilters, audit_event_list
from customers.models import Customer
from tests.audit.conftest import requires_trail
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, requires_trail]


@shared_task
def rename_customer(customer_id: int, name: str) -> None:
    Customer.objects.filter(pk=customer_id).update(name=name)


def latest_event(customer: Customer):
    return audit_event_list(
        filters=EventFilters(record_type="customers.Customer", record_id=str(customer.pk))
    ).first()


def test_task_writes_carry_the_task_name():
    customer = CustomerFactory(name="Acme")

    rename_customer.delay(customer.pk, "Acme AG")

    event = latest_event(customer)
    assert (event.source, event.task) == ("task", "tests.audit.test_task_context.rename_customer")


def test_request_context_comes_back_after_an_eager_task():
    customer = CustomerFactory(name="Acme")

    with audit_context(source="web", user=None):
        rename_customer.delay(customer.pk, "Acme AG")
        Customer.objects.filter(pk=customer.pk).update(name="Acme SE")

    event = latest_event(customer)
    assert (event.source, event.task) == ("web", None)

"""/administration/audit/: admins only, filters, pagination with constant queries, exports."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.context import audit_context
from audit.models import AuthEvent
from audit.services import audit_event_record
from crm.roles import ADMIN, MANAGER
from customers.models import Customer
from tests.audit.conftest import requires_trail
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
EVENTS = reverse("audit:events")
SIGN_INS = reverse("audit:sign_ins")


@pytest.fixture
def admin(client):
    user = UserFactory(role=ADMIN)
    client.force_login(user)
    return user


@pytest.mark.parametrize("url", [EVENTS, SIGN_INS])
def test_pages_need_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url", [EVENTS, SIGN_INS])
def test_a_manager_is_refused(client, url):
    client.force_login(UserFactory(role=MANAGER))

    assert client.get(url).status_code == 403


def test_sign_in_list_filters_by_user_and_exports_csv(client, admin):
    other = UserFactory(username="bob")
    audit_event_record(kind="sign_in", user=other)
    audit_event_record(kind="sign_in_failed", username="mallory")

    page = client.get(SIGN_INS, {"user": other.pk})
    export = client.get(SIGN_INS, {"format": "csv"})

    assert [event.username for event in page.context["page_obj"]] == ["bob"]
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Time", "Event", "User name", "Address", "Source"]
    # force_login is a sign-in too
    assert sorted(row[2] for row in rows[1:]) == sorted(["bob", "mallory", admin.username])
    assert AuthEvent.objects.count() == 3


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="on PostgreSQL the trail exists; this is the SQLite notice",
)
def test_sqlite_says_there_is_no_trail(client, admin):
    response = client.get(EVENTS)

    assert response.status_code == 200
    assert b'data-testid="audit-unsupported"' in response.content


@requires_trail
def test_list_shows_before_and_after_and_filters_by_record(client, admin):
    customer = CustomerFactory(name="Acme")
    other = CustomerFactory(name="Other")
    with audit_context(source="system", user=admin.pk):
        Customer.objects.filter(pk=customer.pk).update(name="Acme GmbH")

    response = client.get(
        EVENTS, {"record_type": "customers.Customer", "record_id": str(customer.pk)}
    )

    rows = response.context["rows"]
    assert [row.action for row in rows] == ["update", "insert"]
    assert ("name", "Acme", "Acme GmbH") in rows[0].changes
    assert rows[0].user == admin
    assert b"<del>Acme</del> \xe2\x86\x92 Acme GmbH" in response.content
    assert all(row.record_id == str(customer.pk) for row in rows)
    assert other.pk != customer.pk


@requires_trail
def test_list_filters_by_source_and_time(client, admin):
    with audit_context(source="task", task="kpis.tasks.compute_open_periods"):
        by_task = CustomerFactory()
    CustomerFactory()

    tasks_only = client.get(
        EVENTS, {"source": "task", "record_type": "customers.Customer"}
    ).context["rows"]
    future = client.get(EVENTS, {"since": "2999-01-01"}).context["rows"]

    assert {row.detail for row in tasks_only} == {"task: kpis.tasks.compute_open_periods"}
    assert {row.record_id for row in tasks_only} == {str(by_task.pk)}
    assert future == []


@requires_trail
def test_page_queries_do_not_grow_with_rows(client, admin):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(EVENTS).status_code == 200
        return len(captured)

    with audit_context(source="system", user=admin.pk):
        CustomerFactory.create_batch(2)
    few = count_queries()
    with audit_context(source="system", user=UserFactory().pk):
        CustomerFactory.create_batch(30)
    many = count_queries()

    # session, user, count, page, users of the page — and the same with 2 or 60 events
    assert few == many


@requires_trail
def test_export_xlsx_and_csv_hold_every_filtered_event(client, admin):
    CustomerFactory.create_batch(3)

    csv_response = client.get(EVENTS, {"format": "csv", "record_type": "customers.Customer"})
    xlsx_response = client.get(EVENTS, {"format": "xlsx", "record_type": "customers.Customer"})

    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Time", "Record type", "Record id", "Action"]
    assert len(rows) == 1 + 3
    assert {row[3] for row in rows[1:]} == {"insert"}
    assert xlsx_response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_sign_in_page_queries_do_not_grow_with_rows(client, admin):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SIGN_INS).status_code == 200
        return len(captured)

    audit_event_record(kind="sign_in_failed", username="a")
    few = count_queries()
    for number in range(40):
        audit_event_record(kind="sign_in", user=UserFactory(username=f"u{number}"))
    many = count_queries()

    assert few == many

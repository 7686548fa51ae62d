"""The annotation admin writes through reports.services (annotation_create / _update / _delete), so
the services' permission rule and audit actor hold in the admin too."""

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from reports import admin as report_admin
from reports import services
from reports.models import Annotation
from tests.customers.factories import UserFactory
from tests.reports.conftest import SEND_TIME

pytestmark = pytest.mark.django_db

PERIOD_NOTE = {
    "kpi": "revenue",
    "granularity": "month",
    "starts_on": "2026-03-01",
    "ends_on": "",
    "kind": "price_change",
    "text": "New price list",
}


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def root(people):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def spy(monkeypatch, name):
    calls = []
    real = getattr(services, name)

    def recorded(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(report_admin, name, recorded)
    return calls


@time_machine.travel(SEND_TIME, tick=False)
def test_adding_changing_and_deleting_go_through_the_services(root, monkeypatch):
    created = spy(monkeypatch, "annotation_create")
    updated = spy(monkeypatch, "annotation_update")
    deleted = spy(monkeypatch, "annotation_delete")
    browser = logged_in(root)

    assert browser.post("/admin/reports/annotation/add/", PERIOD_NOTE).status_code == 302
    note = Annotation.objects.get()
    change = {**PERIOD_NOTE, "starts_on": "2026-02-01", "text": "Old price list"}
    assert browser.post(f"/admin/reports/annotation/{note.pk}/change/", change).status_code == 302
    confirm = {"post": "yes"}
    assert browser.post(f"/admin/reports/annotation/{note.pk}/delete/", confirm).status_code == 302

    assert [call["actor"] for call in (*created, *updated, *deleted)] == [root, root, root]
    # The change was resolved by the service: February's period, its last day filled in.
    assert (str(updated[0]["period_start"]), updated[0]["text"]) == ("2026-02-01", "Old price list")
    assert not Annotation.objects.exists()


@time_machine.travel(SEND_TIME, tick=False)
def test_staff_without_the_manager_role_may_not_annotate_in_the_admin(people):
    # Staff with the model permission, but not a manager: annotation_create's rule refuses.
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_annotation", "view_annotation"])
    )

    response = logged_in(clerk).post("/admin/reports/annotation/add/", PERIOD_NOTE)

    assert response.status_code == 403
    assert not Annotation.objects.exists()

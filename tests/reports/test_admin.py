"""The reports admin: the settings shown, the test-digest action, the annotation form rules."""

import pytest
import time_machine
from django.core import mail
from django.test import Client

from reports.digests import digest_subscription_create
from reports.models import Annotation, DigestSendLog
from tests.customers.factories import UserFactory
from tests.reports.conftest import SEND_TIME

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(people) -> Client:
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin_user)
    return browser


def test_subscription_list_shows_send_hour_and_sender(admin_client, settings):
    settings.DIGEST_SEND_HOUR = 6

    response = admin_client.get("/admin/reports/digestsubscription/")

    assert response.status_code == 200
    assert "daily at 6:00" in response.content.decode()
    assert "digests@example.com" in response.content.decode()


@time_machine.travel(SEND_TIME, tick=False)
def test_send_a_test_digest_to_me_now(admin_client, snapshots):
    subscription = digest_subscription_create(
        user=snapshots["ann"], frequency="monthly", scope="own", kpi_keys=["revenue"]
    )

    response = admin_client.post(
        "/admin/reports/digestsubscription/",
        {"action": "send_test_digest_to_me", "_selected_action": [subscription.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [message.to for message in mail.outbox] == [["root@example.com"]]
    assert "1 test digest sent" in response.content.decode()
    assert not DigestSendLog.objects.exists()


@time_machine.travel(SEND_TIME, tick=False)
def test_the_annotation_form_refuses_a_future_period(admin_client):
    response = admin_client.post(
        "/admin/reports/annotation/add/",
        {
            "kpi": "revenue",
            "granularity": "month",
            "starts_on": "2026-05-01",
            "ends_on": "",
            "kind": "note",
            "text": "Later",
        },
    )

    assert response.status_code == 200
    assert "is in the future" in response.content.decode()
    assert not Annotation.objects.exists()


@time_machine.travel(SEND_TIME, tick=False)
def test_the_annotation_form_fills_the_period_end(admin_client):
    response = admin_client.post(
        "/admin/reports/annotation/add/",
        {
            "kpi": "revenue",
            "granularity": "month",
            "starts_on": "2026-03-01",
            "ends_on": "",
            "kind": "price_change",
            "text": "New price list",
        },
    )

    assert response.status_code == 302
    note = Annotation.objects.get()
    assert (str(note.starts_on), str(note.ends_on)) == ("2026-03-01", "2026-03-31")
    assert note.created_by is not None
    assert note.created_by.username == "root"

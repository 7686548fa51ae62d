"""The unsubscribe link works without login: GET confirms, POST (with its CSRF token) stops it."""

import pytest
import time_machine
from django.core import mail
from django.test import Client

from reports.digests import digest_subscription_create, unsubscribe_url
from reports.tasks import send_due_digests
from tests.reports.conftest import SEND_TIME, SITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(people):
    return digest_subscription_create(
        user=people["ann"], frequency="monthly", scope="own", kpi_keys=["revenue"]
    )


def test_anonymous_get_confirms_and_post_unsubscribes(subscription):
    browser = Client(enforce_csrf_checks=True)
    path = unsubscribe_url(subscription).removeprefix(SITE)

    page = browser.get(path)
    assert page.status_code == 200
    assert b"Unsubscribe" in page.content
    subscription.refresh_from_db()
    assert subscription.is_active  # a GET (link preview, scanner) changes nothing

    done = browser.post(path, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert done.status_code == 200
    assert b'data-testid="unsubscribed"' in done.content
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.unsubscribed_at is not None


def test_post_without_csrf_token_is_refused(subscription):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(unsubscribe_url(subscription).removeprefix(SITE))

    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.is_active


def test_an_unknown_token_is_a_404(people):
    response = Client().get("/reports/unsubscribe/not-a-token/")

    assert response.status_code == 404
    assert b"not valid" in response.content


def test_an_unsubscribed_user_gets_no_digest(subscription, snapshots):
    Client().post(unsubscribe_url(subscription).removeprefix(SITE))

    with time_machine.travel(SEND_TIME, tick=False):
        send_due_digests.delay().get()

    assert mail.outbox == []


def test_the_digest_carries_the_unsubscribe_link(subscription, snapshots):
    with time_machine.travel(SEND_TIME, tick=False):
        send_due_digests.delay().get()

    (message,) = mail.outbox
    assert unsubscribe_url(subscription) in message.body
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url(subscription)}>"

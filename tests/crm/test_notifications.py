"""In-app notifications and their e-mail copy, sent after commit by a Celery task."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import Notification
from crm.notifications import (
    notification_create,
    notification_email_deliver,
    notification_mark_read,
    notifications_create,
)
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_notification_is_stored_and_emailed_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory(email="rep@example.com")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notification_create(
            user=user,
            kind="assignment",
            title="Lead assigned to you",
            body="ACME GmbH",
            link="/sales/leads/1/",
        )
        assert len(mail.outbox) == 0  # nothing leaves before the commit

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rep@example.com"]
    assert message.subject == "[Pulse CRM] Lead assigned to you"
    assert "ACME GmbH" in message.body
    assert "/sales/leads/1/" in message.body
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.read_at is None


def test_rolled_back_action_sends_nothing(django_capture_on_commit_callbacks):
    user = UserFactory(email="rep@example.com")

    def failing_action():
        with transaction.atomic():
            notification_create(user=user, kind="system", title="Hello")
            raise RuntimeError("the surrounding action failed")

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            failing_action()

    assert Notification.objects.count() == 0
    assert len(mail.outbox) == 0


def test_the_email_task_never_sends_twice():
    notification = notification_create(
        user=UserFactory(email="a@example.com"), kind="system", title="Once", send_email=False
    )

    first = notification_email_deliver(notification_id=notification.pk)
    second = notification_email_deliver(notification_id=notification.pk)

    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1


def test_users_without_email_get_only_the_in_app_notification(django_capture_on_commit_callbacks):
    with_email, without = UserFactory(email="b@example.com"), UserFactory(email="")

    with django_capture_on_commit_callbacks(execute=True):
        created = notifications_create(
            users=[with_email, without, with_email], kind="task_due", title="Call back"
        )

    assert len(created) == 2  # the duplicate recipient is collapsed
    assert len(mail.outbox) == 1


def test_refuses_unknown_kind_and_empty_title():
    user = UserFactory()

    with pytest.raises(ValidationError):
        notification_create(user=user, kind="gossip", title="x")
    with pytest.raises(ValidationError):
        notification_create(user=user, kind="system", title="  ")

    assert Notification.objects.count() == 0


def test_mark_read_is_idempotent():
    notification = notification_create(
        user=UserFactory(), kind="system", title="Read me", send_email=False
    )

    notification_mark_read(notification=notification)
    first_read = notification.read_at
    notification_mark_read(notification=notification)

    assert first_read is not None
    assert notification.read_at == first_read
    assert notification.is_read

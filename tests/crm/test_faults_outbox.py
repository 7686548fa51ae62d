# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The task outbox (crm.outbox): the task is recorded with the write, sent after commit and
never before, kept when the broker is down, sent later by the beat task, never mailed twice."""

import datetime as dt
import io

import pytest
import redis
from django.core import mail
from django.db import transaction
from django.utils import timezone

from crm.models import OutboxMessage
from crm.outbox import outbox_deliver_pending
from support.models import TicketMessage
from support.services import ticket_create, ticket_reply_send
from tests.crm.faults import REDIS_PORTS, celery_broker
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(minutes=2)


@pytest.fixture
def ticket():
    return ticket_create(
        customer=CustomerFactory(email="ada@example.com"), subject="Invoice", body="Help"
    )


@pytest.fixture
def agent():
    return UserFactory(role="Support agent")


@pytest.fixture
def broker_down():
    """Celery pointed at a port where no Redis listens (from the top of the range: the
    redis-server tests start theirs from the bottom)."""
    for port in reversed(REDIS_PORTS):
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
        except redis.exceptions.ConnectionError:
            with celery_broker(f"redis://127.0.0.1:{port}/0"):
                yield
            return
    pytest.skip("no closed port in 6390–6399")


def test_a_rolled_back_reply_leaves_no_task_and_no_mail(
    ticket, agent, django_capture_on_commit_callbacks
):
    def reply_then_fail() -> None:
        with transaction.atomic():
            ticket_reply_send(ticket=ticket, body="Draft", author_user=agent)
            raise RuntimeError("the surrounding action fails")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            reply_then_fail()

    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_the_task_is_sent_on_commit_never_before(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = ticket_reply_send(ticket=ticket, body="On it", author_user=agent)

    # recorded with the reply, not sent: the transaction has not committed yet
    row = OutboxMessage.objects.get()
    assert (row.task, row.kwargs, row.sent_at) == (
        "support.tasks.ticket_reply_email_send_task",
        {"message_id": message.pk},
        None,
    )
    assert mail.outbox == []

    for callback in callbacks:  # the commit
        callback()

    row.refresh_from_db()
    assert row.sent_at is not None
    assert row.attempts == 1
    assert [email.to for email in mail.outbox] == [["ada@example.com"]]


def test_broker_down_keeps_the_task_waiting_without_an_error(
    ticket, agent, broker_down, django_capture_on_commit_callbacks
):
    # given: the broker is down when the reply commits
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply_send(ticket=ticket, body="On it", author_user=agent)
    row = OutboxMessage.objects.get()
    assert row.sent_at is None
    assert row.attempts == 1
    assert "Connection refused" in row.last_error
    # and beat, while the broker is still down, leaves it waiting
    assert outbox_deliver_pending(now=timezone.now() + LATER) == 0
    row.refresh_from_db()
    assert (row.sent_at, row.attempts) == (None, 2)
    assert mail.outbox == []


def test_beat_sends_waiting_tasks_once(ticket, agent, django_capture_on_commit_callbacks):
    # given: a reply whose after-commit publish never happened (broker down, process gone)
    with django_capture_on_commit_callbacks(execute=False):
        message = ticket_reply_send(ticket=ticket, body="On it", author_user=agent)

    # a row younger than OUTBOX_RESEND_AFTER_SECONDS waits for its own after-commit publish
    assert outbox_deliver_pending() == 0
    # later, beat sends it (tasks run in-process in tests, as without a broker)
    assert outbox_deliver_pending(now=timezone.now() + LATER) == 1
    assert len(mail.outbox) == 1
    assert outbox_deliver_pending(now=timezone.now() + LATER) == 0
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.email_message_id


def test_a_task_published_twice_mails_once(ticket, agent, django_capture_on_commit_callbacks):
    # given: the reply was mailed, but the process died before marking its row sent
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply_send(ticket=ticket, body="On it", author_user=agent)
    OutboxMessage.objects.update(sent_at=None)

    # when beat publishes it again
    assert outbox_deliver_pending(now=timezone.now() + LATER) == 1

    # then the task sees the reply already mailed (its Message-ID is stored)
    assert len(mail.outbox) == 1
    assert TicketMessage.objects.exclude(email_message_id="").count() == 1


def test_sent_rows_are_pruned_after_the_keep_days(settings):
    settings.OUTBOX_KEEP_DAYS = 7
    now = timezone.now()
    OutboxMessage.objects.create(task="crm.tasks.outbox_deliver_pending_task", sent_at=now)
    old = OutboxMessage.objects.create(
        task="crm.tasks.outbox_deliver_pending_task", sent_at=now - dt.timedelta(days=8)
    )

    outbox_deliver_pending(now=now)

    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
    assert OutboxMessage.objects.count() == 1


def test_crm_schedule_installs_the_outbox_beat_entry():
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("crm_schedule", stdout=io.StringIO())
    call_command("crm_schedule", stdout=io.StringIO())  # idempotent

    entry = PeriodicTask.objects.get(task="crm.tasks.outbox_deliver_pending_task")
    assert (entry.crontab.minute, entry.expire_seconds) == ("*", 50)

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""Redis goes down mid-test (issue 14, item 11): a real redis-server of the test's own is the
broker and the cache; it is stopped while an agent replies, and started again.

The reply is saved and the pages answer 200 while Redis is away (the cache fails open, the
reply's e-mail task waits in the outbox); when Redis is back the outbox beat task sends it and a
real Celery worker (in a thread of this process, so the locmem mailbox is visible) e-mails it,
exactly once.
"""

import datetime as dt
import logging
import shutil
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crm import cache as crm_cache
from crm.models import OutboxMessage
from crm.tasks import outbox_deliver_pending_task
from support.models import TicketMessage
from support.services import ticket_create
from surveys.models import SurveyInvitation
from tests.crm.faults import celery_broker, free_redis_server
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.surveys.factories import SurveyInvitationFactory

# serialized_rollback: the role groups created by a migration survive the flushes of the
# transactional tests before this one.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = free_redis_server()
    yield server
    server.stop()


@pytest.fixture
def redis_backed(settings, redis_server):
    """The Django cache and the Celery broker on the test's own Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "crm.cache.FailOpenRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.OUTBOX_RESEND_AFTER_SECONDS = 0
    with celery_broker(redis_server.url) as app:
        yield app


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_a_reply_written_while_redis_is_down_is_saved_and_mailed_once_redis_is_back(
    client, redis_server, redis_backed, caplog, monkeypatch
):
    # The worker's logging setup replaces the root handlers: listen on our loggers directly.
    for name in ("crm.outbox", "crm.cache"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [caplog.handler])
    monkeypatch.setitem(crm_cache._last_warning, "at", -crm_cache.WARN_EVERY_SECONDS)
    # given: an agent, a ticket of their team from a customer with an address, a survey link
    agent = UserFactory(role="Support agent")
    team = TeamFactory(name="Helpdesk")
    team.members.add(agent)
    ticket = ticket_create(
        customer=CustomerFactory(email="ada@example.com"),
        subject="Broken invoice",
        body="Please help",
        team=team,
    )
    invitation = SurveyInvitationFactory(
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=14),
    )
    client.force_login(agent)
    reply_url = reverse("support:ticket_message", kwargs={"pk": ticket.pk})

    with start_worker(redis_backed, perform_ping_check=False, shutdown_timeout=30):
        # Redis up: the reply is mailed through the broker and the worker
        assert client.post(reply_url, {"body": "First answer", "kind": "reply"}).status_code == 302
        wait_for(lambda: len(mail.outbox) == 1)

        # when: Redis stops, and the agent replies again
        redis_server.stop()
        response = client.post(reply_url, {"body": "Second answer", "kind": "reply"})

        # then: the reply is saved, nothing answers 500, its e-mail task waits in the outbox
        assert response.status_code == 302
        # The newest message of the ticket (the body is encrypted: no lookup by its text).
        second = TicketMessage.objects.filter(ticket=ticket).latest("pk")
        assert second.body == "Second answer"
        assert second.email_message_id == ""
        ticket_url = reverse("support:ticket_detail", kwargs={"pk": ticket.pk})
        assert client.get(ticket_url).status_code == 200
        assert client.get("/api/v1/tickets/").status_code == 200
        client.force_login(UserFactory(role="Manager"))
        assert client.get(reverse("imports:upload")).status_code == 200
        client.logout()
        answer_url = reverse("survey_public:answer", kwargs={"token": invitation.token})
        assert client.get(answer_url).status_code == 200
        pending = OutboxMessage.objects.get(sent_at__isnull=True)
        assert pending.task == "support.tasks.ticket_reply_email_send_task"
        assert pending.kwargs == {"message_id": second.pk}
        assert pending.attempts == 1
        assert len(mail.outbox) == 1
        # both outages are logged
        assert "broker unavailable, support.tasks.ticket_reply_email_send_task" in caplog.text
        assert "cache unavailable, failing open" in caplog.text

        # when: Redis is back and the outbox beat task runs
        redis_server.start()
        assert outbox_deliver_pending_task() == 1

        # then: the worker (reconnected) mails the second reply
        wait_for(lambda: len(mail.outbox) == 2)
        assert mail.outbox[1].to == ["ada@example.com"]
        assert "Second answer" in mail.outbox[1].body
        # The task records the Message-ID after sending: wait for that write, not only the mail.
        wait_for(lambda: TicketMessage.objects.get(pk=second.pk).email_message_id != "")

        # and a second beat run sends nothing again: no double e-mail
        assert outbox_deliver_pending_task() == 0
        time.sleep(1)
        assert len(mail.outbox) == 2
        assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()

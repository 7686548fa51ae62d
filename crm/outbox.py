"""The task outbox: a write that needs a Celery task records it in its own transaction.

`task_send_on_commit` writes an OutboxMessage row next to the write (so both commit or neither
does) and publishes the task right after commit. With the broker unreachable the publish fails
fast, is logged, and the row waits; `outbox_deliver_pending` (a beat task) sends the waiting rows
once the broker is back. The web request never sees the broker's error, and no e-mail is lost.
Tasks sent this way must be idempotent: a row may be published twice after a crash between the
publish and marking it sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.models import OutboxMessage

logger = logging.getLogger(__name__)

DELIVER_BATCH = 500


def _task_name(task: Any) -> str:
    return task if isinstance(task, str) else str(task.name)


def tasks_send_on_commit(
    task: Any, calls: Iterable[tuple[Iterable[Any], dict[str, Any]]]
) -> list[OutboxMessage]:
    """Record one outbox row per (args, kwargs) in the current transaction; publish after commit."""
    name = _task_name(task)
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(task=name, args=list(args), kwargs=dict(kwargs)) for args, kwargs in calls
    )
    ids = [message.pk for message in messages]
    if ids:
        transaction.on_commit(partial(_publish_many, ids))
    return messages


def task_send_on_commit(task: Any, *args: Any, **kwargs: Any) -> OutboxMessage:
    """`task.delay(*args, **kwargs)` after commit, kept in the outbox until the broker took it."""
    return tasks_send_on_commit(task, [(args, kwargs)])[0]


def _publish_many(message_ids: list[int]) -> None:
    for message in OutboxMessage.objects.filter(pk__in=message_ids, sent_at__isnull=True):
        if not outbox_message_publish(message=message):
            # The broker is down: the rest would fail the same way; beat sends them later.
            break


def outbox_message_publish(*, message: OutboxMessage) -> bool:
    """Publish one row's task and mark it sent; False (row left pending) when the broker is down.

    apply_async, not send_task: without REDIS_URL the task then runs eagerly in-process, as
    every other task does. retry=False: a request must not wait on kombu's reconnect loop;
    ignore_result: nothing reads these results, and the Redis result backend would otherwise
    retry its own connection for 20 s before failing.
    """
    task = current_app.tasks[message.task]
    try:
        task.apply_async(args=message.args, kwargs=message.kwargs, retry=False, ignore_result=True)
    except Exception as exc:
        # The write has committed: whatever the broker client raises (kombu's
        # OperationalError, redis errors, a pool in a bad state), the request must not turn
        # into a 500 for it. Eager mode has no broker: a task's own error propagates as ever.
        if current_app.conf.task_always_eager:
            raise
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, last_error=repr(exc)[:2000]
        )
        logger.warning("broker unavailable, %s kept in the outbox: %r", message, exc)
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )
    return True


def outbox_deliver_pending(*, now: dt.datetime | None = None) -> int:
    """Send the rows the after-commit publish could not (broker down); returns how many went.

    Only rows older than OUTBOX_RESEND_AFTER_SECONDS, so a publish still on its way right after
    commit is not doubled. Each row is locked (skip_locked) so two beat runs never send it twice.
    Also prunes sent rows older than OUTBOX_KEEP_DAYS.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX_RESEND_AFTER_SECONDS)
    pending = list(
        OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:DELIVER_BATCH]
    )
    sent = 0
    for message_id in pending:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, sent_at__isnull=True)
                .first()
            )
            if message is None:
                continue
            if not outbox_message_publish(message=message):
                break
            sent += 1
    OutboxMessage.objects.filter(
        sent_at__lt=now - dt.timedelta(days=settings.OUTBOX_KEEP_DAYS)
    ).delete()
    return sent

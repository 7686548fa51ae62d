"""Entry points that are not requests: sign-in signals and Celery tasks."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from axes.signals import user_locked_out
from celery.signals import task_postrun, task_prerun
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import TASK, audit_context
from audit.services import audit_event_record

_task_contexts: dict[str, ExitStack] = {}


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_event_record(kind="sign_in", user=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_event_record(kind="sign_out", user=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # The credentials are already cleansed by Django (no password); only the name is kept.
    audit_event_record(
        kind="sign_in_failed", username=str(credentials.get("username", "")), request=request
    )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender: Any, request: Any, username: str, **kwargs: Any) -> None:
    audit_event_record(kind="locked_out", username=str(username or ""), request=request)


@task_prerun.connect(dispatch_uid="audit_task_start")
def _task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    stack = ExitStack()
    stack.enter_context(audit_context(source=TASK, task=task.name))
    _task_contexts[task_id] = stack


@task_postrun.connect(dispatch_uid="audit_task_end")
def _task_finished(task_id: str, **kwargs: Any) -> None:
    stack = _task_contexts.pop(task_id, None)
    if stack is not None:
        stack.close()

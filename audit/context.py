"""Who is changing data, and through which door: the context every audit event records.

Each entry point sets it once: the web/admin/API middleware (`audit.middleware`), the API's token
authentication (DRF authenticates inside the view, after the middleware), the import engine,
Celery tasks (`audit.signals`), and the services that take an `actor` (`actor_context`).

The trail itself is written by PostgreSQL triggers (django-pghistory). The context reaches them
as transaction-local settings that pghistory prepends to each write statement. SQLite has no
triggers and no `set_config`, so there the context is a no-op and no trail is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import pghistory
from django.db import connection
from pghistory import runtime

# Where a change came from (the `source` of an event).
WEB = "web"
API = "api"
ADMIN = "admin"
IMPORT = "import"
TASK = "task"
SYSTEM = "system"
SOURCES = (WEB, API, ADMIN, IMPORT, TASK, SYSTEM)

F = TypeVar("F", bound=Callable[..., Any])


def trail_supported() -> bool:
    """The trail needs PostgreSQL triggers; the zero-setup SQLite database has none."""
    return connection.vendor == "postgresql"


@contextmanager
def audit_context(**metadata: Any) -> Iterator[None]:
    """Record `metadata` (source, user, token, import_run, task) on the writes made inside.

    Nested contexts add to the outer one and restore it on exit, so an eager task run inside a
    web request does not leave "task" on the request's later writes.
    """
    if not trail_supported():
        yield
        return
    current = getattr(runtime._tracker, "value", None)
    if current is None:
        # Outside any entry point (the shell, a management command): a system write.
        metadata.setdefault("source", SYSTEM)
        with pghistory.context(**metadata):
            yield
        _forget_in_transaction()
        return
    saved = dict(current.metadata)
    current.metadata.update(metadata)
    try:
        yield
    finally:
        current.metadata.clear()
        current.metadata.update(saved)


def _forget_in_transaction() -> None:
    """pghistory's settings last until the transaction ends; a transaction that goes on after
    the context (a management command's atomic block, a test) must not lend it to later writes."""
    if connection.in_atomic_block and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pghistory.context_id', '', true), "
                "set_config('pghistory.context_metadata', '', true)"
            )


def audit_context_update(**metadata: Any) -> None:
    """Add to the context already entered (the API's token, known only after DRF authenticates)."""
    if trail_supported() and getattr(runtime._tracker, "value", None) is not None:
        runtime._tracker.value.metadata.update(metadata)


def actor_metadata(actor: Any) -> dict[str, Any]:
    """The context of an acting user; nothing for `None` (a system write keeps its own source)."""
    if actor is None or getattr(actor, "pk", None) is None:
        return {}
    return {"user": actor.pk}


def actor_context(func: F) -> F:
    """Make a service's `actor` argument the audit context of the writes it makes.

    The web, API and admin already name their user; this covers the shell, tasks and other
    callers that pass an actor without a request.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        metadata = actor_metadata(kwargs.get("actor"))
        if not metadata:
            return func(*args, **kwargs)
        with audit_context(**metadata):
            return func(*args, **kwargs)

    return cast(F, wrapper)

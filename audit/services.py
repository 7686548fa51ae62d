"""Writes of the audit app: sign-in events and pruning by the retention period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.context import trail_supported
from audit.middleware import request_source
from audit.models import BASELINE, TRACKED, AuthEvent
from audit.selectors import event_model_for, event_models
from crm.client_address import client_address_or_none


def audit_event_record(
    *,
    kind: str,
    user: Any = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> AuthEvent:
    """Record a sign-in event (`AuthEvent.Kind`): signed in, failed, signed out or locked out.

    The one entry point for authentication events, also for the lock-out handler.
    """
    if kind not in AuthEvent.Kind.values:
        raise ValueError(f"Unknown sign-in event kind {kind!r}")
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if not username and user is not None:
        username = user.get_username()
    return AuthEvent.objects.create(
        kind=kind,
        user=user,
        username=username[:150],
        # The address the trusted proxies saw, as the lock-out and the throttles key on it.
        ip_address=client_address_or_none(request) if request is not None else None,
        source=request_source(request) if request is not None else "system",
    )


def audit_prune(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Delete audit and sign-in events older than the retention period; returns how many."""
    days = settings.CRM_AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    with transaction.atomic():
        deleted += AuthEvent.objects.filter(occurred_at__lt=cutoff).delete()[0]
        if trail_supported():
            with connection.cursor() as cursor:
                for event_model in event_models():
                    # Raw delete: the event tables have no dependants and may be large.
                    cursor.execute(
                        f'DELETE FROM "{event_model._meta.db_table}" WHERE pgh_created_at < %s',
                        [cutoff],
                    )
                    deleted += cursor.rowcount
    return deleted


def audit_baseline() -> int:
    """Record the current state of every tracked row that has no event yet (label "baseline").

    Rows written before the triggers were installed (an existing database, a data migration)
    would otherwise show only the new values at their first change. Idempotent: a row with any
    event is skipped. Returns the number of rows recorded.
    """
    if not trail_supported():
        return 0
    recorded = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for tracked, _event_name, _options in TRACKED:
            event_model = event_model_for(tracked)
            columns = [
                field.column
                for field in event_model._meta.concrete_fields
                if not field.name.startswith("pgh_")
            ]
            copied = ", ".join(f'"{column}"' for column in columns)
            source = ", ".join(f'tracked."{column}"' for column in columns)
            event_table = event_model._meta.db_table
            pk_column = tracked._meta.pk.column  # type: ignore[union-attr]
            cursor.execute(
                f'INSERT INTO "{event_table}" ({copied}, pgh_obj_id, pgh_label, pgh_created_at,'
                f" pgh_context)"
                f' SELECT {source}, tracked."{pk_column}", %s, CLOCK_TIMESTAMP(),'
                f" %s::jsonb"
                f' FROM "{tracked._meta.db_table}" tracked'
                f' WHERE NOT EXISTS (SELECT 1 FROM "{event_table}" event'
                f' WHERE event.pgh_obj_id = tracked."{pk_column}")',
                [BASELINE, '{"source": "system", "task": "audit_baseline"}'],
            )
            recorded += cursor.rowcount
    return recorded

"""Reads of the audit trail: the event list across the tracked models, and sign-in events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet

from audit.models import TRACKED, AuditEvent, AuthEvent


def event_models() -> list[type[models.Model]]:
    """The event model of each tracked model, in `TRACKED` order."""
    return [apps.get_model("audit", event_name) for _model, event_name, _options in TRACKED]


def record_types() -> list[tuple[str, str]]:
    """(label, verbose name) of each tracked model, for the record type filter."""
    return [
        (model._meta.label, str(model._meta.verbose_name).capitalize())
        for model, _event_name, _options in TRACKED
    ]


@dataclass(frozen=True)
class EventFilters:
    record_type: str = ""
    record_id: str = ""
    user_id: int | None = None
    source: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_event_list(*, filters: EventFilters) -> QuerySet[AuditEvent]:
    """Events newest first. Only PostgreSQL holds a trail (see `audit.context`).

    With a record type only that model's event table is read, which keeps the query small.
    """
    if filters.record_type:
        chosen = [
            apps.get_model("audit", event_name)
            for model, event_name, _options in TRACKED
            if model._meta.label == filters.record_type
        ]
    else:
        chosen = event_models()
    events = AuditEvent.objects.across(*chosen)
    if filters.record_id:
        events = events.filter(pgh_obj_id=filters.record_id)
    if filters.user_id is not None:
        events = events.filter(user_id=filters.user_id)
    if filters.source:
        events = events.filter(source=filters.source)
    if filters.since is not None:
        events = events.filter(pgh_created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(pgh_created_at__lt=filters.until)
    return events.order_by("-pgh_created_at", "-pgh_id")


def auth_event_list(*, filters: EventFilters) -> QuerySet[AuthEvent]:
    events = AuthEvent.objects.select_related("user")
    if filters.user_id is not None:
        events = events.filter(user_id=filters.user_id)
    if filters.source:
        events = events.filter(source=filters.source)
    if filters.since is not None:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(occurred_at__lt=filters.until)
    return events


def event_changes(event: AuditEvent) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of an event: every value for a create (before empty) or a delete
    (after empty), only the changed fields for an update. An update of a record written before the
    trail was installed has no earlier event to compare with: its values show as after only."""
    if event.pgh_label == "update" and event.pgh_diff is not None:
        return [(name, values[0], values[1]) for name, values in sorted(event.pgh_diff.items())]
    data = event.pgh_data or {}
    if event.pgh_label == "delete":
        return [(name, value, None) for name, value in sorted(data.items())]
    return [(name, None, value) for name, value in sorted(data.items())]


def _field_labels(model_label: str) -> dict[str, str]:
    """Column name → verbose name of a tracked model's fields (the trail stores column names)."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        return {}
    return {
        field.column: str(field.verbose_name)
        for field in model._meta.concrete_fields  # type: ignore[misc]
    }


def _readable(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


@dataclass(frozen=True)
class EventRow:
    """One event as the page and the export show it."""

    time: dt.datetime
    record_type: str
    record_model: str
    record_id: str
    action: str
    user: Any
    source: str
    detail: str
    changes: list[tuple[str, str, str]]

    def changes_text(self) -> str:
        return "; ".join(f"{name}: {before} → {after}" for name, before, after in self.changes)


def event_rows(events: Any) -> list[EventRow]:
    """Readable rows for a page of events: field names by their labels, the acting users loaded
    with one query."""
    events = list(events)
    user_ids = {event.user_id for event in events if event.user_id is not None}
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    labels: dict[str, dict[str, str]] = {}
    verbose = dict(record_types())
    rows = []
    for event in events:
        names = labels.setdefault(event.pgh_obj_model, _field_labels(event.pgh_obj_model))
        details = [
            f"{key}: {value}"
            for key, value in (
                ("token", event.token),
                ("import", event.import_run),
                ("task", event.task),
            )
            if value
        ]
        rows.append(
            EventRow(
                time=event.pgh_created_at,
                record_type=verbose.get(event.pgh_obj_model, event.pgh_obj_model),
                record_model=event.pgh_obj_model,
                record_id=event.pgh_obj_id or "",
                action=event.pgh_label,
                user=users.get(event.user_id),
                source=event.source or "",
                detail=", ".join(details),
                changes=[
                    (names.get(name, name), _readable(before), _readable(after))
                    for name, before, after in event_changes(event)
                ],
            )
        )
    return rows

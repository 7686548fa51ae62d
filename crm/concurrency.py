"""Two people editing one record: the second save is refused instead of overwriting the first.

A form carries the record's edit version (its `updated_at` when the form was opened) in a hidden
field; the service compares it with the row it has locked (`select_for_update`) before writing.
On a mismatch the save is refused with who changed the record and when, and the view shows the
form again with the person's input kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from audit.context import trail_supported
from audit.selectors import record_history_events

# Name of the hidden form field; services take it as the keyword argument `seen_version`.
EDIT_VERSION_FIELD = "edit_version"


def edit_version(record: models.Model) -> str:
    """The version a form opened now carries: the record's `updated_at` to the microsecond."""
    stamp = getattr(record, "updated_at", None)
    return stamp.isoformat() if stamp is not None else ""


class EditVersionField(forms.CharField):
    """Hidden field holding `edit_version(record)` from when the form was opened."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


def last_change(record: models.Model) -> tuple[Any, dt.datetime | None]:
    """Who last changed `record` and when, from its latest audit event; (None, None) without a
    trail (SQLite), an audited model or an event."""
    if not trail_supported():
        return None, None
    try:
        event = record_history_events(record).first()
    except LookupError:  # a model the trail does not track
        return None, None
    if event is None:
        return None, None
    user_id = getattr(event, "user_id", None)
    editor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return editor, event.pgh_created_at


def stale_edit_error(record: models.Model, stamp: dt.datetime | None = None) -> ValidationError:
    """The refusal of a save over `record` changed since its form was opened: who (from the
    audit trail) and when (`stamp`, else the time of the latest audit event)."""
    editor, changed_at = last_change(record)
    changed_at = stamp or changed_at
    when = formats.date_format(timezone.localtime(changed_at), "H:i") if changed_at else ""
    if editor is not None and when:
        name = editor.get_full_name() or editor.get_username()
        message = _("Changed by %(name)s at %(time)s since you opened it.") % {
            "name": name,
            "time": when,
        }
    elif when:
        message = _("Changed by someone else at %(time)s since you opened it.") % {"time": when}
    else:
        message = _("Changed by someone else since you opened it.")
    return ValidationError(
        message + " " + _("Your input is kept below: check it against the saved record."),
        code="stale",
    )


def edit_conflict_check(record: models.Model, seen_version: str | None) -> None:
    """Raise a ValidationError when `record` (freshly read, locked) changed since `seen_version`.

    An empty `seen_version` (API clients, imports, services called from code) skips the check:
    only a form opened by a person knows what that person saw.
    """
    if not seen_version or seen_version == edit_version(record):
        return
    raise stale_edit_error(record, getattr(record, "updated_at", None))

"""`{% record_tabs record %}`: the Files and History tabs of a record page, so each detail page
adds one line instead of new context in its view."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.db import models

from attachments.selectors import attachable, attachments_of
from audit.context import trail_supported
from audit.selectors import record_history
from crm.records import record_kind_of
from crm.roles import is_manager

register = template.Library()

# Entries shown in the tab; the history page has the rest.
HISTORY_TAB_ENTRIES = 10
ATTACHMENTS_SHOWN = 50


@register.inclusion_tag("includes/record_tabs.html", takes_context=True)
def record_tabs(context: template.Context, record: models.Model) -> dict[str, Any]:
    user = context["request"].user
    takes_files = attachable(record)
    return {
        "record": record,
        "kind": record_kind_of(record).kind,
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "attachable": takes_files,
        "attachments": list(attachments_of(record)[:ATTACHMENTS_SHOWN]) if takes_files else [],
        "can_delete_any": is_manager(user),
        "max_bytes": settings.CRM_ATTACHMENT_MAX_BYTES,
        "history_supported": trail_supported(),
        "entries": record_history(record, limit=HISTORY_TAB_ENTRIES),
    }

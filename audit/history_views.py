"""A record's history page: its changes from the audit trail, for anyone who may see it."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.context import trail_supported
from audit.selectors import history_entries, record_history_events
from crm.records import visible_record
from crm.roles import ROLES
from crm.views import role_required

HISTORY_PAGE_SIZE = 25


@role_required(*ROLES)
def record_history_page(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    record_kind, record = visible_record(request.user, kind, pk)
    supported = trail_supported()
    page_obj = None
    entries = []
    if supported:
        page_obj = Paginator(record_history_events(record), HISTORY_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        entries = history_entries(record_kind.model, list(page_obj.object_list))
    return render(
        request,
        "audit/record_history.html",
        {
            "record": record,
            "record_kind": record_kind,
            "record_url": record_kind.url(record),
            "supported": supported,
            "page_obj": page_obj,
            "entries": entries,
        },
    )

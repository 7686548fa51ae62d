"""The audit pages under /administration/audit/ (admins): the change trail, the sign-in events,
and a customer's data rights (export, anonymise)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from audit.context import trail_supported
from audit.data_rights import customer_anonymise, customer_data_export
from audit.forms import AnonymiseConfirmForm, AuditFilterForm
from audit.models import AuthEvent, DataRightsEvent
from audit.selectors import (
    audit_event_list,
    auth_event_list,
    customer_data_candidates,
    event_rows,
)
from crm.importing.export import (
    ExportColumn,
    choice_labels,
    export_format,
    export_response,
    export_rows,
)
from crm.roles import ADMIN
from crm.views import role_required
from customers.models import Customer

PAGE_SIZE = 50
EXPORT_CHUNK = 1000

EVENT_COLUMNS = [
    ExportColumn(_("Time"), "time"),
    ExportColumn(_("Record type"), "record_type"),
    ExportColumn(_("Record id"), "record_id"),
    ExportColumn(_("Action"), "action"),
    ExportColumn(_("Actor"), "user"),
    ExportColumn(_("Source"), "source"),
    ExportColumn(_("Token, import or task"), "detail"),
    ExportColumn(_("Before → after"), "changes"),
]

SIGN_IN_COLUMNS = [
    ExportColumn(_("Time"), "occurred_at"),
    ExportColumn(
        pgettext_lazy("sign-in audit", "Event"),
        "kind",
        display=choice_labels(AuthEvent.Kind.choices),
    ),
    ExportColumn(_("User name"), "username"),
    ExportColumn(_("Address"), "ip_address"),
    ExportColumn(_("Source"), "source"),
]


def _event_export_rows(events: Any) -> Iterator[list[Any]]:
    """All filtered events, a chunk of rows at a time (each chunk one query plus its users)."""
    offset = 0
    while True:
        chunk = event_rows(events[offset : offset + EXPORT_CHUNK])
        for row in chunk:
            yield [
                row.time,
                row.record_type,
                row.record_id,
                row.action,
                row.user.get_username() if row.user is not None else "",
                row.source,
                row.detail,
                row.changes_text(),
            ]
        if len(chunk) < EXPORT_CHUNK:
            return
        offset += EXPORT_CHUNK


@role_required(ADMIN)
def audit_event_page(request: HttpRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET or None)
    supported = trail_supported()
    filters = form.filters()
    file_format = export_format(request)
    if file_format is not None and supported:
        return export_response(
            rows=_event_export_rows(audit_event_list(filters=filters)),
            columns=EVENT_COLUMNS,
            filename="audit-trail",
            file_format=file_format,
        )
    page_obj = None
    rows = []
    if supported:
        page_obj = Paginator(audit_event_list(filters=filters), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = event_rows(page_obj.object_list)
    return render(
        request,
        "audit/event_list.html",
        {"form": form, "supported": supported, "page_obj": page_obj, "rows": rows},
    )


@role_required(ADMIN)
def sign_in_event_page(request: HttpRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET or None)
    events = auth_event_list(filters=form.filters())
    file_format = export_format(request)
    if file_format is not None:
        return export_response(
            rows=export_rows(events, SIGN_IN_COLUMNS),
            columns=SIGN_IN_COLUMNS,
            filename="sign-ins",
            file_format=file_format,
        )
    page_obj = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    sign_in_fields = [form[name] for name in ("user", "source", "since", "until")]
    return render(
        request,
        "audit/sign_in_list.html",
        {"form": form, "sign_in_fields": sign_in_fields, "page_obj": page_obj},
    )


@role_required(ADMIN)
def customer_data_search(request: HttpRequest) -> HttpResponseBase:
    """Find the customer whose data is requested, by id, name or e-mail."""
    query = request.GET.get("q", "").strip()
    customers = customer_data_candidates(query) if query else []
    return render(request, "audit/customer_search.html", {"query": query, "customers": customers})


@role_required(ADMIN)
def customer_data_page(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One customer's data rights: download the data, or anonymise after a confirmation."""
    customer = get_object_or_404(Customer, pk=pk)
    form = AnonymiseConfirmForm(customer_id=customer.pk)
    if request.method == "POST" and request.POST.get("action") == "export":
        archive = customer_data_export(customer=customer, actor=request.user)
        response = HttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.zip"'
        return response
    if request.method == "POST" and request.POST.get("action") == "anonymise":
        form = AnonymiseConfirmForm(request.POST, customer_id=customer.pk)
        if form.is_valid():
            customer_anonymise(customer=customer, actor=request.user)
            messages.success(request, _("The customer has been anonymised."))
            return redirect("audit:customer_data", pk=customer.pk)
    return render(
        request,
        "audit/customer_data.html",
        {
            "customer": customer,
            "form": form,
            "history": DataRightsEvent.objects.filter(customer_id=customer.pk).select_related(
                "actor"
            ),
        },
    )

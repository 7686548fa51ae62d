"""Customer pages: the list a rep starts from, its CSV/XLSX export, and the customer 360 page.

Every view starts from customers_visible_to(user), so a customer the user may not see is a 404,
and every related record comes through its own visibility selector.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.importing.export import (
    ExportColumn,
    choice_labels,
    export_format,
    export_response,
    export_rows,
)
from crm.roles import ADMIN, MANAGER, ROLES, SALES_REP, is_admin, user_roles
from crm.saved_view_views import with_default_view
from crm.views import role_required
from customers.forms import customer_filter_for
from customers.models import Customer
from customers.selectors import customers_listed_to, customers_visible_to
from kpis.activity import ActivityRules, lifecycle_status_at
from kpis.models import CustomerHealthSnapshot, default_bands
from predictions.selectors import customer_prediction
from sales.forms import ActivityForm
from sales.models import OpportunityStageChange, Order
from sales.selectors import activities_visible_to, opportunities_visible_to, orders_visible_to
from support.selectors import tickets_visible_to
from support.views import can_work_tickets
from surveys.models import SurveyKind, SurveyResponse
from surveys.selectors import responses_visible_to

PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 20
# Deeper timeline pages would fetch page × size rows from each source; older history is in the
# admin and the API.
TIMELINE_MAX_PAGES = 10
REVENUE_SHARE_DAYS = 365
# ?sort= value → ordering; anything else falls back to the default (name).
SORTS = {
    "name": ("name", _("Name")),
    "status": ("status", _("Status")),
    "owner": ("owner__username", _("Owner")),
    "team": ("team__name", _("Team")),
    "acquired": ("acquired_at", _("Acquired")),
    "created": ("created_at", _("Created")),
    "health": ("health_score", _("Health")),
}
DEFAULT_SORT = "name"
HEALTH_COMPONENT_LABELS = {
    "recency": _("Recency (days since the last order)"),
    "frequency": _("Frequency (order days in 12 months)"),
    "monetary": _("Monetary (net revenue in 12 months)"),
    "open_complaints": _("Open complaints"),
    "satisfaction": _("Satisfaction (last NPS/CSAT, 0–100)"),
    "engagement": _("Engagement (interactions in 90 days)"),
    "p_alive": _("Probability still active (BG/NBD, %)"),
}
FILTER_FIELDS = ("segment", "owner", "team", "channel", "status", "health_band", "rfm_segment")


def can_log_sales_work(user: Any) -> bool:
    """Reps, managers and admins write activities and orders; support agents only read here."""
    return is_admin(user) or bool(user_roles(user) & {SALES_REP, MANAGER, ADMIN})


def can_edit_customers(user: Any) -> bool:
    """Reps, managers and admins create, edit and merge customers (customers.edit_views)."""
    return is_admin(user) or bool(user_roles(user) & {SALES_REP, MANAGER})


def _ordering(sort: str) -> tuple[str, list[str]]:
    """The accepted sort key and the ORM ordering; id last so pages never overlap."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        return DEFAULT_SORT, [SORTS[DEFAULT_SORT][0], "id"]
    column = SORTS[key][0]
    return sort, [f"-{column}" if descending else column, "-id" if descending else "id"]


def _filtered_customers(request: HttpRequest, *, with_menus: bool) -> tuple[Any, str, Any]:
    """The visible customers narrowed by the filter bar and ordered: shared by list and export."""
    sort, ordering = _ordering(request.GET.get("sort", DEFAULT_SORT))
    visible = customers_listed_to(request.user)
    customer_filter = customer_filter_for(
        request.GET,
        visible=visible.select_related("owner", "team", "segment", "channel"),
        with_menus=with_menus,
    )
    return customer_filter, sort, customer_filter.qs.order_by(*ordering)


@role_required(*ROLES)
@with_default_view("customers")
def customer_list(request: HttpRequest) -> HttpResponseBase:
    file_format = export_format(request)
    customer_filter, sort, customers = _filtered_customers(request, with_menus=file_format is None)
    if file_format is not None:
        return _export(customers, file_format)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    columns = [
        {
            "key": key,
            "label": label,
            "active": sort.lstrip("-") == key,
            "descending": sort == f"-{key}",
            # Clicking the active ascending column flips it; any other column sorts ascending.
            "next_sort": f"-{key}" if sort == key else key,
        }
        for key, (_column, label) in SORTS.items()
    ]
    active_filters = [name for name in FILTER_FIELDS if request.GET.get(name)]
    return render(
        request,
        "customers/list.html",
        {
            "page_obj": page,
            "customers": page.object_list,
            "q": request.GET.get("q", "").strip(),
            "sort": sort,
            "columns": columns,
            "filter_form": customer_filter.form,
            "active_filters": active_filters,
            "health_bands": [band["name"] for band in default_bands()],
            "can_edit": can_edit_customers(request.user),
        },
    )


EXPORT_COLUMNS = (
    ExportColumn(_("Id"), "id"),
    ExportColumn(_("Name"), "name"),
    ExportColumn(_("Kind"), "kind", choice_labels(Customer.Kind.choices)),
    ExportColumn(_("Status"), "status", choice_labels(Customer.Status.choices)),
    ExportColumn(_("E-mail"), "email"),
    ExportColumn(_("Phone"), "phone"),
    ExportColumn(_("Owner"), "owner__username"),
    ExportColumn(_("Team"), "team__name"),
    ExportColumn(_("Segment"), "segment__name"),
    ExportColumn(_("Acquisition channel"), "channel__name"),
    ExportColumn(_("RFM segment"), "rfm_segment", choice_labels(Customer.RfmSegment.choices)),
    ExportColumn(_("Health score"), "health_score"),
    ExportColumn(_("Health band"), "health_band"),
    ExportColumn(_("Acquired"), "acquired_at"),
    ExportColumn(_("Churned"), "churned_at"),
    ExportColumn(_("Created"), "created_at"),
    # Last, so a file can be matched back to the import's external ids.
    ExportColumn(_("External id"), "external_id"),
)


def _export(customers: Any, file_format: str) -> HttpResponseBase:
    """The filtered, visible list as a file: every page, one query, streamed."""
    return export_response(
        rows=export_rows(customers, EXPORT_COLUMNS),
        columns=EXPORT_COLUMNS,
        filename="customers",
        file_format=file_format,
    )


@role_required(*ROLES)
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """The older /customers/export.csv address: the list's `?format=csv` (or `xlsx`)."""
    _filter, _sort, customers = _filtered_customers(request, with_menus=False)
    return _export(customers, export_format(request) or "csv")


# --- customer 360 ------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    """One event of the merged customer timeline; `kind` picks the template snippet."""

    kind: str
    at: dt.datetime
    record: Any
    extra: dict[str, Any] = field(default_factory=dict)


def _timeline_sources(user: Any, customer: Customer, limit: int) -> list[TimelineEntry]:
    """The newest `limit` rows of every source, one query each (plus two prefetches)."""
    entries: list[TimelineEntry] = []
    activities = (
        activities_visible_to(user)
        .filter(customer_id=customer.pk)
        .select_related("owner", "opportunity", "lead")
        .order_by("-created_at", "-id")[:limit]
    )
    entries += [TimelineEntry("activity", a.done_at or a.created_at, a) for a in activities]
    orders = (
        orders_visible_to(user)
        .filter(customer_id=customer.pk)
        .select_related("owner")
        .prefetch_related("lines__product")
        .order_by("-ordered_at", "-id")[:limit]
    )
    entries += [TimelineEntry("order", o.ordered_at, o) for o in orders]
    history = OpportunityStageChange.objects.select_related("from_stage", "to_stage", "changed_by")
    opportunities = (
        opportunities_visible_to(user)
        .filter(customer_id=customer.pk)
        .select_related("stage", "owner")
        .prefetch_related(Prefetch("stage_changes", queryset=history))
        .order_by("-created_at", "-id")[:limit]
    )
    entries += [TimelineEntry("opportunity", o.created_at, o) for o in opportunities]
    tickets = (
        tickets_visible_to(user)
        .filter(customer_id=customer.pk)
        .select_related("assignee")
        .order_by("-created_at", "-id")[:limit]
    )
    entries += [TimelineEntry("ticket", t.created_at, t) for t in tickets]
    responses = (
        responses_visible_to(user)
        .filter(customer_id=customer.pk)
        .select_related("survey")
        .order_by("-responded_at", "-id")[:limit]
    )
    entries += [TimelineEntry("survey", r.responded_at, r) for r in responses]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def customer_timeline(user: Any, customer: Customer, page_number: Any) -> dict[str, Any]:
    """Page `page_number` of the merged timeline, newest first.

    Page n needs at most n × size rows of each source, so it fetches that many from each and
    merges them: the number of queries stays fixed whatever the customer's history.
    """
    try:
        number = max(1, min(int(page_number or 1), TIMELINE_MAX_PAGES))
    except (TypeError, ValueError):
        number = 1
    end = number * TIMELINE_PAGE_SIZE
    entries = _timeline_sources(user, customer, end + 1)
    return {
        "entries": entries[end - TIMELINE_PAGE_SIZE : end],
        "number": number,
        "has_next": len(entries) > end and number < TIMELINE_MAX_PAGES,
        "has_previous": number > 1,
        "now": timezone.now(),
    }


def customer_figures(customer: Customer) -> dict[str, Any]:
    """CLV to date and the share of the last 12 months' revenue, in one aggregate query.

    CLV = Σ net_amount of the customer's non-cancelled orders. Share = the customer's net revenue
    ÷ everyone's over the last 365 days; the denominator is the organisation's total, which is a
    single figure and reveals no other customer's records.
    """
    since = timezone.now() - dt.timedelta(days=REVENUE_SHARE_DAYS)
    mine = Q(customer_id=customer.pk)
    recent = Q(ordered_at__gte=since)
    totals = (
        Order.objects.exclude(status=Order.Status.CANCELLED)
        .filter(mine | recent)
        .aggregate(
            clv=Sum("net_amount", filter=mine),
            customer_recent=Sum("net_amount", filter=mine & recent),
            all_recent=Sum("net_amount", filter=recent),
        )
    )
    clv = totals["clv"] or Decimal("0")
    customer_recent = totals["customer_recent"] or Decimal("0")
    all_recent = totals["all_recent"] or Decimal("0")
    share = customer_recent / all_recent if all_recent else None
    return {
        "clv": clv,
        "revenue_recent": customer_recent,
        "revenue_share": share,
        "revenue_share_percent": None if share is None else share * 100,
    }


def _last_answers() -> dict[str, Subquery]:
    """Latest NPS and CSAT score and date as subqueries on the customer row (no extra query).

    Survey answers are visible exactly when their customer is (responses_visible_to), so
    reading them off an already visible customer applies the same rule.
    """
    columns: dict[str, Subquery] = {}
    for kind in (SurveyKind.NPS, SurveyKind.CSAT):
        latest = SurveyResponse.objects.filter(customer=OuterRef("pk"), kind=kind).order_by(
            "-responded_at", "-id"
        )
        columns[f"last_{kind}_score"] = Subquery(latest.values("score")[:1])
        columns[f"last_{kind}_at"] = Subquery(latest.values("responded_at")[:1])
    return columns


def _answer(customer: Customer, kind: str) -> dict[str, Any] | None:
    score = getattr(customer, f"last_{kind}_score", None)
    if score is None:
        return None
    return {"score": score, "responded_at": getattr(customer, f"last_{kind}_at")}


@role_required(*ROLES)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    now = timezone.now()
    rules = ActivityRules.load()
    customer = get_object_or_404(
        customers_visible_to(request.user)
        .select_related("owner", "team", "segment", "channel", "referred_by", "campaign")
        .annotate(**_last_answers(), status_now=lifecycle_status_at(now, rules)),
        pk=pk,
    )
    if customer.merged_into_id is not None:
        # Old links to a merged customer lead to the survivor (which checks its own visibility).
        return redirect("customers:detail", customer.merged_into_id)
    health = (
        CustomerHealthSnapshot.objects.filter(customer_id=customer.pk)
        .order_by("-as_of", "-id")
        .first()
    )
    components = [
        (HEALTH_COMPONENT_LABELS.get(name, name), values)
        for name, values in sorted((health.components if health else {}).items())
    ]
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "status_now": Customer.Status(customer.status_now),  # type: ignore[attr-defined]
            "inactivity_days": (
                customer.segment.inactivity_days
                if customer.segment and customer.segment.inactivity_days
                else rules.default_days
            ),
            "can_edit": can_edit_customers(request.user),
            "contacts": list(customer.contacts.all()),
            "figures": customer_figures(customer),
            "health_components": components,
            "prediction": customer_prediction(customer_id=customer.pk),
            "last_nps": _answer(customer, SurveyKind.NPS),
            "last_csat": _answer(customer, SurveyKind.CSAT),
            "timeline": customer_timeline(request.user, customer, request.GET.get("tpage")),
            "can_log": can_log_sales_work(request.user),
            "can_open_tickets": can_work_tickets(request.user),
            "activity_form": ActivityForm(),
        },
    )


@role_required(*ROLES)
def customer_timeline_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline card alone: htmx swaps it in after an activity is logged or on paging."""
    customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
    return render(
        request,
        "customers/_timeline.html",
        {
            "customer": customer,
            "timeline": customer_timeline(request.user, customer, request.GET.get("tpage")),
        },
    )

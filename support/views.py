"""Support pages: the ticket queue with saved views, its CSV/XLSX export, and the ticket page.

Every read starts from tickets_visible_to(user), so a ticket the user may not see is a 404.
Every write goes through support.services; a refusal (ValidationError) is shown on the page.
SLA state is read from the stored due times and met flags, only compared with "now" here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.importing.export import (
    ExportColumn,
    choice_labels,
    export_format,
    export_response,
    export_rows,
)
from crm.roles import ADMIN, MANAGER, ROLES, SUPPORT_AGENT, is_admin, user_roles
from crm.saved_view_views import with_default_view
from crm.views import role_required
from crm.widgets import IsoDateInput
from customers.selectors import teams_of
from support import services
from support.filters import TicketFilter
from support.forms import TicketAssignForm, TicketMessageForm
from support.models import Priority, Ticket, TicketMessage
from support.selectors import (
    SLAState,
    canned_responses_for,
    sla_state_q,
    tickets_visible_to,
    tickets_with_sla_state,
)
from surveys.selectors import responses_visible_to

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PAGE_SIZE = 25
FINISHED = (Ticket.Status.SOLVED, Ticket.Status.CLOSED)
# Unfinished: new, open, pending, on hold (derived, so a new status is not silently dropped).
RUNNING = tuple(status for status in Ticket.Status.values if status not in FINISHED)
# Statuses in which a pausing policy stops the resolution clock (support.services).
PAUSED = (Ticket.Status.PENDING, Ticket.Status.ON_HOLD)
# Who works tickets; sales reps may read the tickets of their customers (no forms, POST → 403).
WORKING_ROLES = (SUPPORT_AGENT, MANAGER, ADMIN)


def _signed_in(request: HttpRequest) -> User:
    """The acting user; every view here is behind role_required, so never anonymous."""
    return cast("User", request.user)


def can_work_tickets(user: Any) -> bool:
    return is_admin(user) or bool(user_roles(user) & set(WORKING_ROLES))


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    key: str
    label: Any
    help: Any


QUEUE_VIEWS = (
    QueueView("open", gettext_lazy("All open"), gettext_lazy("New, open and pending tickets.")),
    QueueView("mine", gettext_lazy("Mine"), gettext_lazy("Unfinished tickets assigned to you.")),
    QueueView(
        "unassigned",
        gettext_lazy("Unassigned"),
        gettext_lazy("Unfinished tickets nobody has taken yet."),
    ),
    QueueView("team", gettext_lazy("My team"), gettext_lazy("Unfinished tickets of your teams.")),
    QueueView(
        "breaching_soon",
        gettext_lazy("Breaching soon"),
        gettext_lazy("A running SLA clock is inside its policy's warning window."),
    ),
    QueueView(
        "breached",
        gettext_lazy("Breached"),
        gettext_lazy("A running SLA clock is past its due time."),
    ),
    QueueView("pending", gettext_lazy("Pending"), gettext_lazy("Waiting for the customer.")),
    QueueView("on_hold", gettext_lazy("On hold"), gettext_lazy("Waiting on a third party.")),
    QueueView("all", gettext_lazy("All"), gettext_lazy("Every ticket, finished ones too.")),
)
QUEUE_VIEW_KEYS = {view.key for view in QUEUE_VIEWS}
DEFAULT_VIEW = "open"

# ?sort= key → (label, ordering expression builder). "due" is the next running due time.
SORTS: dict[str, Any] = {
    "number": gettext_lazy("Number"),
    "subject": gettext_lazy("Subject"),
    "customer": gettext_lazy("Customer"),
    "status": gettext_lazy("Status"),
    "priority": gettext_lazy("Priority"),
    "assignee": gettext_lazy("Assignee"),
    "due": gettext_lazy("SLA due"),
    "created": gettext_lazy("Created"),
}
SORT_FIELDS = {
    "number": "id",
    "subject": "subject",
    "customer": "customer__name",
    "status": "status",
    "priority": "priority_rank",
    "assignee": "assignee__username",
    "due": "next_due",
    "created": "created_at",
}
DEFAULT_SORT = "due"


def _view_q(key: str, user: Any) -> Q:
    """The rule of one saved view; tickets_visible_to has already applied visibility."""
    running = Q(status__in=RUNNING)
    if key == "open":
        return running
    if key == "mine":
        return running & Q(assignee=user)
    if key == "unassigned":
        return running & Q(assignee__isnull=True)
    if key == "team":
        return running & Q(team__in=teams_of(user))
    if key == "breaching_soon":
        return sla_state_q(SLAState.BREACHING_SOON)
    if key == "breached":
        return sla_state_q(SLAState.BREACHED)
    if key == "pending":
        return Q(status=Ticket.Status.PENDING)
    if key == "on_hold":
        return Q(status=Ticket.Status.ON_HOLD)
    return Q()


def _ordering(sort: str) -> tuple[str, list[Any]]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_FIELDS:
        key, descending, sort = DEFAULT_SORT, False, DEFAULT_SORT
    field = F(SORT_FIELDS[key])
    primary = field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)
    # The id last so pages never overlap; newest first among equal keys.
    return sort, [primary, "-created_at", "-id"]


def _queue_base(user: Any) -> QuerySet[Ticket]:
    # Spam and merged duplicates are not work (catalogue §0.9): never in the queue.
    return tickets_visible_to(user).filter(is_spam=False, merged_into__isnull=True)


def _annotated(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Add the queue's SLA state, the next running due time and a sortable priority rank."""
    return tickets_with_sla_state(tickets).annotate(
        next_due=Case(
            When(
                Q(first_response_at__isnull=True, first_response_due_at__isnull=False),
                then=F("first_response_due_at"),
            ),
            When(next_response_due_at__isnull=False, then=F("next_response_due_at")),
            default=F("resolution_due_at"),
        ),
        priority_rank=Case(
            *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


def _queue(request: HttpRequest) -> dict[str, Any]:
    """The visible tickets of the chosen saved view, filtered and sorted: list and export."""
    view = request.GET.get("view", DEFAULT_VIEW)
    if view not in QUEUE_VIEW_KEYS:
        view = DEFAULT_VIEW
    base = _queue_base(request.user)
    ticket_filter = TicketFilter(
        request.GET, queryset=base.select_related("customer", "assignee", "team")
    )
    # "All open" steps aside when the user filters by status explicitly (e.g. solved).
    rule = (
        Q()
        if view == DEFAULT_VIEW and request.GET.getlist("status")
        else _view_q(view, request.user)
    )
    sort, ordering = _ordering(request.GET.get("sort", DEFAULT_SORT))
    tickets = _annotated(ticket_filter.qs.filter(rule)).order_by(*ordering)
    return {"view": view, "filter": ticket_filter, "sort": sort, "tickets": tickets}


def _style_filter_form(form: Any) -> Any:
    """Bootstrap widgets for the filter bar; status and priority become checkbox menus."""
    for name, field in form.fields.items():
        if name in ("status", "priority"):
            field.widget = forms.CheckboxSelectMultiple(choices=field.choices)
            field.widget.attrs["class"] = "form-check-input"
        elif isinstance(field.widget, forms.Select):
            field.widget.attrs["class"] = "form-select form-select-sm"
            if hasattr(field, "empty_label"):
                field.empty_label = _("Any")
        else:
            field.widget.attrs["class"] = "form-control form-control-sm"
            if isinstance(field.widget, forms.DateInput):
                field.widget = IsoDateInput(attrs=field.widget.attrs)
    return form


def _view_counts(user: Any) -> dict[str, int]:
    """How many tickets each saved view holds, in one aggregate query (plus one read of the
    policies' warning windows for "breaching soon")."""
    return _queue_base(user).aggregate(
        **{view.key: Count("pk", filter=_view_q(view.key, user)) for view in QUEUE_VIEWS}
    )


@role_required(SUPPORT_AGENT, MANAGER)
@with_default_view("tickets")
def ticket_list(request: HttpRequest) -> HttpResponseBase:
    file_format = export_format(request)
    if file_format is not None:
        return _export(request, file_format)
    queue = _queue(request)
    page = Paginator(queue["tickets"], PAGE_SIZE).get_page(request.GET.get("page"))
    counts = _view_counts(request.user)
    sort = queue["sort"]
    columns = [
        {
            "key": key,
            "label": label,
            "active": sort.lstrip("-") == key,
            "descending": sort == f"-{key}",
            "next_sort": f"-{key}" if sort == key else key,
        }
        for key, label in SORTS.items()
    ]
    filters_active = any(
        request.GET.get(name) for name in queue["filter"].form.fields if name != "q"
    )
    return render(
        request,
        "support/ticket_list.html",
        {
            "page_obj": page,
            "tickets": page.object_list,
            "now": timezone.now(),
            "view": queue["view"],
            "views": [(view, counts.get(view.key, 0)) for view in QUEUE_VIEWS],
            "filter_form": _style_filter_form(queue["filter"].form),
            "filters_active": filters_active,
            "q": request.GET.get("q", "").strip(),
            "sort": sort,
            "columns": columns,
            "can_work": can_work_tickets(request.user),
        },
    )


EXPORT_COLUMNS = (
    ExportColumn(gettext_lazy("Number"), "id"),
    ExportColumn(gettext_lazy("Subject"), "subject"),
    ExportColumn(gettext_lazy("Customer"), "customer__name"),
    ExportColumn(gettext_lazy("Status"), "status", choice_labels(Ticket.Status.choices)),
    ExportColumn(gettext_lazy("Priority"), "priority", choice_labels(Priority.choices)),
    ExportColumn(gettext_lazy("Category"), "category", choice_labels(Ticket.Category.choices)),
    ExportColumn(gettext_lazy("Channel"), "channel", choice_labels(Ticket.Channel.choices)),
    ExportColumn(gettext_lazy("Team"), "team__name"),
    ExportColumn(gettext_lazy("Assignee"), "assignee__username"),
    ExportColumn(gettext_lazy("External id"), "external_id"),
    ExportColumn(gettext_lazy("Created"), "created_at"),
    ExportColumn(gettext_lazy("First response due"), "first_response_due_at"),
    ExportColumn(gettext_lazy("First response at"), "first_response_at"),
    ExportColumn(gettext_lazy("First response SLA met"), "sla_first_response_met"),
    ExportColumn(gettext_lazy("Next response due"), "next_response_due_at"),
    ExportColumn(gettext_lazy("Resolution due"), "resolution_due_at"),
    ExportColumn(gettext_lazy("Last solved at"), "last_solved_at"),
    ExportColumn(gettext_lazy("Resolution SLA met"), "sla_resolution_met"),
    ExportColumn(gettext_lazy("SLA state"), "sla_state"),
)


def _export(request: HttpRequest, file_format: str, **options: Any) -> HttpResponseBase:
    """The queue as filtered and sorted on screen, every page, one query, streamed."""
    return export_response(
        rows=export_rows(_queue(request)["tickets"], EXPORT_COLUMNS),
        columns=EXPORT_COLUMNS,
        filename="tickets",
        file_format=file_format,
        **options,
    )


@role_required(SUPPORT_AGENT, MANAGER)
def ticket_export(request: HttpRequest) -> HttpResponseBase:
    """The older /support/export.csv address, kept for saved links and scripts that read it:
    the list's `?format=csv` as it always came (plain UTF-8, no byte-order mark)."""
    file_format = export_format(request) or "csv"
    response = _export(request, file_format, byte_order_mark=False)
    if file_format == "csv":
        response["Content-Type"] = "text/csv"
    return response


# --- the ticket page -------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """One SLA clock as shown: `state` is running, soon, breached, paused, met, missed,
    stopped (finished without a verdict), idle (nothing to answer) or none (no target)."""

    key: str
    label: str
    state: str
    due_at: dt.datetime | None
    stopped_at: dt.datetime | None = None

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "soon", "breached")


def _running_state(ticket: Ticket, due_at: dt.datetime, now: dt.datetime) -> str:
    if due_at <= now:
        return "breached"
    warning = ticket.sla_policy.warning_minutes if ticket.sla_policy else 0
    return "soon" if due_at <= now + dt.timedelta(minutes=warning) else "running"


def _verdict(met: bool | None) -> str:
    return "stopped" if met is None else ("met" if met else "missed")


def sla_clocks(ticket: Ticket, now: dt.datetime) -> list[SlaClock]:
    """Both clocks from the stored due times, stamps and met flags; only compared with now."""
    label = _("First response")
    if ticket.first_response_at is not None:
        first = SlaClock(
            "first_response",
            label,
            _verdict(ticket.sla_first_response_met),
            ticket.first_response_due_at,
            ticket.first_response_at,
        )
    elif ticket.first_response_due_at is None:
        first = SlaClock("first_response", label, "none", None)
    elif ticket.status in FINISHED:
        first = SlaClock(
            "first_response", label, "stopped", ticket.first_response_due_at, ticket.last_solved_at
        )
    else:
        state = _running_state(ticket, ticket.first_response_due_at, now)
        first = SlaClock("first_response", label, state, ticket.first_response_due_at)

    clocks = [first]
    if ticket.sla_policy is not None and ticket.sla_policy.next_response_minutes:
        label = _("Next response")
        due = ticket.next_response_due_at
        if ticket.status in FINISHED:
            clocks.append(SlaClock("next_response", label, "stopped", None))
        elif due is None:
            clocks.append(SlaClock("next_response", label, "idle", None))
        else:
            clocks.append(SlaClock("next_response", label, _running_state(ticket, due, now), due))

    label = _("Resolution")
    if ticket.status in FINISHED:
        resolution = SlaClock(
            "resolution",
            label,
            _verdict(ticket.sla_resolution_met) if ticket.sla_policy_id else "stopped",
            ticket.resolution_due_at,
            ticket.last_solved_at or ticket.closed_at,
        )
    elif ticket.resolution_due_at is None:
        paused = ticket.status in PAUSED and ticket.sla_policy_id is not None
        resolution = SlaClock("resolution", label, "paused" if paused else "none", None)
    else:
        state = _running_state(ticket, ticket.resolution_due_at, now)
        resolution = SlaClock("resolution", label, state, ticket.resolution_due_at)
    return [*clocks, resolution]


@dataclass(frozen=True)
class ConversationEntry:
    kind: str  # "message" or "status"
    at: dt.datetime
    record: Any


def _visible_ticket(request: HttpRequest, pk: int) -> Ticket:
    tickets = tickets_visible_to(request.user).select_related(
        "customer", "customer__segment", "contact", "assignee", "team", "sla_policy", "merged_into"
    )
    return get_object_or_404(tickets, pk=pk)


def _ticket_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    message_form: TicketMessageForm | None = None,
    errors: Iterable[str] = (),
    notice: str = "",
) -> dict[str, Any]:
    user = request.user
    messages_qs = ticket.messages.select_related("author_user")
    changes = ticket.status_changes.select_related("changed_by")
    conversation = sorted(
        [ConversationEntry("message", m.created_at, m) for m in messages_qs]
        + [ConversationEntry("status", c.changed_at, c) for c in changes],
        key=lambda entry: (entry.at, entry.kind == "message"),
    )
    # One query: up to 5 other unfinished tickets of the customer the user may see.
    other_open = list(
        tickets_visible_to(user)
        .filter(customer_id=ticket.customer_id, status__in=RUNNING, is_spam=False)
        .exclude(pk=ticket.pk)
        .order_by("-created_at", "-id")[:6]
    )
    last_answer = (
        responses_visible_to(user)
        .filter(customer_id=ticket.customer_id)
        .select_related("survey")
        .order_by("-responded_at", "-id")
        .first()
    )
    can_work = can_work_tickets(user)
    canned: list[dict[str, Any]] = []
    assign_form = None
    if can_work and ticket.status != Ticket.Status.CLOSED:
        canned = [
            {
                "pk": response.pk,
                "name": response.name,
                "body": services.canned_response_render(
                    canned=response, ticket=ticket, agent=cast("User", user)
                ),
            }
            for response in canned_responses_for(user)
        ]
        assign_form = TicketAssignForm(
            initial={"assignee": ticket.assignee_id, "team": None}, prefix="assign"
        )
    return {
        "ticket": ticket,
        "customer": ticket.customer,
        "conversation": conversation,
        "clocks": sla_clocks(ticket, timezone.now()),
        "other_open": other_open[:5],
        "more_open": len(other_open) > 5,
        "last_answer": last_answer,
        "can_work": can_work,
        "message_form": message_form or TicketMessageForm(),
        "assign_form": assign_form,
        "next_statuses": [
            (value, label)
            for value, label in Ticket.Status.choices
            if value in Ticket.TRANSITIONS[ticket.status]
        ],
        "canned": canned,
        "errors": list(errors),
        "notice": notice,
    }


@role_required(*ROLES)
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    return render(request, "support/ticket_detail.html", _ticket_context(request, ticket))


def _refusal_messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _respond(
    request: HttpRequest,
    ticket_pk: int,
    *,
    errors: list[str],
    notice: str,
    message_form: TicketMessageForm | None = None,
) -> HttpResponse:
    """htmx: the refreshed ticket workspace in place; plain POST: back to the page (PRG).
    Routed away to a team the user is not in, the ticket is out of sight: back to the queue."""
    if not tickets_visible_to(request.user).filter(pk=ticket_pk).exists():
        messages.success(request, notice or _("The ticket is no longer visible to you."))
        queue = reverse("support:index")
        if request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": queue})
        return redirect(queue)
    if request.headers.get("HX-Request"):
        ticket = _visible_ticket(request, ticket_pk)
        context = _ticket_context(
            request, ticket, message_form=message_form, errors=errors, notice=notice
        )
        return render(request, "support/_ticket_workspace.html", context)
    for error in errors:
        messages.error(request, error)
    if notice and not errors:
        messages.success(request, notice)
    return redirect("support:ticket_detail", pk=ticket_pk)


def _writable_ticket(request: HttpRequest, pk: int) -> Ticket:
    ticket = _visible_ticket(request, pk)
    if not can_work_tickets(request.user):
        raise PermissionDenied
    return ticket


@require_POST
@role_required(*ROLES)
def ticket_message(request: HttpRequest, pk: int) -> HttpResponse:
    """A public reply (e-mailed to the customer after commit) or an internal note."""
    ticket = _writable_ticket(request, pk)
    form = TicketMessageForm(request.POST)
    if not form.is_valid():
        return _respond(
            request, pk, errors=[_("Choose a reply or a note.")], notice="", message_form=form
        )
    body = form.cleaned_data["body"]
    try:
        if form.is_public:
            services.ticket_reply_send(ticket=ticket, body=body, author_user=_signed_in(request))
            notice = _("Reply sent to the customer.")
        else:
            services.ticket_message_add(
                ticket=ticket,
                body=body,
                author_kind=TicketMessage.AuthorKind.AGENT,
                author_user=_signed_in(request),
                is_public=False,
            )
            notice = _("Internal note added.")
    except ValidationError as error:
        return _respond(request, pk, errors=_refusal_messages(error), notice="", message_form=form)
    return _respond(request, pk, errors=[], notice=notice)


@require_POST
@role_required(*ROLES)
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _writable_ticket(request, pk)
    # Not validated against the choices here: the service's refusal is the message to show.
    to_status = request.POST.get("status", "")
    try:
        ticket = services.ticket_status_change(
            ticket=ticket, to_status=to_status, actor=_signed_in(request)
        )
    except ValidationError as error:
        return _respond(request, pk, errors=_refusal_messages(error), notice="")
    notice = _("Status changed to %(status)s.") % {"status": ticket.get_status_display()}
    return _respond(request, pk, errors=[], notice=notice)


@require_POST
@role_required(*ROLES)
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _writable_ticket(request, pk)
    form = TicketAssignForm(request.POST, prefix="assign")
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return _respond(request, pk, errors=errors, notice="")
    try:
        ticket = services.ticket_assign(
            ticket=ticket,
            assignee=form.cleaned_data["assignee"],
            team=form.cleaned_data["team"],
            actor=_signed_in(request),
            notify_assignee=True,
        )
    except ValidationError as error:
        return _respond(request, pk, errors=_refusal_messages(error), notice="")
    return _respond(request, pk, errors=[], notice=_("Ticket routed."))

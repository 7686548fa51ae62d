"""Ticket record pages: an agent opens a ticket for a phone call or chat, edits a ticket's
category, priority and team, and merges a duplicate ticket into another after comparing both.

Reads start from tickets_visible_to / customers_visible_to (another team's record is a 404);
only the roles that work tickets may write (a rep gets 403, as on the ticket page); writes go
through support.services, whose refusal is shown next to its field with nothing saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from crm.concurrency import EDIT_VERSION_FIELD, edit_version
from crm.forms import customer_matches, service_errors_to_form
from crm.roles import ROLES
from crm.views import role_required
from customers.models import Contact, Team
from customers.selectors import customers_visible_to, teams_of
from support import services
from support.models import Ticket, TicketMessage
from support.record_forms import TicketCreateForm, TicketDuplicateForm, TicketEditForm
from support.selectors import tickets_visible_to
from support.views import can_work_tickets

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import Field

MERGE_CANDIDATES = 20
TICKET_EDITED = ("subject", "category", "priority", "team")


def _worker(request: HttpRequest) -> User:
    """The signed-in user, who must work tickets (agents, managers, admins)."""
    if not can_work_tickets(request.user):
        raise PermissionDenied
    return cast("User", request.user)


def _carry_saved_version(form: Any, record: Any, error: ValidationError) -> None:
    """After a stale refusal the form keeps the person's input but carries the saved version
    from now on, so saving again after checking overwrites knowingly (as the customer page)."""
    if getattr(error, "code", None) != "stale":
        return
    record.refresh_from_db(fields=["updated_at"])
    form.data = form.data.copy()
    form.data[EDIT_VERSION_FIELD] = edit_version(record)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@role_required(*ROLES)
def ticket_create(request: HttpRequest) -> HttpResponse:
    """A ticket for a customer's call or chat: find the customer, then the ticket's details
    with the agent's account of the conversation as its first message."""
    agent = _worker(request)
    visible = customers_visible_to(agent)
    customer_id = _int_or_none(request.GET.get("customer"))
    if customer_id is None:
        find = request.GET.get("find", "")
        return render(
            request,
            "support/ticket_customer_pick.html",
            {"find": find, "matches": customer_matches(visible, find)},
        )
    customer = get_object_or_404(visible, pk=customer_id)
    posted = request.method == "POST"
    own_team = Team.objects.filter(pk__in=teams_of(agent)).order_by("name").first()
    primary = customer.contacts.filter(is_primary=True).first()
    form = TicketCreateForm(
        request.POST if posted else None,
        initial={"team": own_team, "contact": primary},
        contacts=Contact.objects.filter(customer=customer).order_by("-is_primary", "id"),
        teams=Team.objects.order_by("name"),
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                customer=customer,
                subject=data["subject"],
                body=data["body"],
                category=data["category"],
                channel=data["channel"],
                priority=data["priority"],
                team=data["team"],
                assignee=agent if data["assign_to_me"] else None,
                contact=data["contact"],
                opened_by_agent=True,
                author=agent,
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, _("Ticket #%(number)s opened.") % {"number": ticket.pk})
            return redirect("support:ticket_detail", pk=ticket.pk)
    return render(
        request,
        "support/ticket_form.html",
        {"form": form, "customer": customer},
        status=400 if posted else 200,
    )


@role_required(*ROLES)
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(tickets_visible_to(request.user).select_related("customer"), pk=pk)
    agent = _worker(request)
    posted = request.method == "POST"
    form = TicketEditForm(
        request.POST if posted else None,
        initial={name: getattr(ticket, name) for name in TICKET_EDITED},
        record=ticket,
    )
    if posted and form.is_valid():
        try:
            services.ticket_update(
                ticket=ticket,
                actor=agent,
                seen_version=form.seen_version,
                **{name: form.cleaned_data[name] for name in TICKET_EDITED},
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
            _carry_saved_version(form, ticket, error)
        else:
            messages.success(request, _("Ticket saved."))
            if not tickets_visible_to(agent).filter(pk=ticket.pk).exists():
                return redirect("support:index")
            return redirect("support:ticket_detail", pk=ticket.pk)
    return render(
        request,
        "support/ticket_edit.html",
        {"form": form, "ticket": ticket},
        status=400 if posted else 200,
    )


def _mergeable(request: HttpRequest, ticket: Ticket) -> Any:
    """Visible tickets of the same customer that may be merged into `ticket`."""
    return (
        tickets_visible_to(request.user)
        .filter(customer_id=ticket.customer_id, merged_into__isnull=True)
        .exclude(pk=ticket.pk)
    )


def _first_message(ticket: Ticket) -> TicketMessage | None:
    return ticket.messages.order_by("created_at", "id").first()


def _shown(ticket: Ticket, name: str) -> str:
    """A field's value as a person reads it: a choice's label, a person's name, or the text."""
    display = getattr(ticket, f"get_{name}_display", None)
    if display is not None:
        return str(display())
    value = getattr(ticket, name)
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return str(value.get_full_name() or value.get_username())
    return str(value)


def _merge_rows(
    ticket: Ticket, duplicate: Ticket, form: TicketDuplicateForm
) -> list[dict[str, Any]]:
    """One row per field the agent picks: both values and which one survives."""
    rows = []
    for name in services.TICKET_MERGE_FIELDS:
        stays, other = _shown(ticket, name), _shown(duplicate, name)
        rows.append(
            {
                "name": name,
                "label": cast("Field[Any, Any]", Ticket._meta.get_field(name)).verbose_name,
                "stays": stays,
                "duplicate": other,
                "differs": stays != other,
                "take": stays != other and form.takes(name),
            }
        )
    return rows


@role_required(*ROLES)
def ticket_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick a duplicate of this ticket (same customer), compare both side by side, choose per
    field whose value survives, and merge it into this one."""
    tickets = tickets_visible_to(request.user).select_related(
        "customer", "contact", "assignee", "team"
    )
    ticket = get_object_or_404(tickets, pk=pk)
    agent = _worker(request)
    posted = request.method == "POST"
    form = TicketDuplicateForm(
        request.POST if posted else None,
        candidates=_mergeable(request, ticket).select_related("contact", "assignee", "team"),
        merge_fields=services.TICKET_MERGE_FIELDS,
    )
    duplicate = None
    refusal = ""
    if posted:
        if form.is_valid():
            duplicate = form.cleaned_data["duplicate"]
            try:
                services.ticket_merge(
                    duplicate=duplicate,
                    into=ticket,
                    take_from_duplicate=form.take_from_duplicate(),
                    actor=agent,
                )
            except ValidationError as error:
                service_errors_to_form(form, error, {"into": "duplicate"})
            else:
                messages.success(
                    request,
                    _("Ticket #%(duplicate)s merged into this ticket.")
                    % {"duplicate": duplicate.pk},
                )
                # A team or assignee taken from the duplicate may put the ticket out of sight.
                if not tickets_visible_to(agent).filter(pk=ticket.pk).exists():
                    return redirect("support:index")
                return redirect("support:ticket_detail", pk=ticket.pk)
    else:
        duplicate_id = _int_or_none(request.GET.get("duplicate"))
        if duplicate_id is not None:
            duplicate = get_object_or_404(tickets, pk=duplicate_id)
            if duplicate.pk == ticket.pk:
                refusal = _("A ticket cannot be merged into itself.")
                duplicate = None
    candidates = (
        list(
            _mergeable(request, ticket)
            .select_related("assignee")
            .order_by("-created_at", "-id")[:MERGE_CANDIDATES]
        )
        if duplicate is None
        else []
    )
    return render(
        request,
        "support/ticket_merge.html",
        {
            "ticket": ticket,
            "duplicate": duplicate,
            "refusal": refusal,
            "form": form,
            "candidates": candidates,
            "rows": _merge_rows(ticket, duplicate, form) if duplicate is not None else [],
            "ticket_first": _first_message(ticket),
            "duplicate_first": _first_message(duplicate) if duplicate else None,
        },
        status=400 if posted else 200,
    )

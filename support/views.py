"""Support pages: the ticket queue an agent or manager works from (read-only list)."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.roles import MANAGER, SUPPORT_AGENT
from crm.views import role_required
from support.models import Ticket
from support.selectors import tickets_visible_to

PAGE_SIZE = 25


@role_required(SUPPORT_AGENT, MANAGER)
def ticket_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    # Spam and merged duplicates are not work (catalogue §0.9): never in the queue.
    tickets = (
        tickets_visible_to(request.user)
        .filter(is_spam=False, merged_into__isnull=True)
        .select_related("customer", "assignee", "team")
    )
    if status in Ticket.Status.values:
        tickets = tickets.filter(status=status)
    else:
        status = ""
    if q:
        tickets = tickets.filter(Q(subject__icontains=q) | Q(customer__name__icontains=q))
    tickets = tickets.order_by("-created_at", "-id")
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "support/ticket_list.html",
        {
            "page_obj": page,
            "tickets": page.object_list,
            "q": q,
            "status": status,
            "statuses": Ticket.Status.choices,
        },
    )

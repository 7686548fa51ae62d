"""Sales pages: the open deals a rep or manager works on (read-only list; edits go through the
admin and the API, both calling sales.services)."""

from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.roles import MANAGER, SALES_REP
from crm.views import role_required
from sales.models import Opportunity
from sales.selectors import opportunities_visible_to

PAGE_SIZE = 25


@role_required(SALES_REP, MANAGER)
def opportunity_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    show = request.GET.get("show", "open")
    opportunities = opportunities_visible_to(request.user).select_related(
        "customer", "stage", "owner"
    )
    if show != "all":
        show = "open"
        opportunities = opportunities.filter(outcome=Opportunity.Outcome.OPEN)
    if q:
        opportunities = opportunities.filter(Q(name__icontains=q) | Q(customer__name__icontains=q))
    # Soonest expected close first; deals without a date last, newest first among them.
    opportunities = opportunities.order_by(
        F("expected_close_date").asc(nulls_last=True), "-created_at", "id"
    )
    page = Paginator(opportunities, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/opportunity_list.html",
        {"page_obj": page, "opportunities": page.object_list, "q": q, "show": show},
    )

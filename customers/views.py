"""Customer pages: the list a rep starts from, and one customer's page.

Both start from customers_visible_to(user), so a customer the user may not see is a 404.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from customers.filters import CustomerFilter
from customers.selectors import customers_visible_to
from sales.selectors import orders_visible_to

PAGE_SIZE = 25
# ?sort= value → ordering; anything else falls back to the default (name).
SORTS = {
    "name": ("name", _("Name")),
    "status": ("status", _("Status")),
    "owner": ("owner__username", _("Owner")),
    "team": ("team__name", _("Team")),
    "acquired": ("acquired_at", _("Acquired")),
    "created": ("created_at", _("Created")),
}
DEFAULT_SORT = "name"


def _ordering(sort: str) -> tuple[str, list[str]]:
    """The accepted sort key and the ORM ordering; id last so pages never overlap."""
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    if field not in SORTS:
        return DEFAULT_SORT, [SORTS[DEFAULT_SORT][0], "id"]
    column = SORTS[field][0]
    return sort, [f"-{column}" if descending else column, "-id" if descending else "id"]


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    sort, ordering = _ordering(request.GET.get("sort", DEFAULT_SORT))
    visible = customers_visible_to(request.user).select_related("owner", "team", "segment")
    customer_filter = CustomerFilter(request.GET, queryset=visible)
    customers = customer_filter.qs.order_by(*ordering)
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
    return render(
        request,
        "customers/list.html",
        {
            "page_obj": page,
            "customers": page.object_list,
            "q": request.GET.get("q", "").strip(),
            "sort": sort,
            "columns": columns,
        },
    )


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(
        customers_visible_to(request.user).select_related(
            "owner", "team", "segment", "channel", "referred_by"
        ),
        pk=pk,
    )
    contacts = customer.contacts.all()
    orders = (
        orders_visible_to(request.user)
        .filter(customer_id=customer.pk)
        .order_by("-ordered_at", "-id")[:10]
    )
    return render(
        request,
        "customers/detail.html",
        {"customer": customer, "contacts": contacts, "orders": orders},
    )

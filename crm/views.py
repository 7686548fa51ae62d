"""The web shell: the home redirect, the role gates every page view uses, the global search,
the notification inbox and the administration overview."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from crm.encryption.fields import blind_index_any
from crm.models import Notification
from crm.notifications import notification_mark_read, notifications_mark_all_read
from crm.roles import (
    ADMIN,
    MANAGER,
    ROLES,
    SALES_REP,
    SUPPORT_AGENT,
    is_admin,
    is_manager,
    user_roles,
)
from customers.models import Contact, Customer
from customers.selectors import customers_visible_to
from sales.models import Lead
from sales.selectors import activities_visible_to, leads_visible_to, opportunities_visible_to
from support.models import Ticket
from support.selectors import tickets_visible_to

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ViewFunction = Callable[..., HttpResponseBase]


def manager_required(view: ViewFunction) -> ViewFunction:
    """Managers and admins only: anonymous users go to the login page, other roles get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_manager(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def role_required(*roles: str) -> Callable[[ViewFunction], ViewFunction]:
    """Users holding one of `roles` (admins always): anonymous → login page, others → 403."""

    def decorator(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not (is_admin(request.user) or user_roles(request.user) & set(roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


class RoleRequiredMixin(LoginRequiredMixin):
    """Class-based twin of `role_required`: set `roles`; admins always pass."""

    roles: tuple[str, ...] = ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Checked before LoginRequiredMixin so only signed-in users without the role get 403.
        user = request.user
        if user.is_authenticated and not (is_admin(user) or user_roles(user) & set(self.roles)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ManagerRequiredMixin(LoginRequiredMixin):
    """Class-based twin of `manager_required`."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Checked before LoginRequiredMixin so only signed-in non-managers get the 403.
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the workspace it uses most: managers to the KPIs, reps to their day,
    agents to the ticket queue (and anyone else to the customers)."""
    if is_manager(request.user):
        return redirect("kpis:overview")
    roles = user_roles(request.user)
    if SALES_REP in roles:
        return redirect("sales:my_day")
    if SUPPORT_AGENT in roles:
        return redirect("support:index")
    return redirect("customers:list")


# --- global search -----------------------------------------------------------------------------

SEARCH_MIN_LENGTH = 2
SEARCH_PER_TYPE = 5


@dataclass(frozen=True)
class SearchGroup:
    """The hits of one record type: at most SEARCH_PER_TYPE, `has_more` when there are others."""

    key: str
    label: Any
    hits: list[Any]
    has_more: bool
    more_url: str = ""


def _number(text: str) -> int | None:
    digits = text.removeprefix("#")
    return int(digits) if digits.isdigit() and len(digits) < 10 else None


def _limited(queryset: QuerySet[Any]) -> tuple[list[Any], bool]:
    """One query: one row more than shown tells whether there are more."""
    rows = list(queryset[: SEARCH_PER_TYPE + 1])
    return rows[:SEARCH_PER_TYPE], len(rows) > SEARCH_PER_TYPE


def global_search(user: Any, text: str) -> list[SearchGroup]:
    """Customers, contacts, leads, deals and tickets matching a name, e-mail, phone or number,
    each read through its visibility selector, one query per record type."""
    number = _number(text)
    by_number = Q(pk=number) if number is not None else Q(pk__in=[])
    roles = user_roles(user)
    admin = is_admin(user)
    groups: list[SearchGroup] = []

    customers = customers_visible_to(user)
    rows, more = _limited(
        # E-mail and phone are encrypted: found by their whole value (blind index) only.
        customers.filter(
            Q(name__icontains=text)
            | blind_index_any(Customer, ("email", "phone"), text)
            | by_number
        )
        .select_related("segment")
        .order_by("name", "id")
    )
    more_url = f"{reverse('customers:list')}?{urlencode({'q': text})}"
    groups.append(SearchGroup("customers", _("Customers"), rows, more, more_url))

    name_rule = Q(first_name__icontains=text) | Q(last_name__icontains=text)
    first, _space, last = text.partition(" ")
    if last.strip():
        name_rule |= Q(first_name__icontains=first, last_name__icontains=last.strip())
    rows, more = _limited(
        Contact.objects.filter(customer__in=customers.values("pk"))
        .filter(name_rule | blind_index_any(Contact, ("email", "phone"), text))
        .select_related("customer")
        .order_by("last_name", "first_name", "id")
    )
    groups.append(SearchGroup("contacts", _("Contacts"), rows, more))

    if admin or roles & {SALES_REP, MANAGER}:
        rows, more = _limited(
            leads_visible_to(user)
            .filter(
                Q(name__icontains=text)
                | Q(company__icontains=text)
                | blind_index_any(Lead, ("email", "phone"), text)
                | by_number
            )
            .order_by("-created_at", "-id")
        )
        groups.append(SearchGroup("leads", _("Leads"), rows, more))
        rows, more = _limited(
            opportunities_visible_to(user)
            .filter(Q(name__icontains=text) | Q(customer__name__icontains=text) | by_number)
            .select_related("customer", "stage")
            .order_by("-created_at", "-id")
        )
        groups.append(SearchGroup("opportunities", _("Opportunities"), rows, more))

    rows, more = _limited(
        tickets_visible_to(user)
        .filter(
            Q(subject__icontains=text)
            | Q(customer__name__icontains=text)
            | blind_index_any(Ticket, ("customer__email", "contact__email"), text)
            | by_number
        )
        .filter(merged_into__isnull=True, is_spam=False)
        .select_related("customer")
        .order_by("-created_at", "-id")
    )
    more_url = ""
    if admin or roles & {SUPPORT_AGENT, MANAGER}:
        more_url = f"{reverse('support:index')}?{urlencode({'q': text, 'view': 'all'})}"
    groups.append(SearchGroup("tickets", _("Tickets"), rows, more, more_url))
    return groups


@role_required(*ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """The navbar search: a dropdown of hits while typing (htmx), a full page on Enter."""
    text = request.GET.get("q", "").strip()[:100]
    groups = global_search(request.user, text) if len(text) >= SEARCH_MIN_LENGTH else []
    context = {
        "q": text,
        "search_q": text,
        "groups": groups,
        "total": sum(len(group.hits) for group in groups),
        "too_short": 0 < len(text) < SEARCH_MIN_LENGTH,
        "min_length": SEARCH_MIN_LENGTH,
    }
    template = (
        "crm/_search_results.html" if request.headers.get("HX-Request") else "crm/search.html"
    )
    return render(request, template, context)


# --- notifications -----------------------------------------------------------------------------

NOTIFICATIONS_PAGE_SIZE = 25
DUE_TASKS_SHOWN = 10


@role_required(*ROLES)
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's inbox (alerts, assignments, due tasks …) and their open tasks due by tomorrow."""
    unread_only = request.GET.get("show") == "unread"
    user = cast("User", request.user)  # role_required: never anonymous here
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(
        notifications.order_by("-created_at", "-id"), NOTIFICATIONS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    horizon = timezone.now() + dt.timedelta(days=1)
    due_tasks = list(
        activities_visible_to(request.user)
        .filter(owner=user, done_at__isnull=True, due_at__lte=horizon)
        .select_related("customer", "lead", "opportunity")
        .order_by("due_at", "id")[:DUE_TASKS_SHOWN]
    )
    return render(
        request,
        "crm/notifications.html",
        {
            "page_obj": page,
            "notifications": page.object_list,
            "unread_only": unread_only,
            "due_tasks": due_tasks,
            "now": timezone.now(),
        },
    )


def _safe_next(request: HttpRequest, target: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse("notifications")


@require_POST
@role_required(*ROLES)
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read; with open=1 go on to the record it is about."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notification_mark_read(notification=notification)
    if request.POST.get("open"):
        return redirect(_safe_next(request, notification.link))
    return redirect(_safe_next(request, request.POST.get("next", "")))


@require_POST
@role_required(*ROLES)
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d notification marked read.",
                "%(count)d notifications marked read.",
                count,
            )
            % {"count": count},
        )
    return redirect(_safe_next(request, request.POST.get("next", "")))


# --- the admin workspace -----------------------------------------------------------------------


@dataclass(frozen=True)
class AdminLink:
    label: Any
    url: str
    help: Any


@dataclass(frozen=True)
class AdminSection:
    title: Any
    links: list[AdminLink]


# (section title, [(label, URL name, help text)]) — the settings an admin changes: the app's own
# pages where it has them (KPI weights, targets, alert rules), the Django admin for the rest.
ADMIN_SECTIONS: list[tuple[Any, list[tuple[Any, str, Any]]]] = [
    (
        gettext_lazy("KPIs and the composite index"),
        [
            (
                gettext_lazy("Index weights"),
                "kpis:weights",
                gettext_lazy(
                    "Draft a new weight version, preview it against the active one, activate it; "
                    "every version keeps who activated it and when."
                ),
            ),
            (
                gettext_lazy("Targets"),
                "kpis:targets",
                gettext_lazy("Goals per KPI, period and team or rep; shown as progress on cards."),
            ),
            (
                gettext_lazy("Alert rules"),
                "kpis:alert_rules",
                gettext_lazy(
                    "When a KPI crosses a threshold or misses its target, who is told and how."
                ),
            ),
            (
                gettext_lazy("Alerts"),
                "kpis:alerts",
                gettext_lazy("Alerts raised by the rules; acknowledge or resolve them."),
            ),
        ],
    ),
    (
        gettext_lazy("Sales"),
        [
            (
                gettext_lazy("Pipeline stages"),
                "admin:sales_pipelinestage_changelist",
                gettext_lazy(
                    "The stages of the deal board in order, with their win probability and which "
                    "stages count as won or lost."
                ),
            ),
            (
                gettext_lazy("Products"),
                "admin:sales_product_changelist",
                gettext_lazy("Products and their product lines, with list prices."),
            ),
            (
                gettext_lazy("Campaigns"),
                "admin:sales_campaign_changelist",
                gettext_lazy("Marketing campaigns that leads and customers are attributed to."),
            ),
        ],
    ),
    (
        gettext_lazy("Support"),
        [
            (
                gettext_lazy("SLA policies"),
                "admin:support_slapolicy_changelist",
                gettext_lazy(
                    "First response and resolution targets in business minutes, which tickets "
                    "they apply to, the warning window and what happens on a breach."
                ),
            ),
            (
                gettext_lazy("Business schedules and holidays"),
                "admin:support_businessschedule_changelist",
                gettext_lazy(
                    "Working hours per weekday and the holidays on which SLA clocks do not run."
                ),
            ),
            (
                gettext_lazy("Canned responses"),
                "admin:support_cannedresponse_changelist",
                gettext_lazy(
                    "Reusable replies; {customer_name}, {ticket_number} and {agent_name} are "
                    "filled in."
                ),
            ),
            (
                gettext_lazy("Agent availability"),
                "admin:support_agentavailability_changelist",
                gettext_lazy("Who takes new tickets when they are assigned automatically."),
            ),
        ],
    ),
    (
        gettext_lazy("Surveys"),
        [
            (
                gettext_lazy("Survey settings"),
                "admin:surveys_survey_changelist",
                gettext_lazy(
                    "NPS and CSAT surveys: trigger, delay, sampling, cooldown and link expiry."
                ),
            ),
        ],
    ),
    (
        gettext_lazy("People and access"),
        [
            (
                gettext_lazy("Users"),
                "admin:auth_user_changelist",
                gettext_lazy("Accounts; give each person a role by adding them to its group."),
            ),
            (
                gettext_lazy("Teams"),
                "admin:customers_team_changelist",
                gettext_lazy("Teams, their manager and members; records are shared by team."),
            ),
            (
                gettext_lazy("Roles"),
                "admin:auth_group_changelist",
                gettext_lazy(
                    "Sales rep, Support agent, Manager and Admin; what each may see is fixed "
                    "by the role."
                ),
            ),
            (
                gettext_lazy("Segments and channels"),
                "admin:customers_segment_changelist",
                gettext_lazy("Customer segments (with their inactivity rule) and channels."),
            ),
        ],
    ),
    (
        gettext_lazy("Audit and data rights"),
        [
            (
                gettext_lazy("Audit trail"),
                "audit:events",
                gettext_lazy(
                    "Who changed which record, when, through which door, and the values before "
                    "and after; sign-ins and failed sign-ins."
                ),
            ),
        ],
    ),
    (
        gettext_lazy("Schedules"),
        [
            (
                gettext_lazy("Periodic jobs"),
                "admin:django_celery_beat_periodictask_changelist",
                gettext_lazy("When KPIs are computed, SLA escalations run and surveys go out."),
            ),
        ],
    ),
]


def admin_sections() -> list[AdminSection]:
    """The sections with their URLs; a model missing from the admin is left out."""
    sections = []
    for title, entries in ADMIN_SECTIONS:
        links = []
        for label, url_name, help_text in entries:
            try:
                links.append(AdminLink(label, reverse(url_name), help_text))
            except NoReverseMatch:
                continue
        if links:
            sections.append(AdminSection(title, links))
    return sections


@role_required(ADMIN)
def administration(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/administration.html", {"sections": admin_sections()})

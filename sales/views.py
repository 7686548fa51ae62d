"""Sales workspace pages: my day, deals, leads and their conversion, the pipeline board,
activities and order entry.

Views parse input and call sales.services; every record is looked up through its visibility
selector, so a record of another team is a 404. Support agents have no sales pages.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.encryption.fields import blind_index_q
from crm.importing.export import (
    MONEY_FORMAT,
    ExportColumn,
    choice_labels,
    export_format,
    export_response,
    export_rows,
)
from crm.roles import MANAGER, SALES_REP
from crm.saved_view_views import with_default_view
from crm.views import role_required
from customers.forms import label_empty_choices
from customers.models import Channel, Customer
from customers.selectors import customers_listed_to, customers_visible_to, rfm_segment_counts
from kpis.activity import ActivityRules, lifecycle_status_at
from sales.filters import LeadFilter
from sales.forms import (
    ActivityForm,
    LeadConvertForm,
    OrderForm,
    OrderLineFormSet,
    service_errors_to_form,
)
from sales.models import Activity, Lead, Opportunity, OpportunityStageChange, PipelineStage, Product
from sales.selectors import (
    activities_visible_to,
    leads_visible_to,
    opportunities_visible_to,
)
from sales.services import (
    activity_complete,
    activity_log,
    lead_convert,
    opportunity_move_stage,
    opportunity_update,
)
from sales.services import order_create as order_create_service

PAGE_SIZE = 25
sales_roles = role_required(SALES_REP, MANAGER)

OPEN_LEAD_STATUSES = (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)
MY_DAY_LIMIT = 15
DUE_SOON_DAYS = 7
CLOSING_SOON_DAYS = 30
# The board shows open deals and the ones closed lately, so wins stay visible for a while.
BOARD_RECENTLY_CLOSED_DAYS = 30
BOARD_CARDS_PER_STAGE = 50
AT_RISK_BANDS = ("red",)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _error_messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


# --- deals list (unchanged behaviour) ------------------------------------------------------------


OPPORTUNITY_EXPORT_COLUMNS = (
    ExportColumn(gettext_lazy("Deal"), "name"),
    ExportColumn(gettext_lazy("Customer"), "customer__name"),
    ExportColumn(gettext_lazy("Kind"), "kind", choice_labels(Opportunity.Kind.choices)),
    ExportColumn(gettext_lazy("Stage"), "stage__name"),
    ExportColumn(gettext_lazy("Outcome"), "outcome", choice_labels(Opportunity.Outcome.choices)),
    ExportColumn(gettext_lazy("Amount"), "amount", number_format=MONEY_FORMAT),
    ExportColumn(gettext_lazy("Currency"), "currency"),
    ExportColumn(gettext_lazy("Probability"), "probability"),
    ExportColumn(
        gettext_lazy("Forecast category"),
        "forecast_category",
        choice_labels(Opportunity.ForecastCategory.choices),
    ),
    ExportColumn(gettext_lazy("Expected close"), "expected_close_date"),
    ExportColumn(gettext_lazy("Owner"), "owner__username"),
    ExportColumn(gettext_lazy("Team"), "team__name"),
    ExportColumn(gettext_lazy("Lost reason"), "lost_reason"),
    ExportColumn(gettext_lazy("Created"), "created_at"),
    ExportColumn(gettext_lazy("Closed"), "closed_at"),
    ExportColumn(gettext_lazy("External id"), "external_id"),
)


def _filtered_opportunities(request: HttpRequest) -> tuple[Any, str, str]:
    """The visible deals narrowed by the search and open/all switch: shared by list and export."""
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
    return opportunities, q, show


@sales_roles
@with_default_view("deals")
def opportunity_list(request: HttpRequest) -> HttpResponseBase:
    opportunities, q, show = _filtered_opportunities(request)
    file_format = export_format(request)
    if file_format is not None:
        return export_response(
            rows=export_rows(opportunities, OPPORTUNITY_EXPORT_COLUMNS),
            columns=OPPORTUNITY_EXPORT_COLUMNS,
            filename="deals",
            file_format=file_format,
        )
    page = Paginator(opportunities, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/opportunity_list.html",
        {"page_obj": page, "opportunities": page.object_list, "q": q, "show": show},
    )


# --- my day --------------------------------------------------------------------------------------


@sales_roles
def my_day(request: HttpRequest) -> HttpResponse:
    """What the signed-in rep should do today: their own records only, each list capped."""
    user = request.user
    now = timezone.now()
    today = timezone.localdate()
    open_mine = activities_visible_to(user).filter(owner_id=user.pk, done_at__isnull=True)
    related = ("customer", "lead", "opportunity")
    overdue = list(
        open_mine.filter(due_at__lt=now)
        .select_related(*related)
        .order_by("due_at", "id")[:MY_DAY_LIMIT]
    )
    due = list(
        open_mine.filter(due_at__gte=now, due_at__lt=now + dt.timedelta(days=DUE_SOON_DAYS))
        .select_related(*related)
        .order_by("due_at", "id")[:MY_DAY_LIMIT]
    )
    leads = list(
        leads_visible_to(user)
        .filter(owner_id=user.pk, status__in=OPEN_LEAD_STATUSES)
        .select_related("channel")
        .order_by("-created_at", "id")[:MY_DAY_LIMIT]
    )
    closing = list(
        opportunities_visible_to(user)
        .filter(
            owner_id=user.pk,
            outcome=Opportunity.Outcome.OPEN,
            expected_close_date__lte=today + dt.timedelta(days=CLOSING_SOON_DAYS),
        )
        .select_related("customer", "stage")
        .order_by("expected_close_date", "id")[:MY_DAY_LIMIT]
    )
    at_risk = list(
        customers_visible_to(user)
        .filter(owner_id=user.pk)
        .filter(Q(rfm_segment=Customer.RfmSegment.AT_RISK) | Q(health_band__in=AT_RISK_BANDS))
        # Churned customers are lost already, not at risk (the KPI activity rule, catalogue §1).
        .annotate(status_now=lifecycle_status_at(now, ActivityRules.load()))
        .exclude(status_now=Customer.Status.CHURNED)
        .select_related("segment")
        .order_by(F("health_score").asc(nulls_last=True), "name", "id")[:MY_DAY_LIMIT]
    )
    # The rep's own customers per segment, each linking to the customer list filtered the same
    # way (owner and segment), which lists exactly the customers counted.
    segments = rfm_segment_counts(customers_listed_to(user).filter(owner_id=user.pk))
    return render(
        request,
        "sales/my_day.html",
        {
            "segments": segments,
            "overdue": overdue,
            "due": due,
            "leads": leads,
            "closing": closing,
            "at_risk": at_risk,
            "today": today,
            "now": now,
        },
    )


# --- activities ----------------------------------------------------------------------------------


def _activity_target(request: HttpRequest) -> tuple[str, Any, str]:
    """The record an activity is logged on, through its visibility selector (else 404)."""
    user = request.user
    if request.POST.get("opportunity"):
        deal = get_object_or_404(
            opportunities_visible_to(user).select_related("customer"),
            pk=_int_or_404(request.POST["opportunity"]),
        )
        return "opportunity", deal, reverse("sales:opportunity_detail", args=[deal.pk])
    if request.POST.get("lead"):
        lead = get_object_or_404(leads_visible_to(user), pk=_int_or_404(request.POST["lead"]))
        return "lead", lead, reverse("sales:lead_detail", args=[lead.pk])
    customer = get_object_or_404(
        customers_visible_to(user), pk=_int_or_404(request.POST.get("customer", ""))
    )
    return "customer", customer, reverse("customers:detail", args=[customer.pk])


def _int_or_404(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


@require_POST
@sales_roles
def activity_log_view(request: HttpRequest) -> HttpResponse:
    """Log a call, e-mail, meeting, note or task; htmx swaps the form and refreshes the timeline."""
    target_field, target, target_url = _activity_target(request)
    form = ActivityForm(request.POST)
    logged = None
    if form.is_valid():
        data = form.cleaned_data
        now = timezone.now()
        due_at = data["due_at"]
        # A task, or anything dated in the future, is still to do; the rest happened just now.
        scheduled = data["kind"] == Activity.Kind.TASK or (due_at is not None and due_at > now)
        try:
            logged = activity_log(
                kind=data["kind"],
                subject=data["subject"],
                notes=data["notes"],
                owner=request.user,  # type: ignore[arg-type]
                due_at=due_at,
                done_at=None if scheduled else now,
                **{target_field: target},
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
    context = {
        "form": ActivityForm() if logged else form,
        "logged": logged,
        "target_field": target_field,
        "target_id": target.pk,
    }
    if _is_htmx(request):
        response = render(request, "sales/_activity_form.html", context)
        if logged:
            response["HX-Trigger"] = "activityLogged"
        return response
    if logged:
        messages.success(request, _("Activity logged."))
        return redirect(_safe_next(request, target_url))
    context.update({"target": target, "target_url": target_url})
    return render(request, "sales/activity_form_page.html", context, status=400)


@require_POST
@sales_roles
def activity_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(activities_visible_to(request.user), pk=pk)
    try:
        activity_complete(activity=activity)
        messages.success(request, _("Marked as done: %(subject)s") % {"subject": activity.subject})
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    return redirect(_safe_next(request, reverse("sales:my_day")))


# --- leads ---------------------------------------------------------------------------------------


LEAD_EXPORT_COLUMNS = (
    ExportColumn(gettext_lazy("Name"), "name"),
    ExportColumn(gettext_lazy("Company"), "company"),
    ExportColumn(gettext_lazy("E-mail"), "email"),
    ExportColumn(gettext_lazy("Phone"), "phone"),
    ExportColumn(gettext_lazy("Status"), "status", choice_labels(Lead.Status.choices)),
    ExportColumn(gettext_lazy("Source"), "source", choice_labels(Lead.Source.choices)),
    ExportColumn(gettext_lazy("Acquisition channel"), "channel__name"),
    ExportColumn(gettext_lazy("Owner"), "owner__username"),
    ExportColumn(gettext_lazy("Team"), "team__name"),
    ExportColumn(gettext_lazy("Created"), "created_at"),
    ExportColumn(gettext_lazy("Converted"), "converted_at"),
    ExportColumn(gettext_lazy("Customer"), "converted_customer__name"),
    ExportColumn(gettext_lazy("External id"), "external_id"),
)


def _lead_filter(request: HttpRequest) -> LeadFilter:
    """The visible leads behind the filter bar, whose menus offer only visible owners and
    channels: shared by list and export."""
    visible = leads_visible_to(request.user)
    lead_filter = LeadFilter(
        request.GET, queryset=visible.select_related("owner", "channel", "converted_customer")
    )
    fields = lead_filter.form.fields
    fields["owner"].queryset = (
        get_user_model()
        .objects.filter(  # type: ignore[attr-defined]
            pk__in=visible.values("owner")
        )
        .order_by("username")
    )
    fields["channel"].queryset = Channel.objects.filter(  # type: ignore[attr-defined]
        pk__in=visible.values("channel")
    )
    return lead_filter


@sales_roles
@with_default_view("leads")
def lead_list(request: HttpRequest) -> HttpResponseBase:
    lead_filter = _lead_filter(request)
    leads = lead_filter.qs.order_by("-created_at", "-id")
    file_format = export_format(request)
    if file_format is not None:
        return export_response(
            rows=export_rows(leads, LEAD_EXPORT_COLUMNS),
            columns=LEAD_EXPORT_COLUMNS,
            filename="leads",
            file_format=file_format,
        )
    for name in ("status", "source", "owner", "channel"):
        lead_filter.form.fields[name].widget.attrs["class"] = "form-select form-select-sm"
    label_empty_choices(lead_filter.form)
    page = Paginator(leads, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/lead_list.html",
        {
            "page_obj": page,
            "leads": page.object_list,
            "filter_form": lead_filter.form,
            "q": request.GET.get("q", "").strip(),
            "convertible": OPEN_LEAD_STATUSES,
        },
    )


@sales_roles
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(
        leads_visible_to(request.user).select_related(
            "owner", "team", "channel", "campaign", "converted_customer"
        ),
        pk=pk,
    )
    activities = (
        activities_visible_to(request.user)
        .filter(lead_id=lead.pk)
        .select_related("owner")
        .order_by("-created_at", "-id")[:50]
    )
    return render(
        request,
        "sales/lead_detail.html",
        {
            "lead": lead,
            "activities": activities,
            "activity_form": ActivityForm(),
            "convertible": lead.status in OPEN_LEAD_STATUSES,
        },
    )


LINK_SUGGESTIONS = 50


@sales_roles
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm page, then lead_convert: a new or linked customer and, if asked, a deal."""
    lead = get_object_or_404(leads_visible_to(request.user).select_related("owner"), pk=pk)
    visible_customers = customers_visible_to(request.user)
    search = request.GET.get("find", "").strip() or lead.company or lead.name
    suggestions = list(
        visible_customers.filter(
            Q(name__icontains=search) | blind_index_q(Customer, "email", lead.email)
        ).order_by("name", "id")[:LINK_SUGGESTIONS]
    )
    form = LeadConvertForm(
        request.POST if request.method == "POST" else None, customers=visible_customers
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer, opportunity = lead_convert(
                lead=lead,
                actor=request.user,  # type: ignore[arg-type]
                customer=data["customer"] if data["mode"] == form.MODE_EXISTING else None,
                create_opportunity=data["create_opportunity"],
                opportunity_amount=data["opportunity_amount"],
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            if opportunity is not None:
                messages.success(
                    request,
                    _("Lead converted: %(customer)s, with the deal “%(deal)s”.")
                    % {"customer": customer.name, "deal": opportunity.name},
                )
            else:
                messages.success(
                    request, _("Lead converted: %(customer)s.") % {"customer": customer.name}
                )
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "sales/lead_convert.html",
        {
            "lead": lead,
            "form": form,
            "suggestions": suggestions,
            "find": search,
            "convertible": lead.status in OPEN_LEAD_STATUSES,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- pipeline board ------------------------------------------------------------------------------


def _board_deals(request: HttpRequest) -> Any:
    since = timezone.now() - dt.timedelta(days=BOARD_RECENTLY_CLOSED_DAYS)
    deals = opportunities_visible_to(request.user).filter(
        Q(outcome=Opportunity.Outcome.OPEN) | Q(closed_at__gte=since),
        stage__is_active=True,
    )
    if request.GET.get("mine"):
        deals = deals.filter(owner_id=request.user.pk)
    return deals


@sales_roles
def pipeline(request: HttpRequest) -> HttpResponse:
    """Columns per active stage; each shows its deals and Σ amount × probability."""
    stages = list(PipelineStage.objects.filter(is_active=True).order_by("position", "id"))
    deals = _board_deals(request)
    weighted = ExpressionWrapper(
        F("amount") * F("probability"), output_field=DecimalField(max_digits=20, decimal_places=5)
    )
    totals = {
        row["stage_id"]: row
        for row in deals.order_by()
        .values("stage_id")
        .annotate(deal_count=Count("id"), amount_total=Sum("amount"), weighted_total=Sum(weighted))
    }
    # One query for every column's cards: the first N of each stage by close date.
    cards = (
        deals.select_related("customer", "owner")
        .annotate(
            position_in_stage=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close_date").asc(nulls_last=True), F("id").asc()],
            )
        )
        .filter(position_in_stage__lte=BOARD_CARDS_PER_STAGE)
        .order_by("stage_id", "position_in_stage")
    )
    by_stage: dict[int, list[Opportunity]] = {stage.pk: [] for stage in stages}
    for card in cards:
        by_stage.setdefault(card.stage_id, []).append(card)
    columns = []
    for stage in stages:
        row = totals.get(stage.pk, {})
        columns.append(
            {
                "stage": stage,
                "probability_percent": stage.probability * 100,
                "deals": by_stage.get(stage.pk, []),
                "count": row.get("deal_count", 0),
                "amount": row.get("amount_total") or Decimal("0"),
                "weighted": Decimal(str(row.get("weighted_total") or 0)).quantize(Decimal("0.01")),
            }
        )
    open_columns = [column for column in columns if not column["stage"].is_closed]
    return render(
        request,
        "sales/pipeline.html",
        {
            "columns": columns,
            "open_weighted": sum((column["weighted"] for column in open_columns), Decimal("0")),
            "open_amount": sum((column["amount"] for column in open_columns), Decimal("0")),
            "open_count": sum(column["count"] for column in open_columns),
            "stages": stages,
            "mine": bool(request.GET.get("mine")),
            "cards_per_stage": BOARD_CARDS_PER_STAGE,
        },
    )


@require_POST
@sales_roles
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal through opportunity_move_stage (history recorded); JSON for the board's
    drag-and-drop, a redirect with a message for the buttons."""
    deal = get_object_or_404(opportunities_visible_to(request.user), pk=pk)
    stage_id = _int_or_none(request.POST.get("stage"))
    stage = None if stage_id is None else PipelineStage.objects.filter(pk=stage_id).first()
    try:
        if stage is None:
            raise ValidationError({"to_stage": _("Choose a pipeline stage.")})
        moved = opportunity_move_stage(
            opportunity=deal,
            to_stage=stage,
            actor=request.user,  # type: ignore[arg-type]
            lost_reason=request.POST.get("lost_reason", "").strip()[:200],
        )
    except ValidationError as error:
        problems = _error_messages(error)
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": problems}, status=400)
        for message in problems:
            messages.error(request, message)
        return redirect(_safe_next(request, reverse("sales:opportunity_detail", args=[deal.pk])))
    text = _("“%(deal)s” moved to %(stage)s.") % {"deal": moved.name, "stage": stage.name}
    if _wants_json(request):
        return JsonResponse(
            {
                "ok": True,
                "message": text,
                "stage": stage.pk,
                "outcome": moved.outcome,
                "probability": str(moved.probability),
            }
        )
    messages.success(request, text)
    return redirect(_safe_next(request, reverse("sales:opportunity_detail", args=[deal.pk])))


@require_POST
@sales_roles
def opportunity_forecast_category(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the rep's forecast call on a deal through opportunity_update."""
    deal = get_object_or_404(opportunities_visible_to(request.user), pk=pk)
    try:
        updated = opportunity_update(
            opportunity=deal,
            actor=request.user,  # type: ignore[arg-type]
            forecast_category=request.POST.get("forecast_category", ""),
        )
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("“%(deal)s” is now forecast as %(category)s.")
            % {"deal": updated.name, "category": updated.get_forecast_category_display()},
        )
    return redirect(_safe_next(request, reverse("sales:opportunity_detail", args=[deal.pk])))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@sales_roles
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(
        opportunities_visible_to(request.user).select_related(
            "customer", "stage", "owner", "team", "lead"
        ),
        pk=pk,
    )
    history = (
        OpportunityStageChange.objects.filter(opportunity_id=deal.pk)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "id")
    )
    activities = (
        activities_visible_to(request.user)
        .filter(opportunity_id=deal.pk)
        .select_related("owner")
        .order_by("-created_at", "-id")[:50]
    )
    stages = PipelineStage.objects.filter(is_active=True).order_by("position", "id")
    return render(
        request,
        "sales/opportunity_detail.html",
        {
            "deal": deal,
            "history": history,
            "activities": activities,
            "stages": stages,
            "activity_form": ActivityForm(),
            "forecast_categories": Opportunity.ForecastCategory.choices,
        },
    )


# --- orders --------------------------------------------------------------------------------------


def _apply_order_errors(error: ValidationError, form: OrderForm, lines: Any, filled: list) -> None:
    """Service keys `lines[i]` point at the i-th filled line; others at the order form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, problems in error.message_dict.items():
        if key.startswith("lines[") and key.endswith("]"):
            index = _int_or_none(key[len("lines[") : -1])
            if index is not None and index < len(filled):
                filled[index].add_error(None, problems)
                continue
        form.add_error(key if key in form.fields else None, problems)


@sales_roles
def order_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Order entry with lines; order_create writes the order and its lines or nothing."""
    customer = get_object_or_404(customers_visible_to(request.user), pk=customer_pk)
    products = list(Product.objects.filter(is_active=True).order_by("name", "id"))
    posted = request.method == "POST"
    form = OrderForm(
        request.POST if posted else None,
        initial={"ordered_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    lines = OrderLineFormSet(
        request.POST if posted else None, prefix="lines", form_kwargs={"products": products}
    )
    if posted and form.is_valid() and lines.is_valid():
        filled = [line for line in lines.forms if line.has_changed()]
        try:
            order = order_create_service(
                customer=customer,
                ordered_at=form.cleaned_data["ordered_at"],
                status=form.cleaned_data["status"],
                lines=[
                    {
                        "product": line.cleaned_data["product"],
                        "quantity": line.cleaned_data["quantity"],
                        "unit_price": line.cleaned_data["unit_price"],
                    }
                    for line in filled
                ],
                owner=request.user,  # type: ignore[arg-type]
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as error:
            _apply_order_errors(error, form, lines, filled)
        else:
            messages.success(
                request,
                _("Order %(order)s saved: %(total)s %(currency)s.")
                % {"order": order, "total": order.total, "currency": order.currency},
            )
            return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
    return render(
        request,
        "sales/order_form.html",
        {"customer": customer, "form": form, "lines": lines, "products": products},
        status=400 if posted else 200,
    )

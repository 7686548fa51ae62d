"""Record pages of the sales workspace: create and edit leads and deals, qualify, disqualify and
merge leads, close deals as won or lost, and the order page with edit, cancel and refund.

Every record is read through its visibility selector (another team's record is a 404); every
write goes through sales.services, whose refusal is shown next to its field with nothing saved;
a successful POST redirects. Edit forms carry the version the person saw (crm.concurrency).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.concurrency import EDIT_VERSION_FIELD, edit_version
from crm.encryption.fields import blind_index_q
from crm.forms import customer_matches, service_errors_to_form
from crm.roles import MANAGER, SALES_REP
from crm.views import role_required
from customers.selectors import customers_visible_to
from sales import services
from sales.models import CloseReason, Lead, Opportunity, Order
from sales.record_forms import (
    CloseReasonForm,
    DealCreateForm,
    DealEditForm,
    DuplicateChoiceForm,
    LeadForm,
    OrderEditForm,
    OrderRefundForm,
)
from sales.selectors import (
    LeadDuplicates,
    close_reasons_offered,
    leads_visible_to,
    likely_duplicate_leads,
    opportunities_visible_to,
    orders_visible_to,
    sales_owners_choosable_by,
    teams_choosable_by,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

sales_roles = role_required(SALES_REP, MANAGER)
MERGE_CANDIDATES = 20
LEAD_FIELDS = (
    "name",
    "company",
    "email",
    "phone",
    "source",
    "channel",
    "campaign",
    "owner",
    "team",
)
# A change to any of these on edit is checked for likely duplicates again.
LEAD_IDENTITY = ("name", "company", "email", "phone")


def _actor(request: HttpRequest) -> User:
    """The signed-in user; every view here is behind role_required."""
    return cast("User", request.user)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _carry_saved_version(form: Any, record: Any, error: ValidationError) -> None:
    """After a stale refusal the form keeps the person's input but carries the saved version
    from now on, so saving again after checking overwrites knowingly (as the customer page)."""
    if getattr(error, "code", None) != "stale":
        return
    record.refresh_from_db(fields=["updated_at"])
    form.data = form.data.copy()
    form.data[EDIT_VERSION_FIELD] = edit_version(record)


def _form_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, posted: bool
) -> HttpResponse:
    """The form again: 400 after a refused POST, so clients and tests see the refusal."""
    return render(request, template, context, status=400 if posted else 200)


# --- leads ---------------------------------------------------------------------------------------


def _lead_form(request: HttpRequest, lead: Lead | None = None) -> LeadForm:
    user = request.user
    posted = request.method == "POST"
    initial: dict[str, Any] = {"owner": user.pk, "source": Lead.Source.OTHER}
    if lead is not None:
        initial = {name: getattr(lead, name) for name in LEAD_FIELDS}
    else:
        teams = list(teams_choosable_by(user)[:2])
        if len(teams) == 1:
            initial["team"] = teams[0].pk
    return LeadForm(
        request.POST if posted else None,
        initial=initial,
        record=lead,
        owners=sales_owners_choosable_by(user),
        teams=teams_choosable_by(user),
    )


def _lead_duplicates(
    request: HttpRequest, form: LeadForm, lead: Lead | None = None
) -> LeadDuplicates | None:
    """Likely duplicates of a valid posted lead, unless the person chose "create anyway" or an
    edit left the name, company, e-mail and phone as they were."""
    if request.method != "POST" or request.POST.get("create_anyway") or not form.is_valid():
        return None
    data = form.cleaned_data
    if lead is not None and all(
        (data[name] or "") == (getattr(lead, name) or "") for name in LEAD_IDENTITY
    ):
        return None
    return (
        likely_duplicate_leads(
            user=request.user,
            name=data["name"],
            company=data["company"] or "",
            email=data["email"] or "",
            phone=data["phone"] or "",
            exclude_pk=lead.pk if lead else None,
            exclude_customer_pk=lead.converted_customer_id if lead else None,
        )
        or None
    )


def _lead_form_page(
    request: HttpRequest, form: LeadForm, lead: Lead | None, duplicates: LeadDuplicates | None
) -> HttpResponse:
    """The lead form again: with the likely duplicates (200, nothing refused) or after a
    refused POST (400)."""
    return render(
        request,
        "sales/lead_form.html",
        {"form": form, "lead": lead, "duplicates": duplicates},
        status=400 if request.method == "POST" and not duplicates else 200,
    )


@sales_roles
def lead_create(request: HttpRequest) -> HttpResponse:
    form = _lead_form(request)
    posted = request.method == "POST"
    duplicates = _lead_duplicates(request, form)
    if posted and form.is_valid() and not duplicates:
        data = {name: form.cleaned_data[name] for name in LEAD_FIELDS}
        try:
            lead = services.lead_create(**data, actor=_actor(request))
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, _("Lead “%(name)s” created.") % {"name": lead.name})
            return redirect("sales:lead_detail", pk=lead.pk)
    return _lead_form_page(request, form, None, duplicates)


@sales_roles
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    form = _lead_form(request, lead)
    posted = request.method == "POST"
    duplicates = _lead_duplicates(request, form, lead)
    if posted and form.is_valid() and not duplicates:
        data = {name: form.cleaned_data[name] for name in LEAD_FIELDS}
        try:
            services.lead_update(
                lead=lead, actor=_actor(request), seen_version=form.seen_version, **data
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
            _carry_saved_version(form, lead, error)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return _lead_form_page(request, form, lead, duplicates)


@require_POST
@sales_roles
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    try:
        services.lead_set_status(lead=lead, status=Lead.Status.QUALIFIED, actor=_actor(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Lead qualified."))
    return redirect("sales:lead_detail", pk=lead.pk)


@sales_roles
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    posted = request.method == "POST"
    form = CloseReasonForm(
        request.POST if posted else None,
        reasons=close_reasons_offered(CloseReason.Kind.LEAD_DISQUALIFIED),
    )
    if posted and form.is_valid():
        try:
            services.lead_disqualify(
                lead=lead, reason=form.cleaned_data["reason"], actor=_actor(request)
            )
        except ValidationError as error:
            service_errors_to_form(form, error, {"disqualified_reason": "reason"})
        else:
            messages.success(request, _("Lead disqualified."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return _form_page(
        request, "sales/lead_disqualify.html", {"form": form, "lead": lead}, posted=posted
    )


def _lead_candidates(request: HttpRequest, lead: Lead, find: str) -> list[Lead]:
    """Visible leads that may be the duplicate of `lead`: name or company containing `find`,
    or the same e-mail or phone (blind indexes)."""
    rule = Q(name__icontains=find) | Q(company__icontains=find) if find else Q(pk__in=[])
    if lead.email:
        rule |= blind_index_q(Lead, "email", lead.email)
    if lead.phone:
        rule |= blind_index_q(Lead, "phone", lead.phone)
    return list(
        _mergeable_leads(request, lead).filter(rule).order_by("name", "id")[:MERGE_CANDIDATES]
    )


def _mergeable_leads(request: HttpRequest, lead: Lead) -> Any:
    return (
        leads_visible_to(request.user)
        .exclude(pk=lead.pk)
        .exclude(status__in=[Lead.Status.MERGED, Lead.Status.CONVERTED])
    )


def _shown(record: Any, name: str) -> str:
    """A field's value as a person reads it: a choice's label, a person's name, or the text."""
    display = getattr(record, f"get_{name}_display", None)
    if display is not None:
        return str(display())
    value = getattr(record, name)
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return str(value.get_full_name() or value.get_username())
    return str(value)


def merge_rows(
    survivor: Any, duplicate: Any, form: Any, fields: tuple[str, ...], defaults: frozenset[str]
) -> list[dict[str, Any]]:
    """One row per field a person picks on a merge page: both values and which one survives."""
    rows = []
    for name in fields:
        stays, other = _shown(survivor, name), _shown(duplicate, name)
        rows.append(
            {
                "name": name,
                "label": survivor._meta.get_field(name).verbose_name,
                "stays": stays,
                "duplicate": other,
                "differs": stays != other,
                "take": stays != other and form.takes(name, name in defaults),
            }
        )
    return rows


@sales_roles
def lead_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick a duplicate of this lead (search by name or company), compare both side by side,
    choose per field whose value survives, and merge it into this one."""
    related = ("owner", "team", "channel", "campaign")
    lead = get_object_or_404(leads_visible_to(request.user).select_related(*related), pk=pk)
    posted = request.method == "POST"
    find = request.GET.get("find", "").strip() or lead.name
    form = DuplicateChoiceForm(
        request.POST if posted else None,
        candidates=_mergeable_leads(request, lead).select_related(*related),
        merge_fields=services.LEAD_MERGE_FIELDS,
    )
    duplicate = None
    refusal = ""
    if posted:
        if form.is_valid():
            duplicate = form.cleaned_data["duplicate"]
            defaults = services.lead_merge_defaults(survivor=lead, duplicate=duplicate)
            try:
                services.lead_merge(
                    duplicate=duplicate,
                    into=lead,
                    take_from_duplicate=form.take_from_duplicate(defaults),
                    actor=_actor(request),
                )
            except ValidationError as error:
                service_errors_to_form(form, error)
            else:
                messages.success(
                    request,
                    _("Lead “%(name)s” merged into this lead.") % {"name": duplicate.name},
                )
                # An owner or team taken from the duplicate may put the lead out of sight.
                if not leads_visible_to(request.user).filter(pk=lead.pk).exists():
                    return redirect("sales:lead_list")
                return redirect("sales:lead_detail", pk=lead.pk)
    else:
        duplicate_id = _int_or_none(request.GET.get("duplicate"))
        if duplicate_id is not None:
            duplicate = get_object_or_404(
                leads_visible_to(request.user).select_related(*related), pk=duplicate_id
            )
            if duplicate.pk == lead.pk:
                refusal = _("A lead cannot be merged into itself.")
                duplicate = None
    rows = (
        merge_rows(
            lead,
            duplicate,
            form,
            services.LEAD_MERGE_FIELDS,
            services.lead_merge_defaults(survivor=lead, duplicate=duplicate),
        )
        if duplicate is not None
        else []
    )
    return _form_page(
        request,
        "sales/lead_merge.html",
        {
            "lead": lead,
            "duplicate": duplicate,
            "refusal": refusal,
            "form": form,
            "find": find,
            "rows": rows,
            "candidates": _lead_candidates(request, lead, find) if duplicate is None else [],
        },
        posted=posted,
    )


# --- deals ---------------------------------------------------------------------------------------


@sales_roles
def deal_create(request: HttpRequest) -> HttpResponse:
    """A new deal for a visible customer: first find the customer (unless the customer page or
    a pipeline column sent one), then the deal's details."""
    user = request.user
    visible = customers_visible_to(user)
    stage_id = _int_or_none(request.GET.get("stage"))
    customer_id = _int_or_none(request.GET.get("customer"))
    if customer_id is None:
        find = request.GET.get("find", "")
        return render(
            request,
            "sales/deal_customer_pick.html",
            {"find": find, "matches": customer_matches(visible, find), "stage": stage_id},
        )
    customer = get_object_or_404(visible.select_related("team"), pk=customer_id)
    posted = request.method == "POST"
    form = DealCreateForm(
        request.POST if posted else None,
        initial={
            "stage": stage_id,
            "owner": user.pk,
            "team": customer.team_id,
            "kind": Opportunity.Kind.NEW,
            "forecast_category": Opportunity.ForecastCategory.PIPELINE,
        },
        owners=sales_owners_choosable_by(user),
        teams=teams_choosable_by(user),
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.opportunity_create(
                customer=customer,
                name=data["name"],
                amount=data["amount"],
                stage=data["stage"],
                kind=data["kind"],
                expected_close_date=data["expected_close_date"],
                forecast_category=data["forecast_category"],
                owner=data["owner"],
                team=data["team"],
                actor=_actor(request),
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, _("Deal “%(name)s” created.") % {"name": deal.name})
            return redirect("sales:opportunity_detail", pk=deal.pk)
    return _form_page(
        request, "sales/deal_form.html", {"form": form, "customer": customer}, posted=posted
    )


DEAL_EDITED = ("name", "amount", "expected_close_date", "forecast_category", "next_step")


@sales_roles
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    deal = get_object_or_404(opportunities_visible_to(user).select_related("customer"), pk=pk)
    posted = request.method == "POST"
    initial: dict[str, Any] = {name: getattr(deal, name) for name in DEAL_EDITED}
    initial.update(
        probability_percent=(deal.probability * 100).quantize(Decimal("0.1")),
        owner=deal.owner_id,
        team=deal.team_id,
    )
    form = DealEditForm(
        request.POST if posted else None,
        initial=initial,
        record=deal,
        owners=sales_owners_choosable_by(user),
        teams=teams_choosable_by(user),
    )
    if posted and form.is_valid():
        data = {name: form.cleaned_data[name] for name in DEAL_EDITED}
        try:
            services.opportunity_update(
                opportunity=deal,
                actor=_actor(request),
                seen_version=form.seen_version,
                owner=form.cleaned_data["owner"],
                team=form.cleaned_data["team"],
                probability=form.probability,
                **data,
            )
        except ValidationError as error:
            service_errors_to_form(form, error, {"probability": "probability_percent"})
            _carry_saved_version(form, deal, error)
        else:
            messages.success(request, _("Deal saved."))
            return redirect("sales:opportunity_detail", pk=deal.pk)
    return _form_page(request, "sales/deal_edit.html", {"form": form, "deal": deal}, posted=posted)


@require_POST
@sales_roles
def deal_won(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(opportunities_visible_to(request.user), pk=pk)
    try:
        services.opportunity_mark_won(opportunity=deal, actor=_actor(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Deal won. Enter its order when the customer orders."))
    return redirect("sales:opportunity_detail", pk=deal.pk)


@sales_roles
def deal_lost(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(opportunities_visible_to(request.user), pk=pk)
    posted = request.method == "POST"
    form = CloseReasonForm(
        request.POST if posted else None,
        reasons=close_reasons_offered(CloseReason.Kind.DEAL_LOST),
    )
    if posted and form.is_valid():
        try:
            services.opportunity_mark_lost(
                opportunity=deal, reason=form.cleaned_data["reason"], actor=_actor(request)
            )
        except ValidationError as error:
            service_errors_to_form(form, error, {"lost_reason": "reason"})
        else:
            messages.success(request, _("Deal marked lost."))
            return redirect("sales:opportunity_detail", pk=deal.pk)
    return _form_page(request, "sales/deal_lost.html", {"form": form, "deal": deal}, posted=posted)


# --- orders --------------------------------------------------------------------------------------


def _visible_order(request: HttpRequest, pk: int) -> Order:
    return get_object_or_404(
        orders_visible_to(request.user).select_related("customer", "channel", "owner"), pk=pk
    )


def _order_page(
    request: HttpRequest,
    order: Order,
    *,
    refund_form: OrderRefundForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sales/order_detail.html",
        {
            "order": order,
            "lines": order.lines.select_related("product").order_by("id"),
            "refunds": order.refunds.order_by("refunded_at", "id"),
            "refund_form": refund_form or OrderRefundForm(),
            "can_change": order.status != Order.Status.CANCELLED,
        },
        status=status,
    )


@sales_roles
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, _visible_order(request, pk))


@sales_roles
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _visible_order(request, pk)
    posted = request.method == "POST"
    form = OrderEditForm(
        request.POST if posted else None,
        initial={"channel": order.channel_id, "owner": order.owner_id},
        record=order,
        owners=sales_owners_choosable_by(request.user),
    )
    if posted and form.is_valid():
        try:
            services.order_update(
                order=order,
                actor=_actor(request),
                seen_version=form.seen_version,
                channel=form.cleaned_data["channel"],
                owner=form.cleaned_data["owner"],
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
            _carry_saved_version(form, order, error)
        else:
            messages.success(request, _("Order saved."))
            return redirect("sales:order_detail", pk=order.pk)
    return _form_page(
        request, "sales/order_edit.html", {"form": form, "order": order}, posted=posted
    )


@require_POST
@sales_roles
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _visible_order(request, pk)
    try:
        services.order_cancel(order=order, actor=_actor(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Order cancelled."))
    return redirect("sales:order_detail", pk=order.pk)


@require_POST
@sales_roles
def order_refund(request: HttpRequest, pk: int) -> HttpResponse:
    order = _visible_order(request, pk)
    form = OrderRefundForm(request.POST)
    if form.is_valid():
        try:
            refund = services.order_refund(
                order=order,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(
                request,
                _("Refund of %(amount)s %(currency)s recorded.")
                % {"amount": refund.amount, "currency": order.currency},
            )
            return redirect("sales:order_detail", pk=order.pk)
    return _order_page(request, order, refund_form=form, status=400)

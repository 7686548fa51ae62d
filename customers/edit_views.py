"""Customer record pages: create (with the first contact and the likely-duplicate check), edit,
contacts, the pickers' JSON and merge.

Every page starts from the visibility selectors, so another team's customer is a 404; writes go
through customers.services, whose messages are shown next to the field; nothing is saved on an
error and a successful POST redirects.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Field, Q
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.concurrency import edit_version
from crm.roles import MANAGER, SALES_REP
from crm.views import role_required
from customers import services
from customers.edit_forms import (
    ContactEditForm,
    ContactForm,
    CustomerForm,
    FirstContactForm,
    MergeForm,
    picker_label,
)
from customers.models import Contact, Customer
from customers.selectors import (
    channels_assignable,
    customers_listed_to,
    likely_duplicate_customers,
    owners_assignable_by,
    segments_assignable,
    teams_assignable_by,
)
from sales.models import Campaign

# Who creates, edits and merges customers; agents read them from their tickets.
EDITORS = (SALES_REP, MANAGER)
PICKER_LIMIT = 20


def _apply_errors(
    error: ValidationError, form: Form, prefixed: dict[str, Form] | None = None
) -> None:
    """The service's messages next to their fields: `contact_first_name` → the contact form's
    `first_name`; unknown fields and messages without one above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        target, field = form, name
        for prefix, other in (prefixed or {}).items():
            if name.startswith(f"{prefix}_") and name[len(prefix) + 1 :] in other.fields:
                target, field = other, name[len(prefix) + 1 :]
        target.add_error(field if field in target.fields else None, errors)


def _editable_customer(request: HttpRequest, pk: int) -> Customer:
    """A visible customer that is still its own record (a merged one is edited as its survivor)."""
    return get_object_or_404(customers_listed_to(request.user), pk=pk)


@role_required(*EDITORS)
def customer_create(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = CustomerForm(
        request.POST if posted else None,
        user=request.user,
        initial={"owner": request.user.pk, "kind": Customer.Kind.COMPANY, "language": "en"},
    )
    contact_form = FirstContactForm(request.POST if posted else None, prefix="contact")
    duplicates: list[Any] = []
    if posted and form.is_valid() and contact_form.is_valid():
        fields = form.service_fields()
        if not request.POST.get("create_anyway"):
            duplicates = likely_duplicate_customers(
                user=request.user,
                name=fields["name"],
                email=fields["email"],
                phone=fields["phone"],
                kind=fields["kind"],
            )
        if not duplicates:
            try:
                customer = services.customer_create(
                    **fields,
                    first_contact=contact_form.cleaned_data if contact_form.is_filled() else None,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as error:
                _apply_errors(error, form, {"contact": contact_form})
            else:
                messages.success(request, _("Customer %(name)s created.") % {"name": customer})
                return redirect("customers:detail", customer.pk)
    failed = posted and not duplicates
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "contact_form": contact_form, "duplicates": duplicates, "customer": None},
        status=400 if failed else 200,
    )


def _customer_initial(customer: Customer) -> dict[str, Any]:
    initial: dict[str, Any] = {
        name: getattr(customer, name)
        for name in ("kind", "name", "email", "phone", "language", "contract_end_date")
    }
    for name in ("owner", "team", "segment", "channel", "campaign", "referred_by"):
        initial[name] = getattr(customer, f"{name}_id")
    initial["edit_version"] = edit_version(customer)
    return initial


# Fields a duplicate is recognised by: an edit changing one of them is checked again.
IDENTITY_FIELDS = ("kind", "name", "email", "phone")


@role_required(*EDITORS)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    posted = request.method == "POST"
    form = CustomerForm(
        request.POST if posted else None, user=request.user, initial=_customer_initial(customer)
    )
    duplicates: list[Any] = []
    if posted and form.is_valid():
        fields = form.service_fields()
        identity_changed = any(fields[name] != getattr(customer, name) for name in IDENTITY_FIELDS)
        if identity_changed and not request.POST.get("save_anyway"):
            duplicates = likely_duplicate_customers(
                user=request.user,
                name=fields["name"],
                email=fields["email"],
                phone=fields["phone"],
                kind=fields["kind"],
                exclude_pk=customer.pk,
            )
        if not duplicates:
            try:
                services.customer_update(
                    customer=customer,
                    seen_version=form.cleaned_data["edit_version"],
                    actor=request.user,  # type: ignore[arg-type]
                    **fields,
                )
            except ValidationError as error:
                if getattr(error, "code", None) == "stale":
                    # The input stays; the form now carries the saved version, so saving again
                    # after checking overwrites knowingly.
                    data = request.POST.copy()
                    customer.refresh_from_db()
                    data["edit_version"] = edit_version(customer)
                    form = CustomerForm(
                        data, user=request.user, initial=_customer_initial(customer)
                    )
                    form.is_valid()
                _apply_errors(error, form)
            else:
                messages.success(request, _("Customer %(name)s saved.") % {"name": customer.name})
                return redirect("customers:detail", customer.pk)
    failed = posted and not duplicates
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "contact_form": None, "duplicates": duplicates, "customer": customer},
        status=400 if failed else 200,
    )


# --- contacts -----------------------------------------------------------------------------------


@role_required(*EDITORS)
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    posted = request.method == "POST"
    form = ContactForm(request.POST if posted else None)
    if posted and form.is_valid():
        try:
            contact = services.contact_create(customer=customer, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(error, form)
        else:
            messages.success(request, _("Contact %(name)s added.") % {"name": contact})
            return redirect("customers:detail", customer.pk)
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "contact": None},
        status=400 if posted else 200,
    )


def _contact_of(request: HttpRequest, pk: int, contact_pk: int) -> tuple[Customer, Contact]:
    customer = _editable_customer(request, pk)
    return customer, get_object_or_404(Contact, customer_id=customer.pk, pk=contact_pk)


def _contact_initial(contact: Contact) -> dict[str, Any]:
    initial: dict[str, Any] = {name: getattr(contact, name) for name in ContactForm.base_fields}
    initial["edit_version"] = services.contact_version(contact)
    return initial


@role_required(*EDITORS)
def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer, contact = _contact_of(request, pk, contact_pk)
    posted = request.method == "POST"
    form = ContactEditForm(request.POST if posted else None, initial=_contact_initial(contact))
    if posted and form.is_valid():
        try:
            services.contact_update(
                contact=contact,
                seen_version=form.cleaned_data["edit_version"],
                actor=request.user,  # type: ignore[arg-type]
                **form.service_fields(),
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "stale":
                # The input stays; the form now carries the saved version, so saving again
                # after checking overwrites knowingly.
                data = request.POST.copy()
                contact.refresh_from_db()
                data["edit_version"] = services.contact_version(contact)
                form = ContactEditForm(data, initial=_contact_initial(contact))
                form.is_valid()
            _apply_errors(error, form)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": contact})
            return redirect("customers:detail", customer.pk)
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "contact": contact},
        status=400 if posted else 200,
    )


@require_POST
@role_required(*EDITORS)
def contact_make_primary(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer, contact = _contact_of(request, pk, contact_pk)
    services.contact_update(contact=contact, is_primary=True)
    messages.success(request, _("%(name)s is now the primary contact.") % {"name": contact})
    return redirect("customers:detail", customer.pk)


# --- pickers ------------------------------------------------------------------------------------


def _picker_choices(user: Any, kind: str, term: str) -> Any:
    """What the user may choose for a picker, narrowed by the typed term (one query)."""
    if kind == "owner":
        return (
            owners_assignable_by(user)
            .filter(
                Q(username__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
            )
            .order_by("first_name", "last_name", "username")
        )
    if kind == "team":
        return teams_assignable_by(user).filter(name__icontains=term)
    if kind == "segment":
        return segments_assignable().filter(name__icontains=term)
    if kind == "channel":
        return channels_assignable().filter(name__icontains=term)
    if kind == "campaign":
        return Campaign.objects.filter(name__icontains=term)
    if kind == "customer":
        return customers_listed_to(user).filter(name__icontains=term).order_by("name", "pk")
    raise Http404


@require_GET
@role_required(*EDITORS)
def picker(request: HttpRequest, kind: str) -> JsonResponse:
    """{"results": [{"id", "label"}]}: at most PICKER_LIMIT of what the user may choose."""
    term = request.GET.get("q", "").strip()[:100]
    rows = _picker_choices(request.user, kind, term)[:PICKER_LIMIT]
    return JsonResponse({"results": [{"id": row.pk, "label": picker_label(row)} for row in rows]})


# --- merge --------------------------------------------------------------------------------------


def _merge_rows(target: Customer, source: Customer) -> list[dict[str, Any]]:
    """One row per mergeable field: its label and both values as a person reads them."""
    rows = []
    for name in services.MERGE_FIELDS:
        field = cast("Field[Any, Any]", Customer._meta.get_field(name))
        values = []
        for customer in (target, source):
            value = getattr(customer, name)
            if hasattr(customer, f"get_{name}_display"):
                value = getattr(customer, f"get_{name}_display")()
            elif value is not None and hasattr(value, "pk"):
                value = picker_label(value)
            values.append(value)
        rows.append(
            {
                "name": name,
                "label": field.verbose_name,
                "target": values[0],
                "source": values[1],
                "differs": values[0] != values[1],
            }
        )
    return rows


@role_required(*EDITORS)
def customer_merge(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Merge another customer into this one (this one survives), or pick that customer first."""
    related = ("owner", "team", "segment", "channel", "campaign", "referred_by")
    listed = customers_listed_to(request.user).select_related(*related)
    target = get_object_or_404(listed, pk=pk)
    posted = request.method == "POST"
    other_id = request.POST.get("other") if posted else request.GET.get("other")
    source = None
    if other_id:
        if not str(other_id).isdigit():
            raise Http404
        source = get_object_or_404(listed, pk=int(other_id))
    form = MergeForm(
        request.POST if posted else None,
        fields=services.MERGE_FIELDS,
        initial={"other": source.pk if source else None},
    )
    if source is not None and source.pk == target.pk:
        form.add_error(None, _("A customer cannot be merged with itself."))
    elif posted and source is not None and form.is_valid():
        try:
            result = services.customer_merge(
                source=source,
                target=target,
                take_from_source=form.take_from_source(),
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as error:
            _apply_errors(error, form)
        else:
            messages.success(
                request,
                _("%(source)s was merged into %(target)s.")
                % {"source": source.name, "target": result.target.name},
            )
            return redirect("customers:detail", target.pk)
    suggestions = (
        likely_duplicate_customers(
            user=request.user,
            name=target.name,
            email=target.email,
            phone=target.phone,
            kind=target.kind,
            exclude_pk=target.pk,
        )
        if source is None
        else []
    )
    return render(
        request,
        "customers/merge.html",
        {
            "target": target,
            "source": source,
            "form": form,
            "rows": _merge_rows(target, source) if source is not None else [],
            "suggestions": suggestions,
        },
        status=400 if posted or form.errors else 200,
    )

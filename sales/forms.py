"""Forms of the sales workspace. They only parse input; the rules live in sales.services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.forms import service_errors_to_form  # noqa: F401  (the sales views import it here)
from crm.widgets import IsoDateTimeInput
from customers.models import Customer
from sales.models import Activity, Order, Product

# The kinds a person logs by hand; chat arrives through integrations.
LOGGABLE_KINDS = [
    (kind.value, kind.label)
    for kind in (
        Activity.Kind.CALL,
        Activity.Kind.EMAIL,
        Activity.Kind.MEETING,
        Activity.Kind.NOTE,
        Activity.Kind.TASK,
    )
]


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=LOGGABLE_KINDS,
        initial=Activity.Kind.CALL,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        widget=IsoDateTimeInput(),
        help_text=_("Required for a task; a future date schedules a call or meeting."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == Activity.Kind.TASK and not cleaned.get("due_at"):
            self.add_error("due_at", _("A task needs a due date."))
        return cleaned


class LeadConvertForm(forms.Form):
    MODE_NEW = "new"
    MODE_EXISTING = "existing"

    mode = forms.ChoiceField(
        label=_("Customer"),
        choices=[
            (MODE_NEW, _("Create a new customer from the lead")),
            (MODE_EXISTING, _("Link to an existing customer")),
        ],
        initial=MODE_NEW,
        widget=forms.RadioSelect,
    )
    customer = forms.ModelChoiceField(
        label=_("Existing customer"), queryset=Customer.objects.none(), required=False
    )
    create_opportunity = forms.BooleanField(
        label=_("Open a deal for this customer"), required=False, initial=True
    )
    opportunity_amount = forms.DecimalField(
        label=_("Deal amount"), required=False, max_digits=14, decimal_places=2
    )

    def __init__(self, *args: Any, customers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if customers is not None:
            # Only customers the user may see can be linked (visibility selector from the view).
            self.fields["customer"].queryset = customers  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == self.MODE_EXISTING and not cleaned.get("customer"):
            self.add_error("customer", _("Choose the customer to link."))
        return cleaned


class OrderForm(forms.Form):
    ordered_at = forms.DateTimeField(
        label=_("Ordered at"),
        widget=IsoDateTimeInput(),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Order.Status.COMPLETED, Order.Status.COMPLETED.label),
            (Order.Status.PENDING, Order.Status.PENDING.label),
            (Order.Status.DELIVERED, Order.Status.DELIVERED.label),
        ],
        initial=Order.Status.COMPLETED,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class OrderLineForm(forms.Form):
    # Ids, not a ModelChoiceField: the view reads the product menu once for every line, and
    # order_create resolves the ids in one query (an unknown one is refused there).
    product = forms.TypedChoiceField(label=_("Product"), coerce=int, choices=[])
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    # No min_value here: a negative price is refused by order_create, which owns that rule.
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("Empty uses the product's list price."),
    )

    def __init__(self, *args: Any, products: Iterable[Product] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (product.pk, f"{product.name} ({product.sku})") for product in products
        ]

    def has_changed(self) -> bool:
        # A row counts once a product or a price is entered; the pre-filled quantity alone
        # leaves a spare row empty (and skipped) rather than invalid.
        return any(
            (self.data.get(self.add_prefix(name)) or "").strip()
            for name in ("product", "unit_price")
        )


class BaseOrderLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(form.has_changed() for form in self.forms):
            raise ValidationError(_("An order needs at least one line."))


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseOrderLineFormSet, extra=3, max_num=50, validate_max=True
)

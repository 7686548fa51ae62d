"""Forms of the customer create, edit, contact and merge pages.

The choice fields' querysets are what the user may choose (customers.selectors); the searchable
pickers (PickerWidget + static/js/customer-pickers.js) ask the picker endpoint for the same sets.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from crm.concurrency import EditVersionField
from customers.models import Customer
from customers.selectors import (
    channels_assignable,
    customers_listed_to,
    owners_assignable_by,
    segments_assignable,
    teams_assignable_by,
)
from sales.models import Campaign


def picker_label(record: Any) -> str:
    """How a picked record reads in its picker: a user by full name, anything else by str()."""
    if hasattr(record, "get_username"):
        return str(record.get_full_name() or record.get_username())
    return str(record)


class PickerWidget(forms.Widget):
    """A hidden id plus a search box; the script fills a list from `customers:picker`."""

    template_name = "customers/widgets/picker.html"

    def __init__(self, kind: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.kind = kind

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        label = ""
        choices = getattr(self, "choices", None)
        if value not in (None, "") and choices is not None:
            record = choices.queryset.filter(pk=value).first() if str(value).isdigit() else None
            label = picker_label(record) if record is not None else ""
        context["widget"].update(
            {"picker_url": reverse("customers:picker", args=[self.kind]), "label": label}
        )
        return context

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # The project's templates, not the form renderer's (which sees Django's own only).
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


def _picker(kind: str, queryset: Any, label: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=queryset, required=False, label=label, widget=PickerWidget(kind)
    )


class CustomerForm(forms.Form):
    """The customer's own fields; the owner and team pickers hold what the user may assign."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    contract_end_date = forms.DateField(
        label=_("Contract end date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    edit_version = EditVersionField()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _picker("owner", owners_assignable_by(user), _("Owner"))
        self.fields["team"] = _picker("team", teams_assignable_by(user), _("Team"))
        self.fields["segment"] = _picker("segment", segments_assignable(), _("Segment"))
        self.fields["channel"] = _picker("channel", channels_assignable(), _("Acquisition channel"))
        self.fields["campaign"] = _picker("campaign", Campaign.objects.all(), _("Campaign"))
        self.fields["referred_by"] = _picker(
            "customer", customers_listed_to(user), _("Referred by")
        )

    def service_fields(self) -> dict[str, Any]:
        """cleaned_data as customer_create / customer_update keyword arguments."""
        return {name: value for name, value in self.cleaned_data.items() if name != "edit_version"}


class ContactForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)


class ContactEditForm(ContactForm):
    """A contact's edit form: carries the version of the contact the person saw."""

    edit_version = EditVersionField()

    def service_fields(self) -> dict[str, Any]:
        """cleaned_data as contact_update keyword arguments."""
        return {name: value for name, value in self.cleaned_data.items() if name != "edit_version"}


class FirstContactForm(ContactForm):
    """The contact entered with a new customer (prefix "contact"); optional as a whole."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["is_primary"]

    def is_filled(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if any(cleaned.get(name) for name in self.fields) and not cleaned.get("first_name"):
            self.add_error("first_name", _("A contact needs a first name."))
        return cleaned


class MergeForm(forms.Form):
    """Which customer disappears into this one, and per field whose value survives."""

    SOURCE, TARGET = "source", "target"

    other = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, fields: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merge_fields = fields
        for name in fields:
            self.fields[f"keep_{name}"] = forms.ChoiceField(
                choices=[(self.TARGET, self.TARGET), (self.SOURCE, self.SOURCE)],
                initial=self.TARGET,
                required=False,
                widget=forms.RadioSelect,
            )

    def take_from_source(self) -> list[str]:
        return [
            name
            for name in self.merge_fields
            if self.cleaned_data.get(f"keep_{name}") == self.SOURCE
        ]

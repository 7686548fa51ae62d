"""Form helpers shared by the record pages (leads, deals, orders, tickets): widget styling, the
service's refusals shown next to their fields, and the customer search step of a new record."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from crm.concurrency import EDIT_VERSION_FIELD, EditVersionField, edit_version
from crm.encryption.fields import blind_index_q
from customers.models import Customer

CUSTOMER_MATCHES = 20


class RecordForm(forms.Form):
    """A form of a record page: Bootstrap classes on every widget and `is-invalid` on fields
    with errors, so one template partial (`_record_fields.html`) renders them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField) and field.empty_label is not None:
                field.empty_label = "—"
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self._mark_invalid()


class EditedRecordForm(RecordForm):
    """A record's edit form: carries the version the person saw (crm.concurrency)."""

    edit_version = EditVersionField()

    def __init__(self, *args: Any, record: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if record is not None and not self.is_bound:
            self.initial[EDIT_VERSION_FIELD] = edit_version(record)

    @property
    def seen_version(self) -> str:
        return str(self.cleaned_data.get(EDIT_VERSION_FIELD) or "")


def service_errors_to_form(
    form: forms.BaseForm, error: ValidationError, renames: dict[str, str] | None = None
) -> None:
    """Show a service refusal on the form: on its field when the form has it, else on top
    (a stale edit concerns the whole record, so it has no field). `renames` maps a service's
    field name to the form's where they differ (probability → probability_percent)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        field = (renames or {}).get(field, field)
        form.add_error(field if field in form.fields else None, messages)


def customer_matches(customers: QuerySet[Customer], term: str) -> list[Customer]:
    """Up to CUSTOMER_MATCHES of `customers` (already limited to what the user may see) whose
    name contains `term` or whose e-mail is `term`: the search step of a new deal or ticket."""
    term = term.strip()
    if not term:
        return []
    return list(
        customers.filter(Q(name__icontains=term) | blind_index_q(Customer, "email", term)).order_by(
            "name", "id"
        )[:CUSTOMER_MATCHES]
    )

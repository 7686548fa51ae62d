from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.context import SOURCES
from audit.selectors import EventFilters, record_types
from crm.widgets import IsoDateInput
from kpis.periods import organisation_tz


class AuditFilterForm(forms.Form):
    record_type = forms.ChoiceField(label=_("Record type"), required=False)
    record_id = forms.CharField(label=_("Record id"), required=False, max_length=40)
    user = forms.ModelChoiceField(
        label=_("Actor"), required=False, queryset=get_user_model().objects.order_by("username")
    )
    source = forms.ChoiceField(label=_("Source"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=IsoDateInput())
    until = forms.DateField(label=_("To"), required=False, widget=IsoDateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            selects = isinstance(field, forms.ChoiceField | forms.ModelChoiceField)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if selects else "form-control form-control-sm"
            )
        record_type = cast(forms.ChoiceField, self.fields["record_type"])
        record_type.choices = [("", _("All")), *record_types()]
        source = cast(forms.ChoiceField, self.fields["source"])
        source.choices = [("", _("All")), *[(code, code) for code in SOURCES]]

    def clean_record_id(self) -> str:
        value = self.cleaned_data["record_id"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError(_("A record id is a number."))
        return value

    def filters(self) -> EventFilters:
        """The filters of a valid form (dates are whole days in the organisation's time zone)."""
        data = self.cleaned_data if self.is_valid() else {}
        user = data.get("user")
        return EventFilters(
            record_type=data.get("record_type", ""),
            record_id=data.get("record_id", ""),
            user_id=user.pk if user is not None else None,
            source=data.get("source", ""),
            since=_day_start(data.get("since")),
            until=_day_start(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        )


def _day_start(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), organisation_tz())


class AnonymiseConfirmForm(forms.Form):
    """The admin types the customer's id to confirm: anonymising cannot be undone."""

    confirm = forms.CharField(label=_("Type the customer's id to confirm"), max_length=20)

    def __init__(self, *args: Any, customer_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id = customer_id

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != str(self.customer_id):
            raise forms.ValidationError(_("This is not the customer's id."))
        return value

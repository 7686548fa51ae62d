"""Form widgets shared by the pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class IsoDateInput(forms.DateInput):
    """A text box for a date with a YYYY-MM-DD hint. A browser's date picker shows its own
    locale's order ("mm/dd/yyyy" in an English Chromium), whatever the page's language; ISO reads
    the same in English and Chinese, and the format modules accept the local forms too."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            "placeholder": _("YYYY-MM-DD"),
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%Y-%m-%d")


class IsoDateTimeInput(forms.DateTimeInput):
    """A text box for a date and time with a "YYYY-MM-DD HH:MM" hint, for the same reason as
    IsoDateInput (a datetime-local picker shows "mm/dd/yyyy, --:-- --" in an English browser)."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"placeholder": _("YYYY-MM-DD HH:MM"), "autocomplete": "off", "size": 16}
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%Y-%m-%d %H:%M")

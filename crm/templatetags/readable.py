"""Values as a person reads them, in the user's language: money with its currency, durations
("2 h 15 min", "3.5 days", business hours said so), phone numbers as tel: links, band names.

Dates need no filter here: `|date:"DATETIME_FORMAT"` reads crm/formats/<language>/formats.py,
and USE_TZ renders times in the organisation's time zone."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.encryption.ciphers import normalise_phone

register = template.Library()

# The bands of the index and of customer health (kpis.models.default_bands); an admin may name
# other bands, which show as named.
BAND_LABELS = {
    "red": gettext_lazy("red"),
    "yellow": gettext_lazy("yellow"),
    "amber": gettext_lazy("amber"),
    "green": gettext_lazy("green"),
}

MINUTES_PER_DAY = 24 * 60


def grouped(value: Decimal | int | float, places: int) -> str:
    """A number rounded half-up to `places`, with the language's thousand separator."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def money(value: Decimal | int | float | None, currency: str | None = None) -> str:
    """ "12,345.50 EUR": two places, grouped, the currency after (the organisation's if none)."""
    if value is None or value == "":
        return "—"
    return f"{grouped(value, 2)} {currency or settings.CRM_CURRENCY}"


def _minutes(value: dt.timedelta | Decimal | int | float) -> Decimal:
    if isinstance(value, dt.timedelta):
        return Decimal(str(value.total_seconds())) / 60
    return Decimal(str(value))


def _clock(minutes: Decimal) -> str:
    """Below a day: "2 h 15 min", "45 min", "3 h"."""
    total = int(minutes.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    hours, rest = divmod(total, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    if total == 0 and minutes > 0:
        return _("under 1 min")
    return _("%(minutes)s min") % {"minutes": rest}


@register.filter
def duration(value: dt.timedelta | Decimal | int | float | None) -> str:
    """A timedelta, or a number of minutes, humanised: "2 h 15 min" below a day, "3.5 days"
    from a day on (one decimal, none when whole)."""
    if value is None or value == "":
        return "—"
    minutes = _minutes(value)
    sign = "−" if minutes < 0 else ""
    minutes = abs(minutes)
    if minutes < MINUTES_PER_DAY:
        return sign + _clock(minutes)
    days = (minutes / MINUTES_PER_DAY).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    places = 0 if days == days.to_integral_value() else 1
    count = int(days) if places == 0 else 2
    return sign + ngettext("%(days)s day", "%(days)s days", count) % {"days": grouped(days, places)}


@register.filter
def business_duration(value: dt.timedelta | Decimal | int | float | None) -> str:
    """Minutes of business time (SLA clocks): always hours and minutes — a business day is not
    24 hours — and said to be business hours: "26 h 30 min (business hours)"."""
    if value is None or value == "":
        return "—"
    minutes = _minutes(value)
    sign = "−" if minutes < 0 else ""
    return _("%(duration)s (business hours)") % {"duration": sign + _clock(abs(minutes))}


@register.filter
def tel(value: str | None) -> SafeString | str:
    """A phone number as a tel: link (the number without spaces and punctuation)."""
    if not value:
        return "—"
    return format_html('<a href="tel:{}">{}</a>', normalise_phone(str(value)), value)


@register.filter
def band_label(value: Any) -> str:
    """A band name in the user's language ("red" → "红"); a band an admin named shows as named."""
    if value in (None, ""):
        return "—"
    return str(BAND_LABELS.get(str(value).lower(), value))

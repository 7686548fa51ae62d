"""Presentation filters for Pulse templates: KPI values in their unit, signed changes, durations.

Negative numbers carry the minus sign U+2212 ("−"), as the signed changes do, never a hyphen.
"""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.templatetags.readable import MINUTES_PER_DAY, business_duration, duration
from kpis import charts
from kpis.alert_reasons import reason_text

register = template.Library()

# Decimal places shown per unit.
_PLACES = {
    charts.UNIT_RATE: 1,
    charts.UNIT_MONEY: 2,
    charts.UNIT_SCORE: 1,
    charts.UNIT_COUNT: 0,
    charts.UNIT_MINUTES: 0,
    charts.UNIT_DAYS: 1,
}


MINUS = "\u2212"


def _number(value: Decimal, places: int) -> str:
    # Rounded here: number_format truncates a Decimal's extra places (6.6667 would show 6.66).
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "−0.0"
    text = number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)
    return text.replace("-", MINUS)


def humanise_duration(seconds: Decimal | float | int | None) -> str:
    """A duration in seconds as people say it: "45 s" under a minute, else as the `duration`
    filter of crm.templatetags.readable says minutes ("12 min", "2 h 15 min", "3.5 days")."""
    if seconds is None:
        return _("n/a")
    total = Decimal(seconds)
    if abs(total) < 60:
        sign = MINUS if total < 0 else ""
        return sign + _("%(value)s s") % {"value": _number(abs(total), 0)}
    return duration(total / 60).replace("-", MINUS)


@register.filter
def seconds_duration(seconds: Decimal | float | int | None) -> str:
    return humanise_duration(seconds)


@register.filter
def kpi_value(value: Decimal | None, unit: str) -> str:
    """A stored KPI value in its display unit; NULL is "n/a", never 0 (catalogue §0.3)."""
    if value is None:
        return _("n/a")
    shown = charts.display_value(Decimal(value), unit)
    assert shown is not None
    places = _PLACES.get(unit, 2)
    text = _number(shown, places)
    if unit == charts.UNIT_RATE:
        return f"{text} %"
    if unit == charts.UNIT_MONEY:
        return f"{text} {settings.CRM_CURRENCY}"
    if unit == charts.UNIT_MINUTES:
        # The minute KPIs (first response, resolution) count business minutes.
        return business_duration(shown)
    if unit == charts.UNIT_DAYS:
        return duration(shown * MINUTES_PER_DAY)
    return text


@register.filter
def kpi_change(value: Decimal | None, unit: str) -> str:
    """A signed change; for a rate it is in percentage points, not a relative percentage."""
    if value is None:
        return _("n/a")
    shown = charts.display_value(Decimal(value), unit)
    assert shown is not None
    sign = "+" if shown > 0 else ("±" if shown == 0 else "−")
    text = _number(abs(shown), _PLACES.get(unit, 2))
    if unit == charts.UNIT_RATE:
        return _("%(sign)s%(value)s pp") % {"sign": sign, "value": text}
    if unit == charts.UNIT_MONEY:
        return f"{sign}{text} {settings.CRM_CURRENCY}"
    if unit == charts.UNIT_MINUTES:
        return sign + humanise_duration(abs(shown) * 60)
    if unit == charts.UNIT_DAYS:
        return sign + humanise_duration(abs(shown) * 86400)
    return f"{sign}{text}"


@register.filter
def percent_change(value: Decimal | None) -> str:
    if value is None:
        return ""
    sign = "+" if value > 0 else ("±" if value == 0 else "−")
    return f"{sign}{_number(abs(value) * 100, 1)} %"


@register.filter
def plain_number(value: Decimal | None) -> str:
    """Numerator/denominator as stored, without trailing zeros of the 6 stored decimals."""
    if value is None:
        return "—"
    normalized = Decimal(value).quantize(Decimal("0.01"))
    places = 0 if normalized == normalized.to_integral_value() else 2
    return _number(normalized, places)


@register.filter
def change_tone(value: Decimal | None, higher_is_better: bool | None) -> str:
    """Bootstrap colour for a change: good news green, bad news red, unknown direction grey."""
    if value is None or value == 0 or higher_is_better is None:
        return "secondary"
    return "success" if (value > 0) == higher_is_better else "danger"


@register.filter
def alert_reason(reason: str | None) -> str:
    """An alert's stored reason or message in the reader's language (kpis.alert_reasons)."""
    return reason_text(reason or "")

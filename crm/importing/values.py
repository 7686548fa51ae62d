"""Cell parsers: text in, Python value out, or `CellError` with the message the report shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from kpis.periods import organisation_tz


class CellError(ValueError):
    """One cell is wrong; the message names the value and what was expected."""


def text(raw: str, *, max_length: int | None = None) -> str:
    value = raw.strip()
    if max_length is not None and len(value) > max_length:
        raise CellError(
            _("is %(length)s characters long; at most %(max)s are allowed")
            % {"length": len(value), "max": max_length}
        )
    return value


def email(raw: str) -> str:
    value = raw.strip()
    if value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise CellError(_("invalid e-mail address “%(value)s”") % {"value": value}) from exc
    return value


def decimal(raw: str, *, places: int = 2, minimum: Decimal | None = Decimal("0")) -> Decimal:
    """A decimal number; a lone comma is read as the decimal separator (1234,50)."""
    value = raw.strip().replace(" ", "")
    if "," in value:
        if "." in value:
            raise CellError(
                _("ambiguous number “%(value)s”: use a dot as decimal separator, no grouping")
                % {"value": raw.strip()}
            )
        value = value.replace(",", ".")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CellError(_("not a number: “%(value)s”") % {"value": raw.strip()}) from None
    if not number.is_finite():
        raise CellError(_("not a number: “%(value)s”") % {"value": raw.strip()})
    step = Decimal(1).scaleb(-places)
    if abs(number) >= Decimal(10) ** (14 - places):
        raise CellError(_("“%(value)s” is too large") % {"value": raw.strip()})
    # 12.50 and 12.500 are the same amount; 12.505 is not a valid amount.
    if number != number.quantize(step):
        raise CellError(
            _("“%(value)s” has more than %(places)s decimal places")
            % {"value": raw.strip(), "places": places}
        )
    number = number.quantize(step)
    if minimum is not None and number < minimum:
        raise CellError(
            _("must be ≥ %(minimum)s, got %(value)s") % {"minimum": minimum, "value": raw.strip()}
        )
    return number


def whole_number(raw: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw.strip()
    try:
        number = int(value)
    except ValueError:
        try:
            as_decimal = Decimal(value)
        except InvalidOperation:
            raise CellError(_("not a whole number: “%(value)s”") % {"value": value}) from None
        if not as_decimal.is_finite() or as_decimal != as_decimal.to_integral_value():
            raise CellError(_("not a whole number: “%(value)s”") % {"value": value}) from None
        number = int(as_decimal)
    if minimum is not None and number < minimum:
        raise CellError(
            _("must be ≥ %(minimum)s, got %(value)s") % {"minimum": minimum, "value": value}
        )
    if maximum is not None and number > maximum:
        raise CellError(
            _("must be ≤ %(maximum)s, got %(value)s") % {"maximum": maximum, "value": value}
        )
    return number


TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "ja", "oui", "wahr"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "", "nein", "non", "falsch"})


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise CellError(_("not a yes/no value: “%(value)s”") % {"value": raw.strip()})


def date(raw: str) -> dt.date:
    value = raw.strip()
    try:
        if len(value) > 10:
            return _datetime(value).date()
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CellError(
            _("unparseable date “%(value)s” (expected YYYY-MM-DD)") % {"value": value}
        ) from None


def _datetime(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace(" ", "T", 1) if " " in value else value)
    if moment.tzinfo is None:
        # A date or time without zone is local time of the organisation (catalogue §0.1).
        moment = moment.replace(tzinfo=organisation_tz())
    return moment


def moment(raw: str) -> dt.datetime:
    """An ISO date (local midnight) or date-time; without offset, in the organisation's zone."""
    value = raw.strip()
    try:
        return _datetime(value)
    except ValueError:
        raise CellError(
            _("unparseable date “%(value)s” (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
            % {"value": value}
        ) from None


def choice(raw: str, *, choices: dict[str, str]) -> str:
    """A choice by value or label, case-insensitively (`choices`: lowercase text → value)."""
    value = raw.strip().lower()
    if value in choices:
        return choices[value]
    allowed = ", ".join(sorted({v for v in choices.values()}))
    raise CellError(
        _("unknown value “%(value)s” (allowed: %(allowed)s)")
        % {"value": raw.strip(), "allowed": allowed}
    )


def choice_map(text_choices: list[tuple[str, Any]]) -> dict[str, str]:
    """Lowercase value and label → value, for `choice`."""
    mapping: dict[str, str] = {}
    for value, label in text_choices:
        mapping[str(value).lower()] = value
        mapping[str(label).lower()] = value
    return mapping

"""KPI periods: half-open local-date ranges in the organisation's time zone (catalogue §0.1).

A period is `[start, end)` of local dates; `to_datetime_range` turns it into aware datetimes at
local midnight in settings.CRM_TIME_ZONE, which is what every KPI query filters on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

GRANULARITIES: tuple[str, ...] = ("day", "week", "month", "quarter", "year")


class PeriodError(ValueError):
    """A granularity or date that cannot be turned into a KPI period."""


def organisation_tz() -> ZoneInfo:
    return ZoneInfo(settings.CRM_TIME_ZONE)


def parse_granularity(raw: str) -> str:
    value = (raw or "").strip().lower()
    if value not in GRANULARITIES:
        raise PeriodError(
            f"Unknown granularity {raw!r}: expected one of {', '.join(GRANULARITIES)}."
        )
    return value


def parse_date(raw: str, *, name: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError as exc:
        raise PeriodError(f"Invalid {name} {raw!r}: expected an ISO date YYYY-MM-DD.") from exc


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(granularity: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The period of `granularity` containing `day`, as half-open local dates (start, end)."""
    granularity = parse_granularity(granularity)
    if granularity == "day":
        return day, day + dt.timedelta(days=1)
    if granularity == "week":
        start = day - dt.timedelta(days=day.weekday())  # ISO week: Monday start
        return start, start + dt.timedelta(days=7)
    if granularity == "month":
        start = day.replace(day=1)
        return start, _add_months(start, 1)
    if granularity == "quarter":
        start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, _add_months(start, 3)
    start = dt.date(day.year, 1, 1)
    return start, dt.date(day.year + 1, 1, 1)


def next_period_start(granularity: str, period_start: dt.date) -> dt.date:
    return period_bounds(granularity, period_start)[1]


def previous_period(granularity: str, period_start: dt.date) -> tuple[dt.date, dt.date]:
    return period_bounds(granularity, period_start - dt.timedelta(days=1))


def iter_periods(
    granularity: str, start: dt.date, end: dt.date
) -> Iterator[tuple[dt.date, dt.date]]:
    """Every period of `granularity` overlapping local dates [start, end), in order."""
    if end <= start:
        raise PeriodError(f"End {end.isoformat()} must be after start {start.isoformat()}.")
    period_start, period_end = period_bounds(granularity, start)
    while period_start < end:
        yield period_start, period_end
        period_start, period_end = period_bounds(granularity, period_end)


def to_datetime_range(start_date: dt.date, end_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes at local midnight (organisation time zone) for [start_date, end_date)."""
    tz = organisation_tz()
    return (
        dt.datetime.combine(start_date, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end_date, dt.time.min, tzinfo=tz),
    )


def local_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), organisation_tz()).date()


def current_period(granularity: str, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The open period of `granularity` containing the organisation's today."""
    return period_bounds(granularity, local_today(now))


def period_label(granularity: str, period_start: dt.date) -> str:
    """How a person names a period: "March 2026", "Q1 2027", "week of …", "2026"."""
    if granularity == "day":
        return date_format(period_start, "DATE_FORMAT")
    if granularity == "week":
        return _("week of %(day)s") % {"day": date_format(period_start, "DATE_FORMAT")}
    if granularity == "month":
        return date_format(period_start, "YEAR_MONTH_FORMAT")
    if granularity == "quarter":
        return _("Q%(q)s %(year)s") % {
            "q": (period_start.month - 1) // 3 + 1,
            "year": period_start.year,
        }
    return str(period_start.year)

"""KPI periods: half-open local-date ranges in the organisation's time zone (catalogue §0.1).

A period is `[start, end)` of local dates; `to_datetime_range` turns it into aware datetimes at
local midnight in settings.CRM_TIME_ZONE, which is what every KPI query filters on. `Period` is
the value pages, charts, reports, targets, the frame and the demo pass around; the functions
below it are the older tuple-shaped spellings of the same arithmetic, kept for their callers.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

GRANULARITIES: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}


class PeriodError(ValueError):
    """A granularity or date that cannot be turned into a KPI period; `field` names which."""

    def __init__(self, message: str, *, field: str = "period") -> None:
        super().__init__(message)
        self.field = field


def organisation_tz() -> ZoneInfo:
    return ZoneInfo(settings.CRM_TIME_ZONE)


def parse_granularity(raw: str) -> str:
    value = (raw or "").strip().lower()
    if value not in GRANULARITIES:
        raise PeriodError(
            _("Unknown granularity %(g)s: expected one of %(all)s.")
            % {"g": repr(raw), "all": ", ".join(GRANULARITIES)},
            field="granularity",
        )
    return value


def parse_date(raw: str, *, name: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError as exc:
        raise PeriodError(f"Invalid {name} {raw!r}: expected an ISO date YYYY-MM-DD.") from exc


def _add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clipped to the target month's last day (31 Jan + 1 → 28 Feb)."""
    year, month = divmod(day.year * 12 + (day.month - 1) + months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def shift_date(granularity: str, day: dt.date, steps: int) -> dt.date:
    """`day` moved by `steps` periods of `granularity` (negative: back), month ends clipped."""
    granularity = parse_granularity(granularity)
    if granularity == "day":
        return day + dt.timedelta(days=steps)
    if granularity == "week":
        return day + dt.timedelta(weeks=steps)
    return _add_months(day, _MONTHS_PER[granularity] * steps)


def _snap(granularity: str, day: dt.date) -> dt.date:
    """The start of the period of `granularity` containing `day` (weeks are ISO: Monday)."""
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """One KPI period: its granularity and first local date; it runs to `end`, exclusive.

    Built only at a period start (`Period("month", 2026-11-01)`); `containing` snaps any day and
    `parse` reads a query string's granularity and date, so a period is snapped once, where it
    enters. Sorting compares the granularity first, then the start.
    """

    granularity: str
    start: dt.date

    def __post_init__(self) -> None:
        granularity = parse_granularity(self.granularity)
        # A Granularity choice compares equal to its value but is stored as the plain value.
        object.__setattr__(self, "granularity", granularity)
        snapped = _snap(granularity, self.start)
        if snapped != self.start:
            raise PeriodError(
                _("%(day)s is not the start of a %(g)s (that period starts %(start)s).")
                % {"day": self.start, "g": granularity, "start": snapped}
            )

    @classmethod
    def containing(cls, granularity: str, day: dt.date) -> Period:
        return cls(granularity, _snap(parse_granularity(granularity), day))

    @classmethod
    def parse(cls, granularity_raw: str, date_raw: str, *, exact: bool = False) -> Period:
        """The period a query names: its granularity and a date in it (`exact`: its start).

        The one reader of a period from a URL or form; every caller shows the same messages.
        """
        granularity = parse_granularity(granularity_raw)
        try:
            day = dt.date.fromisoformat((date_raw or "").strip())
        except ValueError:
            raise PeriodError(
                _("Unknown period %(raw)s: give the period start as YYYY-MM-DD.")
                % {"raw": date_raw}
            ) from None
        return cls(granularity, day) if exact else cls.containing(granularity, day)

    @classmethod
    def current(cls, granularity: str, now: dt.datetime | None = None) -> Period:
        """The open period containing the organisation's today."""
        return cls.containing(granularity, local_today(now))

    @classmethod
    def last_closed(cls, granularity: str, now: dt.datetime | None = None) -> Period:
        """The newest period that has ended: the one before the open period."""
        return cls.current(granularity, now).previous()

    @property
    def end(self) -> dt.date:
        return shift_date(self.granularity, self.start, 1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def shift(self, steps: int) -> Period:
        return Period(self.granularity, shift_date(self.granularity, self.start, steps))

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def through(self, last: Period) -> list[Period]:
        """This period and every following one up to `last` (inclusive); [] if `last` is earlier."""
        if last.granularity != self.granularity:
            raise PeriodError(f"Cannot walk from a {self.granularity} to a {last.granularity}.")
        periods: list[Period] = []
        period = self
        while period <= last:
            periods.append(period)
            period = period.next()
        return periods

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def is_open(self, now: dt.datetime | None = None) -> bool:
        """Whether the organisation's today falls in this period."""
        return self.contains(local_today(now))

    def is_closed(self, now: dt.datetime | None = None) -> bool:
        return self.end <= local_today(now)

    def label(self) -> str:
        return period_label(self.granularity, self.start)

    def datetime_range(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes at local midnight in the organisation's time zone."""
        return to_datetime_range(self.start, self.end)

    def bounds(self) -> tuple[dt.date, dt.date]:
        return self.start, self.end


def query_period(granularity_raw: str | None, date_raw: str | None) -> tuple[str, Period | None]:
    """The granularity and period a URL asks for (`?granularity=&period=`): month and no period
    (the page's default) when absent, the period containing the date otherwise.

    Pages, chart JSON and reports all read a period here, so one bad value gets one message:
    a page shows it by the period picker and opens its default period, JSON answers 400.
    """
    granularity = parse_granularity(granularity_raw or "month")
    if not (date_raw or "").strip():
        return granularity, None
    return granularity, Period.parse(granularity, date_raw or "")


def period_bounds(granularity: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The period of `granularity` containing `day`, as half-open local dates (start, end)."""
    return Period.containing(granularity, day).bounds()


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
    return Period.current(granularity, now).bounds()


def last_closed_period(granularity: str, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The newest period of `granularity` that has ended: the one before the open period."""
    return Period.last_closed(granularity, now).bounds()


def period_days(start: dt.date, end: dt.date) -> int:
    return (end - start).days


def days_begun(start: dt.date, end: dt.date, now: dt.datetime | None = None) -> int:
    """Local days of [start, end) begun by `now` (today counts): 5 on the 5th of a month."""
    today = local_today(now)
    return max(0, min((today - start).days + 1, period_days(start, end)))


class LikeForLikeWindow(NamedTuple):
    """The previous period cut at the same elapsed time as an open period's `now`."""

    period_start: dt.date  # the previous period's start
    last_day: dt.date  # the local date after the cut's day (a date-based period end)
    start: dt.datetime
    until: dt.datetime
    elapsed_days: int  # days of the open period begun ("so far (5 of 31 days)")
    period_days: int  # days in the open period


def like_for_like_window(
    granularity: str, period_start: dt.date, period_end: dt.date, now: dt.datetime
) -> LikeForLikeWindow | None:
    """For an open period, the previous period's first `now - start` (the same elapsed time).

    None for a closed or not yet started period, and for a day: its previous day cut at the
    same hour would compare hours, which the daily figures are not made for.
    """
    if granularity == "day":
        return None
    start_at, end_at = to_datetime_range(period_start, period_end)
    if not start_at < now < end_at:
        return None
    previous_start, previous_end = previous_period(granularity, period_start)
    previous_start_at, previous_end_at = to_datetime_range(previous_start, previous_end)
    # A shorter previous period (February before March) is compared whole at most.
    until = min(previous_start_at + (now - start_at), previous_end_at)
    until_local = timezone.localtime(until, organisation_tz())
    # The date-based end covers the cut's day unless the cut falls exactly at midnight.
    last_day = until_local.date() + dt.timedelta(days=0 if until_local.time() == dt.time.min else 1)
    return LikeForLikeWindow(
        period_start=previous_start,
        last_day=min(last_day, previous_end),
        start=previous_start_at,
        until=until,
        elapsed_days=days_begun(period_start, period_end, now),
        period_days=period_days(period_start, period_end),
    )


def period_label(granularity: str, period_start: dt.date) -> str:
    """The period as people name it: "November 2026", "Q4 2026", "week of 30 Nov 2026"."""
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

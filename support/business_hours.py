"""Business-time arithmetic for SLA clocks, exact across weekends, holidays and DST changes.

A schedule's working intervals are wall-clock times in the schedule's time zone. Each day's
intervals are turned into absolute (UTC) instants before any arithmetic, so a day on which the
clocks go forward really has one hour less and minutes are never counted twice or skipped.

Conventions (documented here because SLA numbers depend on them):
- Intervals are half-open ``[starts_at, ends_at)``; an ``ends_at`` of 23:59:59 or later means
  "until midnight", so a 24-hour day can be expressed despite the ``ends_at > starts_at`` check.
- A wall-clock time that does not exist (skipped by a spring-forward change) is read with the
  offset in force before the change, i.e. 02:30 on the last Sunday of March becomes 03:30 CEST.
  An ambiguous time (repeated in autumn) means its first occurrence.
- A holiday removes its whole local date. Overlapping intervals on one weekday are merged.
- Minutes are whole minutes, rounded down from the exact elapsed business time.
- The schedule's intervals and holidays are read once per schedule instance through
  ``prefetch_related`` (``load_schedule`` / ``WorkingCalendar.for_schedule``); no query per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _

from support.models import BusinessSchedule

UTC = dt.UTC
Span = tuple[dt.datetime, dt.datetime]

# Ten years of empty days is treated as "this schedule never works" instead of looping forever.
_MAX_EMPTY_DAYS = 3660
_END_OF_DAY = dt.time(23, 59, 59)


class ScheduleWithoutHours(ValueError):
    """Raised when business time must advance on a schedule that has no working time."""


def load_schedule(schedule: BusinessSchedule) -> BusinessSchedule:
    """Prefetch the intervals and holidays of a schedule (no-op when already prefetched)."""
    prefetch_related_objects([schedule], "intervals", "holidays")
    return schedule


@dataclass(frozen=True)
class WorkingCalendar:
    """A schedule read into memory: time zone, merged intervals per weekday and holidays."""

    tz: ZoneInfo
    # weekday (0 = Monday) -> sorted, non-overlapping (start, end) wall times; None end = midnight
    intervals: dict[int, tuple[tuple[dt.time, dt.time | None], ...]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def for_schedule(cls, schedule: BusinessSchedule) -> WorkingCalendar:
        load_schedule(schedule)
        by_day: dict[int, list[tuple[dt.time, dt.time | None]]] = {}
        for interval in schedule.intervals.all():
            end: dt.time | None = None if interval.ends_at >= _END_OF_DAY else interval.ends_at
            by_day.setdefault(interval.weekday, []).append((interval.starts_at, end))
        return cls(
            tz=ZoneInfo(schedule.time_zone),
            intervals={day: _merge_wall(spans) for day, spans in by_day.items()},
            holidays=frozenset(h.date for h in schedule.holidays.all()),
        )

    @property
    def has_hours(self) -> bool:
        return any(self.intervals.values())

    def _day_spans(self, day: dt.date) -> list[Span]:
        """Working spans of one local date as UTC instants."""
        if day in self.holidays:
            return []
        spans = []
        for start_time, end_time in self.intervals.get(day.weekday(), ()):
            start = dt.datetime.combine(day, start_time, tzinfo=self.tz).astimezone(UTC)
            if end_time is None:
                next_day = day + dt.timedelta(days=1)
                end = dt.datetime.combine(next_day, dt.time(0), tzinfo=self.tz).astimezone(UTC)
            else:
                end = dt.datetime.combine(day, end_time, tzinfo=self.tz).astimezone(UTC)
            if end > start:
                spans.append((start, end))
        return spans

    def working_spans(self, start: dt.datetime) -> Iterator[Span]:
        """Working spans from `start` onwards (the first one clipped to `start`), in UTC."""
        start = start.astimezone(UTC)
        # The local date before `start` too: its last interval may still run past midnight UTC.
        day = start.astimezone(self.tz).date() - dt.timedelta(days=1)
        empty_days = 0
        while True:
            spans = self._day_spans(day)
            empty_days = 0 if spans else empty_days + 1
            if empty_days > _MAX_EMPTY_DAYS:
                raise ScheduleWithoutHours("The business schedule has no working hours.")
            for span_start, span_end in spans:
                if span_end > start:
                    yield max(span_start, start), span_end
            day += dt.timedelta(days=1)

    def minutes_between(
        self, start: dt.datetime, end: dt.datetime, pauses: Iterable[Span] = ()
    ) -> int:
        """Whole business minutes in [start, end), less the business time inside `pauses`."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start or not self.has_hours:
            return 0
        paused = _merge(pauses)
        total = dt.timedelta(0)
        for span_start, span_end in self.working_spans(start):
            if span_start >= end:
                break
            for piece_start, piece_end in _subtract((span_start, min(span_end, end)), paused):
                total += piece_end - piece_start
        return int(total.total_seconds() // 60)

    def add_minutes(
        self, start: dt.datetime, minutes: int, pauses: Iterable[Span] = ()
    ) -> dt.datetime:
        """The instant at which `minutes` business minutes (outside `pauses`) have elapsed.

        Adding 0 returns `start` unchanged. A target reached exactly at the end of an interval
        returns that end (17:00), not the start of the next working interval.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes == 0:
            return start
        if not self.has_hours:
            raise ScheduleWithoutHours("The business schedule has no working hours.")
        paused = _merge(pauses)
        remaining = dt.timedelta(minutes=minutes)
        for span in self.working_spans(start):
            for piece_start, piece_end in _subtract(span, paused):
                available = piece_end - piece_start
                if remaining <= available:
                    return (piece_start + remaining).astimezone(start.tzinfo)
                remaining -= available
        raise AssertionError("unreachable: working_spans never ends")  # pragma: no cover


def business_minutes_between(
    *, schedule: BusinessSchedule, start: dt.datetime, end: dt.datetime
) -> int:
    """Whole business minutes of `schedule` in [start, end); 0 when end <= start."""
    return WorkingCalendar.for_schedule(schedule).minutes_between(start, end)


def add_business_minutes(
    *, schedule: BusinessSchedule, start: dt.datetime, minutes: int
) -> dt.datetime:
    """The instant `minutes` business minutes of `schedule` after `start`."""
    return WorkingCalendar.for_schedule(schedule).add_minutes(start, minutes)


def business_minutes_excluding(
    *,
    schedule: BusinessSchedule,
    start: dt.datetime,
    end: dt.datetime,
    pauses: Iterable[Span],
) -> int:
    """Business minutes in [start, end) not covered by any pause (e.g. time spent pending)."""
    return WorkingCalendar.for_schedule(schedule).minutes_between(start, end, pauses)


def calendar_minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole elapsed minutes (24/7), for tickets without any business schedule."""
    return max(int((end - start).total_seconds() // 60), 0)


def _merge_wall(
    spans: list[tuple[dt.time, dt.time | None]],
) -> tuple[tuple[dt.time, dt.time | None], ...]:
    """Merge overlapping wall-clock intervals of one weekday (None end = midnight)."""
    merged: list[tuple[dt.time, dt.time | None]] = []
    for start, end in sorted(spans, key=lambda s: s[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return tuple(merged)


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping UTC spans; empty spans dropped."""
    ordered = sorted(
        (s.astimezone(UTC), e.astimezone(UTC)) for s, e in spans if e.astimezone(UTC) > s
    )
    merged: list[Span] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(span: Span, holes: list[Span]) -> Iterator[Span]:
    """The parts of `span` outside the sorted, merged `holes`."""
    start, end = span
    for hole_start, hole_end in holes:
        if hole_end <= start:
            continue
        if hole_start >= end:
            break
        if hole_start > start:
            yield start, hole_start
        start = max(start, hole_end)
        if start >= end:
            return
    if start < end:
        yield start, end


def working_intervals_check(intervals: Iterable[tuple[int, dt.time, dt.time]]) -> None:
    """Refuse working intervals that overlap on the same weekday (or end before they start).

    The calendar would merge them, but an overlap is almost always a typing mistake
    (09:00–17:00 next to 12:00–13:00 meant as a break), so editors are told instead.
    """
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, starts_at, ends_at in intervals:
        if ends_at <= starts_at:
            raise ValidationError(
                _("A working interval must end after it starts (%(start)s–%(end)s).")
                % {"start": starts_at.strftime("%H:%M"), "end": ends_at.strftime("%H:%M")}
            )
        by_day.setdefault(weekday, []).append((starts_at, ends_at))
    for weekday, spans in sorted(by_day.items()):
        spans.sort()
        for (start_a, end_a), (start_b, end_b) in zip(spans, spans[1:], strict=False):
            if start_b < end_a:
                raise ValidationError(
                    _(
                        "Working intervals overlap on weekday %(day)s: "
                        "%(a_start)s–%(a_end)s and %(b_start)s–%(b_end)s."
                    )
                    % {
                        "day": weekday,
                        "a_start": start_a.strftime("%H:%M"),
                        "a_end": end_a.strftime("%H:%M"),
                        "b_start": start_b.strftime("%H:%M"),
                        "b_end": end_b.strftime("%H:%M"),
                    }
                )

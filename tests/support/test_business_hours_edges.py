"""Business-time arithmetic at the edges its conventions name: adding nothing, an interval
"until midnight", intervals that touch or overlap, pauses recorded backwards or across the
autumn hour, the ten-year limit of empty days, and the editors' interval check.

Calendars are built in memory (WorkingCalendar) unless the rule lives in reading a schedule.
Europe/Berlin is UTC+1 in winter and UTC+2 in summer; 2026-11-23 is a Monday, 2026-11-28 a
Saturday, and the clocks go back from 03:00 CEST to 02:00 CET on Sunday 2026-10-25."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from support.business_hours import (
    ScheduleWithoutHours,
    WorkingCalendar,
    business_minutes_between,
    calendar_minutes_between,
    working_intervals_check,
)
from tests.support.factories import business_week_schedule

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = ((dt.time(9), dt.time(17)),)
OFFICE = WorkingCalendar(tz=BERLIN, intervals={day: NINE_TO_FIVE for day in range(5)})
EVERY_DAY = WorkingCalendar(tz=BERLIN, intervals={day: NINE_TO_FIVE for day in range(7)})


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


# --- adding nothing ------------------------------------------------------------------------


def test_adding_zero_minutes_on_a_saturday_is_the_saturday_instant_not_monday_morning():
    saturday = berlin(2026, 11, 28, 10)

    # 0 business minutes after Saturday 10:00 is Saturday 10:00 itself (nothing has to elapse),
    # not the next working instant, Monday 09:00.
    assert OFFICE.add_minutes(saturday, 0) == saturday
    # A schedule without hours can still add nothing.
    assert WorkingCalendar(tz=BERLIN).add_minutes(saturday, 0) == saturday


@pytest.mark.parametrize("minutes", [-1, -60])
def test_a_negative_target_is_refused(minutes):
    with pytest.raises(ValueError, match="must not be negative"):
        OFFICE.add_minutes(berlin(2026, 11, 23, 10), minutes)


def test_a_target_of_one_minute_at_closing_time_is_due_the_next_morning():
    # Friday 17:00 is outside [09:00, 17:00): the first minute is Monday 09:00–09:01.
    assert OFFICE.add_minutes(berlin(2026, 11, 27, 17), 1) == berlin(2026, 11, 30, 9, 1)
    # Friday 16:59 + 1 minute = 17:00 on the dot (the end of the interval, not Monday).
    assert OFFICE.add_minutes(berlin(2026, 11, 27, 16, 59), 1) == berlin(2026, 11, 27, 17)


# --- the plain calendar clock --------------------------------------------------------------


def test_calendar_minutes_are_whole_minutes_and_never_negative():
    start = berlin(2026, 11, 23, 9)

    # 119 s → 1 whole minute (119 // 60); 120 s → 2; 0 s → 0; an end 1 minute before the
    # start → 0, not −1 or 1.
    assert calendar_minutes_between(start, start + dt.timedelta(seconds=119)) == 1
    assert calendar_minutes_between(start, start + dt.timedelta(seconds=120)) == 2
    assert calendar_minutes_between(start, start) == 0
    assert calendar_minutes_between(start, start - dt.timedelta(minutes=1)) == 0


# --- intervals "until midnight" and intervals that touch (read from a schedule) -------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ends_at", "minutes"),
    [
        # 23:00–23:59:59 means until midnight: 60 minutes; so does any end later than that.
        (dt.time(23, 59, 59), 60),
        (dt.time(23, 59, 59, 500000), 60),
        # 23:00–23:59:58 is one second short of that: 59 min 58 s → 59 whole minutes.
        (dt.time(23, 59, 58), 59),
        # 23:00–23:59:00 is 59 minutes.
        (dt.time(23, 59), 59),
        # 23:00–23:30 is 30 minutes.
        (dt.time(23, 30), 30),
    ],
)
def test_only_an_end_of_23_59_59_or_later_means_until_midnight(ends_at, minutes):
    schedule = business_week_schedule(hours=((dt.time(23), ends_at),))

    # Monday 2026-11-23 22:00 to Tuesday 01:00 covers the whole Monday interval.
    counted = business_minutes_between(
        schedule=schedule, start=berlin(2026, 11, 23, 22), end=berlin(2026, 11, 24, 1)
    )

    assert counted == minutes


@pytest.mark.django_db
def test_touching_intervals_merge_and_the_next_separate_interval_still_counts():
    # 09:00–12:00 and 12:00–13:00 touch (one interval 09:00–13:00), 14:00–17:00 stands apart.
    schedule = business_week_schedule(
        hours=(
            (dt.time(9), dt.time(12)),
            (dt.time(12), dt.time(13)),
            (dt.time(14), dt.time(17)),
        )
    )

    counted = business_minutes_between(
        schedule=schedule, start=berlin(2026, 11, 23, 0), end=berlin(2026, 11, 24, 0)
    )

    # 4 h (09–13) + 3 h (14–17) = 7 h = 420 minutes.
    assert counted == 420


@pytest.mark.django_db
def test_an_overlap_after_a_separate_first_interval_is_still_merged():
    # 09:00–10:00 alone, then 11:00–13:00 and 12:00–14:00 overlapping (one interval 11–14).
    schedule = business_week_schedule(
        hours=(
            (dt.time(9), dt.time(10)),
            (dt.time(11), dt.time(13)),
            (dt.time(12), dt.time(14)),
        )
    )

    counted = business_minutes_between(
        schedule=schedule, start=berlin(2026, 11, 23, 0), end=berlin(2026, 11, 24, 0)
    )

    # 1 h (09–10) + 3 h (11–14) = 240 minutes; 12–13 is not counted twice.
    assert counted == 240


@pytest.mark.django_db
def test_an_interval_inside_another_adds_nothing():
    # 12:00–13:00 lies inside 09:00–17:00 (it ends first, but starts later).
    schedule = business_week_schedule(hours=((dt.time(9), dt.time(17)), (dt.time(12), dt.time(13))))

    counted = business_minutes_between(
        schedule=schedule, start=berlin(2026, 11, 23, 0), end=berlin(2026, 11, 24, 0)
    )

    # 09–17 once = 480 minutes.
    assert counted == 480


@pytest.mark.django_db
def test_an_interval_touching_one_that_runs_until_midnight_extends_it():
    # 09:00–17:00 and 17:00–23:59:59 (until midnight) touch: one interval 09:00–24:00.
    schedule = business_week_schedule(
        hours=((dt.time(9), dt.time(17)), (dt.time(17), dt.time(23, 59, 59)))
    )

    counted = business_minutes_between(
        schedule=schedule, start=berlin(2026, 11, 23, 0), end=berlin(2026, 11, 24, 0)
    )

    # 15 h (09–24) = 900 minutes.
    assert counted == 900


# --- pauses ------------------------------------------------------------------------------


def test_a_pause_recorded_backwards_takes_nothing():
    monday = (berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 17))
    backwards = (berlin(2026, 11, 23, 11), berlin(2026, 11, 23, 10))

    # An end before its start is an empty span: the whole 8 h = 480 minutes stay.
    assert OFFICE.minutes_between(*monday, pauses=[backwards]) == 480


def test_overlapping_and_touching_pauses_are_taken_once():
    monday = (berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 17))
    pauses = [
        (berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 12)),
        (berlin(2026, 11, 23, 11), berlin(2026, 11, 23, 13)),
        (berlin(2026, 11, 23, 13), berlin(2026, 11, 23, 14)),
    ]

    # 10–12 ∪ 11–13 ∪ 13–14 = 10–14, 4 h: 480 − 240 = 240 minutes.
    assert OFFICE.minutes_between(*monday, pauses=pauses) == 240
    # 240 minutes after 09:00 outside those pauses: 09–10 (60), then 14:00 + 180 = 17:00.
    assert OFFICE.add_minutes(monday[0], 240, pauses=pauses) == monday[1]


def test_a_pause_inside_another_or_after_a_separate_one_is_taken_once():
    monday = (berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 17))
    pauses = [
        (berlin(2026, 11, 23, 9, 30), berlin(2026, 11, 23, 10)),
        (berlin(2026, 11, 23, 11), berlin(2026, 11, 23, 14)),
        (berlin(2026, 11, 23, 12), berlin(2026, 11, 23, 13)),
        (berlin(2026, 11, 23, 13, 30), berlin(2026, 11, 23, 15)),
    ]

    # 09:30–10:00 alone; 11–14 ∪ 12–13 (inside it) ∪ 13:30–15 = 11–15. Paused 0.5 h + 4 h:
    # 480 − 270 = 210 minutes (09–09:30, 10–11, 15–17).
    assert OFFICE.minutes_between(*monday, pauses=pauses) == 210


def test_a_calendar_read_into_memory_cannot_be_changed():
    # Calendars are shared by every clock of a request; a change would move other tickets' SLAs.
    with pytest.raises(dataclasses.FrozenInstanceError):
        OFFICE.holidays = frozenset({dt.date(2026, 11, 23)})  # type: ignore[misc]


def test_a_pause_over_the_repeated_autumn_hour_takes_that_hour_once():
    around_the_clock = WorkingCalendar(
        tz=BERLIN, intervals={day: ((dt.time(0), None),) for day in range(7)}
    )
    sunday = (berlin(2026, 10, 25, 0), berlin(2026, 10, 26, 0))
    # 02:00 CEST (00:00 UTC) to 02:00 CET (01:00 UTC): the hour the clocks repeat.
    repeated_hour = (
        dt.datetime(2026, 10, 25, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),
    )

    # The day has 25 h = 1500 minutes; less the repeated hour: 1440.
    assert around_the_clock.minutes_between(*sunday) == 1500
    assert around_the_clock.minutes_between(*sunday, pauses=[repeated_hour]) == 1440


# --- the ten-year limit of empty days --------------------------------------------------------

# The clock looks for working time from the local date before `start` on; 3660 empty days in a
# row are allowed, the 3661st means the schedule never works.
START = berlin(2026, 1, 10, 12)
DAY_BEFORE = dt.date(2026, 1, 9)


def holidays(first: dt.date, count: int) -> frozenset[dt.date]:
    return frozenset(first + dt.timedelta(days=n) for n in range(count))


def test_3660_empty_days_from_the_day_before_the_start_are_still_searched_through():
    # Holidays from 2026-01-08 on, 3661 of them: counted from the day before the start
    # (2026-01-09) that is 3660 empty days, the last on 2026-01-09 + 3659 days.
    calendar = WorkingCalendar(
        tz=BERLIN,
        intervals=EVERY_DAY.intervals,
        holidays=holidays(DAY_BEFORE - dt.timedelta(days=1), 3661),
    )
    first_working_day = DAY_BEFORE + dt.timedelta(days=3660)

    # One minute after the start is 09:01 on the first day after the holidays.
    assert calendar.add_minutes(START, 1) == dt.datetime.combine(
        first_working_day, dt.time(9, 1), tzinfo=BERLIN
    )


def test_the_3661st_empty_day_means_the_schedule_never_works():
    # Holidays from the day before the start on, 3661 of them: 3661 empty days in a row.
    calendar = WorkingCalendar(
        tz=BERLIN, intervals=EVERY_DAY.intervals, holidays=holidays(DAY_BEFORE, 3661)
    )

    with pytest.raises(ScheduleWithoutHours):
        calendar.add_minutes(START, 1)


def test_3660_empty_days_after_a_working_day_are_still_searched_through():
    # The day before the start works; then 3660 holidays from the start's own date on.
    calendar = WorkingCalendar(
        tz=BERLIN,
        intervals=EVERY_DAY.intervals,
        holidays=holidays(DAY_BEFORE + dt.timedelta(days=1), 3660),
    )
    first_working_day = DAY_BEFORE + dt.timedelta(days=3661)

    # One minute after the start is 09:01 on the first day after the holidays.
    assert calendar.add_minutes(START, 1) == dt.datetime.combine(
        first_working_day, dt.time(9, 1), tzinfo=BERLIN
    )


def test_empty_days_are_counted_afresh_after_a_working_day():
    # The day before the start works; then 3661 holidays from the start's own date on: 3661
    # empty days after a working one are one too many.
    calendar = WorkingCalendar(
        tz=BERLIN,
        intervals=EVERY_DAY.intervals,
        holidays=holidays(DAY_BEFORE + dt.timedelta(days=1), 3661),
    )

    with pytest.raises(ScheduleWithoutHours):
        calendar.add_minutes(START, 1)


# --- the editors' check of working intervals --------------------------------------------------


def test_intervals_that_touch_or_leave_a_gap_are_accepted():
    # Monday 09:00–12:00 then 12:00–13:00 (touching), 14:00–17:00 after a gap; Tuesday
    # 09:00–17:00: no two intervals share a minute, so the check raises no ValidationError.
    working_intervals_check(
        [
            (0, dt.time(9), dt.time(12)),
            (0, dt.time(12), dt.time(13)),
            (0, dt.time(14), dt.time(17)),
            (1, dt.time(9), dt.time(17)),
        ]
    )


def test_overlapping_intervals_are_refused_naming_both():
    with pytest.raises(ValidationError) as refused:
        working_intervals_check([(2, dt.time(9), dt.time(17)), (2, dt.time(12), dt.time(13))])

    assert refused.value.messages == [
        "Working intervals overlap on weekday 2: 09:00–17:00 and 12:00–13:00."
    ]


def test_intervals_overlapping_by_one_minute_are_refused():
    # 09:00–12:01 and 12:00–17:00 share the minute 12:00–12:01.
    with pytest.raises(ValidationError):
        working_intervals_check([(0, dt.time(9), dt.time(12, 1)), (0, dt.time(12), dt.time(17))])


@pytest.mark.parametrize("ends_at", [dt.time(9), dt.time(8, 59)])
def test_an_interval_must_end_after_it_starts(ends_at):
    with pytest.raises(ValidationError) as refused:
        working_intervals_check([(0, dt.time(9), ends_at)])

    assert refused.value.messages == [
        f"A working interval must end after it starts (09:00–{ends_at:%H:%M})."
    ]

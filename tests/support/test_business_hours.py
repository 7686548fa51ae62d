# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from support.business_hours import (
    ScheduleWithoutHours,
    add_business_minutes,
    business_minutes_between,
    business_minutes_excluding,
    load_schedule,
)
from support.models import BusinessSchedule
from tests.support.factories import BusinessScheduleFactory, HolidayFactory, business_week_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


@pytest.fixture
def office() -> BusinessSchedule:
    """Mon–Fri 09:00–17:00 Europe/Berlin."""
    return business_week_schedule()


def test_a_weekend_is_skipped(office):
    # given Friday 16:00 and the following Monday 10:00 (2026-11-27 is a Friday)
    start, end = berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 10)
    # then 60 min on Friday + 60 min on Monday = 120
    assert business_minutes_between(schedule=office, start=start, end=end) == 120
    assert add_business_minutes(schedule=office, start=start, minutes=120) == end


def test_a_holiday_is_skipped(office):
    # given Monday 2026-11-30 is a holiday
    HolidayFactory(schedule=office, date=dt.date(2026, 11, 30), name="Company day")
    start, end = berlin(2026, 11, 27, 16), berlin(2026, 12, 1, 10)
    # then Friday 60 + Monday 0 + Tuesday 60 = 120
    assert business_minutes_between(schedule=office, start=start, end=end) == 120
    assert add_business_minutes(schedule=office, start=start, minutes=120) == end


def test_the_spring_forward_day_has_23_hours():
    # given a 24/7 schedule (ends_at 23:59:59 means until midnight)
    schedule = business_week_schedule(
        weekdays=tuple(range(7)), hours=((dt.time(0), dt.time(23, 59, 59)),)
    )
    # when Sunday 2026-03-29, the last Sunday of March, passes in Berlin
    start, end = berlin(2026, 3, 29, 0), berlin(2026, 3, 30, 0)
    # then it has 23 × 60 = 1380 minutes
    assert business_minutes_between(schedule=schedule, start=start, end=end) == 1380
    assert add_business_minutes(schedule=schedule, start=start, minutes=1380) == end


def test_the_fall_back_day_has_25_hours():
    schedule = business_week_schedule(
        weekdays=tuple(range(7)), hours=((dt.time(0), dt.time(23, 59, 59)),)
    )
    # Sunday 2026-10-25 is the last Sunday of October: 25 × 60 = 1500 minutes
    start, end = berlin(2026, 10, 25, 0), berlin(2026, 10, 26, 0)
    assert business_minutes_between(schedule=schedule, start=start, end=end) == 1500


def test_an_interval_across_the_skipped_hour_is_one_hour_shorter():
    # given Sunday 01:00–04:00 wall time; on 2026-03-29 02:00–03:00 does not exist
    schedule = business_week_schedule(weekdays=(6,), hours=((dt.time(1), dt.time(4)),))
    start, end = berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 12)
    # then 3 wall-clock hours are 2 real hours = 120 minutes
    assert business_minutes_between(schedule=schedule, start=start, end=end) == 120


def test_office_hours_stay_on_wall_clock_across_a_dst_weekend(office):
    # given Friday 2026-03-27 16:00 CET and Monday 2026-03-30 10:00 CEST
    start, end = berlin(2026, 3, 27, 16), berlin(2026, 3, 30, 10)
    # then 60 + 60 = 120; Monday starts at 09:00 CEST (07:00 UTC), not 08:00 UTC
    assert business_minutes_between(schedule=office, start=start, end=end) == 120
    due = add_business_minutes(schedule=office, start=start, minutes=61)
    assert due == dt.datetime(2026, 3, 30, 7, 1, tzinfo=dt.UTC)


def test_intervals_spanning_midnight():
    # given a night shift: Monday 22:00–midnight and Tuesday 00:00–02:00
    schedule = BusinessScheduleFactory(name="Night")
    schedule.intervals.create(weekday=0, starts_at=dt.time(22), ends_at=dt.time(23, 59, 59))
    schedule.intervals.create(weekday=1, starts_at=dt.time(0), ends_at=dt.time(2))
    start, end = berlin(2026, 11, 23, 23), berlin(2026, 11, 24, 1, 30)
    # then 60 before midnight + 90 after = 150
    assert business_minutes_between(schedule=schedule, start=start, end=end) == 150
    assert add_business_minutes(schedule=schedule, start=start, minutes=150) == end


def test_start_and_end_outside_hours(office):
    monday = dt.date(2026, 11, 23)
    before, after = berlin(2026, 11, 23, 7), berlin(2026, 11, 23, 20)
    assert business_minutes_between(schedule=office, start=before, end=berlin(2026, 11, 23, 8)) == 0
    # the full day 09:00–17:00 = 480
    assert business_minutes_between(schedule=office, start=before, end=after) == 480
    # Saturday noon + 30 min → Monday 09:30
    saturday_noon = berlin(2026, 11, 28, 12)
    assert add_business_minutes(schedule=office, start=saturday_noon, minutes=30) == berlin(
        2026, 11, 30, 9, 30
    )
    assert monday.weekday() == 0


def test_zero_length_and_reversed_ranges(office):
    moment = berlin(2026, 11, 23, 10)
    assert business_minutes_between(schedule=office, start=moment, end=moment) == 0
    assert (
        business_minutes_between(schedule=office, start=moment, end=moment - dt.timedelta(1)) == 0
    )
    assert add_business_minutes(schedule=office, start=moment, minutes=0) == moment


def test_a_target_reached_at_closing_time_is_due_at_closing_time(office):
    assert add_business_minutes(
        schedule=office, start=berlin(2026, 11, 23, 16), minutes=60
    ) == berlin(2026, 11, 23, 17)


def test_several_intervals_on_one_weekday():
    # given a lunch break: 09–12 and 13–17
    schedule = business_week_schedule(hours=((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))))
    start = berlin(2026, 11, 23, 11)
    # then 11–12 (60) + 13–14 (60) = 120
    assert (
        business_minutes_between(schedule=schedule, start=start, end=berlin(2026, 11, 23, 14))
        == 120
    )
    assert add_business_minutes(
        schedule=schedule, start=berlin(2026, 11, 23, 11, 30), minutes=60
    ) == (berlin(2026, 11, 23, 13, 30))


def test_overlapping_intervals_are_not_counted_twice():
    schedule = business_week_schedule(hours=((dt.time(9), dt.time(13)), (dt.time(12), dt.time(17))))
    day_start, day_end = berlin(2026, 11, 23, 0), berlin(2026, 11, 24, 0)
    # 09–17 once = 480
    assert business_minutes_between(schedule=schedule, start=day_start, end=day_end) == 480


def test_pending_pauses_are_excluded(office):
    start, end = berlin(2026, 11, 23, 9), berlin(2026, 11, 24, 17)
    pauses = [
        (berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 11)),  # 60
        (berlin(2026, 11, 23, 10, 30), berlin(2026, 11, 23, 12)),  # overlaps: +60 more
        (berlin(2026, 11, 23, 18), berlin(2026, 11, 24, 9, 30)),  # only 30 in hours
    ]
    # 2 days × 480 = 960 − (10:00–12:00 = 120) − 30 = 810
    assert business_minutes_excluding(schedule=office, start=start, end=end, pauses=pauses) == 810


def test_input_in_another_time_zone_is_the_same_instant(office):
    start = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)  # 09:00 in Berlin
    assert (
        business_minutes_between(schedule=office, start=start, end=berlin(2026, 11, 23, 10)) == 60
    )


def test_the_schedule_is_read_once_not_per_day(office, django_assert_max_num_queries):
    HolidayFactory(schedule=office, date=dt.date(2026, 12, 25), name="Christmas")
    start, end = berlin(2026, 1, 1, 0), berlin(2026, 12, 31, 0)
    fresh = BusinessSchedule.objects.get(pk=office.pk)
    with django_assert_max_num_queries(2):
        business_minutes_between(schedule=fresh, start=start, end=end)
    load_schedule(fresh)
    with django_assert_max_num_queries(0):
        add_business_minutes(schedule=fresh, start=start, minutes=100_000)


def test_a_schedule_without_hours_never_reaches_a_target():
    empty = BusinessScheduleFactory(name="Empty")
    start = berlin(2026, 11, 23, 9)
    assert (
        business_minutes_between(schedule=empty, start=start, end=start + dt.timedelta(days=9)) == 0
    )
    with pytest.raises(ScheduleWithoutHours):
        add_business_minutes(schedule=empty, start=start, minutes=1)


def test_add_then_measure_round_trips(office):
    start = berlin(2026, 3, 26, 15, 17)
    for minutes in (1, 59, 480, 2400, 9999):
        due = add_business_minutes(schedule=office, start=start, minutes=minutes)
        assert business_minutes_between(schedule=office, start=start, end=due) == minutes

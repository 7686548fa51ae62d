"""SLA clocks at their edges (issue 19, item 6): a response at the exact due instant, pauses
starting and ending on an interval boundary, holidays, schedule intervals that touch.

The calendar tests build a WorkingCalendar in memory (pure arithmetic); the due-instant tests
go through the ticket services. 2026-11-23 is a Monday; Europe/Berlin is UTC+1 in November."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from support.business_hours import WorkingCalendar
from support.services import ticket_create, ticket_message_add, ticket_status_change
from tests.customers.factories import CustomerFactory
from tests.support.factories import SLAPolicyFactory, business_week_schedule

BERLIN = ZoneInfo("Europe/Berlin")
INSTANT = dt.timedelta(microseconds=1)
NINE_TO_FIVE = ((dt.time(9), dt.time(17)),)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


def calendar(
    hours: tuple = NINE_TO_FIVE,
    weekdays=(0, 1, 2, 3, 4),
    holidays: frozenset[dt.date] = frozenset(),
) -> WorkingCalendar:
    return WorkingCalendar(
        tz=BERLIN, intervals={day: tuple(hours) for day in weekdays}, holidays=holidays
    )


# --- the due instant ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("late_by", "met"), [(dt.timedelta(0), True), (INSTANT, False)])
def test_a_first_response_at_the_exact_due_instant_meets_the_sla(late_by, met):
    SLAPolicyFactory(
        schedule=business_week_schedule(), first_response_minutes=60, resolution_minutes=480
    )
    # created Tue 08:30: the clock starts at 09:00, 60 business minutes → due 10:00
    ticket = ticket_create(
        customer=CustomerFactory(), subject="x", created_at=berlin(2026, 11, 24, 8, 30)
    )
    assert ticket.first_response_due_at == berlin(2026, 11, 24, 10)

    ticket_message_add(
        ticket=ticket, body="On it", author_kind="agent", at=berlin(2026, 11, 24, 10) + late_by
    )
    ticket.refresh_from_db()

    assert ticket.sla_first_response_met is met
    assert ticket.first_response_business_minutes == 60


@pytest.mark.django_db
@pytest.mark.parametrize(("late_by", "met"), [(dt.timedelta(0), True), (INSTANT, False)])
def test_a_resolution_at_the_exact_due_instant_meets_the_sla(late_by, met):
    SLAPolicyFactory(
        schedule=business_week_schedule(), first_response_minutes=60, resolution_minutes=480
    )
    # created Mon 13:00: 240 minutes on Monday (13–17) + 240 on Tuesday (9–13) → due Tue 13:00
    ticket = ticket_create(
        customer=CustomerFactory(), subject="x", created_at=berlin(2026, 11, 23, 13)
    )
    assert ticket.resolution_due_at == berlin(2026, 11, 24, 13)
    ticket_message_add(ticket=ticket, body="Done", author_kind="agent", at=berlin(2026, 11, 23, 14))

    solved = ticket_status_change(
        ticket=ticket, to_status="solved", at=berlin(2026, 11, 24, 13) + late_by
    )

    assert solved.sla_resolution_met is met
    assert solved.resolution_business_minutes == 480


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pending_from", "due_hour"),
    [
        # created Mon 09:00, 120 minutes → due 11:00 without pauses.
        # pending 10:00–11:00, inside the running clock: due 11:00 + 60 = 12:00
        (10, 12),
        # pending 11:00–12:00, starting at the due instant: the target was reached at 11:00
        (11, 11),
    ],
)
def test_a_pending_span_on_a_boundary_pushes_the_due_time_only_if_it_starts_before_it(
    pending_from, due_hour
):
    SLAPolicyFactory(
        schedule=business_week_schedule(),
        first_response_minutes=60,
        resolution_minutes=120,
        pause_on_pending=True,
    )
    ticket = ticket_create(
        customer=CustomerFactory(), subject="x", created_at=berlin(2026, 11, 23, 9)
    )
    ticket_message_add(ticket=ticket, body="?", author_kind="agent", at=berlin(2026, 11, 23, 9, 30))
    ticket_status_change(ticket=ticket, to_status="pending", at=berlin(2026, 11, 23, pending_from))
    back = ticket_status_change(
        ticket=ticket, to_status="open", at=berlin(2026, 11, 23, pending_from + 1)
    )

    assert back.resolution_due_at == berlin(2026, 11, 23, due_hour)


# --- pauses on boundaries (pure) ------------------------------------------------------------


def test_a_pause_ending_exactly_when_work_starts_takes_nothing():
    office = calendar()
    # pause Mon 17:00 → Tue 09:00 lies wholly outside the hours: Mon 9–17 + Tue 9–17 = 960
    pause = [(berlin(2026, 11, 23, 17), berlin(2026, 11, 24, 9))]
    start, end = berlin(2026, 11, 23, 9), berlin(2026, 11, 24, 17)
    assert office.minutes_between(start, end, pause) == 960


def test_a_pause_starting_exactly_when_work_starts_takes_its_whole_length():
    office = calendar()
    # pause Tue 09:00 → 10:00 covers the first working hour: 960 − 60 = 900
    pause = [(berlin(2026, 11, 24, 9), berlin(2026, 11, 24, 10))]
    start, end = berlin(2026, 11, 23, 9), berlin(2026, 11, 24, 17)
    assert office.minutes_between(start, end, pause) == 900
    # 60 minutes from Tue 09:00 with that pause → the hour after it, 11:00
    assert office.add_minutes(berlin(2026, 11, 24, 9), 60, pause) == berlin(2026, 11, 24, 11)


def test_a_target_reached_exactly_at_a_pause_start_is_due_then():
    office = calendar()
    pause = [(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 11))]
    # 60 minutes from 09:00 are used up at 10:00, where the pause begins
    assert office.add_minutes(berlin(2026, 11, 23, 9), 60, pause) == berlin(2026, 11, 23, 10)
    # one more minute has to wait for the pause to end: 11:01
    assert office.add_minutes(berlin(2026, 11, 23, 9), 61, pause) == berlin(2026, 11, 23, 11, 1)


def test_a_target_reached_at_closing_time_is_due_at_closing_time_not_next_morning():
    office = calendar()
    # Mon 16:00 + 60 → 17:00 exactly; + 61 → Tue 09:01
    assert office.add_minutes(berlin(2026, 11, 23, 16), 60) == berlin(2026, 11, 23, 17)
    assert office.add_minutes(berlin(2026, 11, 23, 16), 61) == berlin(2026, 11, 24, 9, 1)


def test_a_minute_is_whole_and_counted_down():
    office = calendar()
    # 09:00 → 09:00:59.999999 is 0 whole minutes; → 09:01 is 1
    assert (
        office.minutes_between(berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 9, 1) - INSTANT) == 0
    )
    assert office.minutes_between(berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 9, 1)) == 1


# --- holidays -------------------------------------------------------------------------------


def test_a_holiday_on_the_due_day_moves_the_due_time_to_the_next_working_day():
    # Friday 2026-11-27 16:00 + 120: 60 on Friday, Monday 11-30 is a holiday, 60 on Tuesday
    office = calendar(holidays=frozenset({dt.date(2026, 11, 30)}))
    due = office.add_minutes(berlin(2026, 11, 27, 16), 120)
    assert due == berlin(2026, 12, 1, 10)
    assert office.minutes_between(berlin(2026, 11, 27, 16), due) == 120


def test_a_holiday_removes_its_whole_local_date_and_nothing_more():
    # a 24/7 calendar (00:00 to midnight every day) with Tue 2026-11-24 a holiday:
    # Mon 23:00 → Wed 01:00 is 60 (Monday) + 0 (Tuesday) + 60 (Wednesday) = 120
    # (in memory an interval "until midnight" has the end None, as for_schedule reads 23:59:59)
    round_the_clock = calendar(
        hours=((dt.time(0), None),),
        weekdays=tuple(range(7)),
        holidays=frozenset({dt.date(2026, 11, 24)}),
    )
    start, end = berlin(2026, 11, 23, 23), berlin(2026, 11, 25, 1)
    assert round_the_clock.minutes_between(start, end) == 120
    # 60 minutes from Mon 23:00 are used up at midnight; 61 wait for Wednesday 00:01
    assert round_the_clock.add_minutes(start, 60) == berlin(2026, 11, 24)
    assert round_the_clock.add_minutes(start, 61) == berlin(2026, 11, 25, 0, 1)


@pytest.mark.django_db
def test_a_holiday_loaded_from_the_schedule_is_skipped():
    from tests.support.factories import HolidayFactory

    schedule = business_week_schedule()
    HolidayFactory(schedule=schedule, date=dt.date(2026, 11, 24))
    office = WorkingCalendar.for_schedule(schedule)
    # Mon 16:00 → Wed 10:00: 60 (Mon) + 0 (Tue holiday) + 60 (Wed) = 120
    assert office.minutes_between(berlin(2026, 11, 23, 16), berlin(2026, 11, 25, 10)) == 120


# --- intervals that touch -------------------------------------------------------------------


@pytest.mark.django_db
def test_intervals_that_touch_count_each_minute_once():
    # 09:00–12:00 and 12:00–17:00 touch at noon: one working day of 480 minutes
    schedule = business_week_schedule(hours=((dt.time(9), dt.time(12)), (dt.time(12), dt.time(17))))
    office = WorkingCalendar.for_schedule(schedule)
    assert office.intervals[0] == ((dt.time(9), dt.time(17)),)
    assert office.minutes_between(berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 17)) == 480
    # 180 minutes from 09:00 end exactly at the touching point
    assert office.add_minutes(berlin(2026, 11, 23, 9), 180) == berlin(2026, 11, 23, 12)


@pytest.mark.django_db
def test_an_interval_until_midnight_touches_the_next_days_first_interval():
    # Mon 18:00 until midnight (ends_at 23:59:59 means midnight) and Tue 00:00–06:00
    schedule = business_week_schedule(weekdays=(0,), hours=((dt.time(18), dt.time(23, 59, 59)),))
    from support.models import BusinessHours

    BusinessHours.objects.create(
        schedule=schedule, weekday=1, starts_at=dt.time(0), ends_at=dt.time(6)
    )
    night = WorkingCalendar.for_schedule(schedule)
    # Mon 23:00 → Tue 01:00: 60 before midnight + 60 after = 120, no gap at midnight
    assert night.minutes_between(berlin(2026, 11, 23, 23), berlin(2026, 11, 24, 1)) == 120
    # 60 minutes from Mon 23:00 end at midnight itself
    assert night.add_minutes(berlin(2026, 11, 23, 23), 60) == berlin(2026, 11, 24, 0)

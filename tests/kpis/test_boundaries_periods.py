"""Catalogue §0.1 at its edges: half-open periods, local midnight across DST, ISO weeks,
quarters and years (issue 19, item 1). Each test fails if a bound moves by one instant or one
day; the stored count and the drill-down list are both checked."""

import datetime as dt
from itertools import islice

import pytest

from kpis.periods import (
    PeriodError,
    current_period,
    iter_periods,
    local_today,
    next_period_start,
    parse_date,
    period_bounds,
    previous_period,
    to_datetime_range,
)
from tests.kpis.boundaries import at, figures
from tests.kpis.conftest import buyer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]

ONE_MICROSECOND = dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("granularity", "start", "end"),
    [
        ("day", dt.date(2026, 3, 31), dt.date(2026, 4, 1)),
        # Monday 2026-03-02 to Monday 2026-03-09
        ("week", dt.date(2026, 3, 2), dt.date(2026, 3, 9)),
        ("month", dt.date(2026, 2, 1), dt.date(2026, 3, 1)),
        ("quarter", dt.date(2026, 4, 1), dt.date(2026, 7, 1)),
        ("year", dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
    ],
)
def test_an_order_at_p_start_counts_in_p_and_one_at_p_end_does_not(granularity, start, end):
    p_start, p_end = to_datetime_range(start, end)
    # date-only imports: orders at local midnight on both bounds, one an instant before P
    buyer(p_start - ONE_MICROSECOND, p_start, p_end)

    inside = figures("orders", start, granularity)
    after = figures("orders", end, granularity)

    # [start, end): the P.start order is P's only one; the P.end order is the next period's
    assert inside["numerator"] == 1
    assert inside["rows_numerator"] == 1
    assert after["numerator"] == 1
    assert after["rows_numerator"] == 1


def test_local_midnight_on_both_sides_of_the_spring_forward_day(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    # 2026-03-29: Berlin goes from UTC+1 to UTC+2, the day has 23 hours.
    # 00:00 local on the 29th is 23:00 UTC on the 28th: local day 29, not 28.
    # 00:30 local on the 30th is 22:30 UTC on the 29th: local day 30, not 29.
    buyer(at(2026, 3, 29), at(2026, 3, 30, 0, 30))

    saturday = figures("orders", dt.date(2026, 3, 28), "day")
    sunday = figures("orders", dt.date(2026, 3, 29), "day")
    monday = figures("orders", dt.date(2026, 3, 30), "day")

    assert (saturday["numerator"], saturday["rows_numerator"]) == (0, 0)
    assert (sunday["numerator"], sunday["rows_numerator"]) == (1, 1)
    assert (monday["numerator"], monday["rows_numerator"]) == (1, 1)


def test_local_midnight_on_both_sides_of_the_fall_back_day(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    # 2026-10-25: Berlin goes from UTC+2 to UTC+1, the day has 25 hours.
    # 23:30 local on the 25th (UTC+1) is 22:30 UTC: still the 25th locally.
    # 00:00 local on the 26th is 23:00 UTC on the 25th: the 26th locally.
    start, end = to_datetime_range(dt.date(2026, 10, 25), dt.date(2026, 10, 26))
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=25)
    buyer(at(2026, 10, 25, 23, 30), at(2026, 10, 26))

    sunday = figures("orders", dt.date(2026, 10, 25), "day")
    monday = figures("orders", dt.date(2026, 10, 26), "day")

    assert (sunday["numerator"], sunday["rows_numerator"]) == (1, 1)
    assert (monday["numerator"], monday["rows_numerator"]) == (1, 1)


def test_iso_weeks_start_on_monday():
    # Sunday 2026-03-08 23:59 belongs to the week of Monday 03-02; Monday 03-09 00:00 starts
    # the next one, and Monday itself is the first day of its own week.
    assert period_bounds("week", dt.date(2026, 3, 8)) == (dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    assert period_bounds("week", dt.date(2026, 3, 9)) == (dt.date(2026, 3, 9), dt.date(2026, 3, 16))
    buyer(at(2026, 3, 8, 23, 59), at(2026, 3, 9))

    first = figures("orders", dt.date(2026, 3, 2), "week")
    second = figures("orders", dt.date(2026, 3, 9), "week")

    assert (first["numerator"], first["rows_numerator"]) == (1, 1)
    assert (second["numerator"], second["rows_numerator"]) == (1, 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # the last day of each quarter and the first day of the next
        (dt.date(2026, 3, 31), (dt.date(2026, 1, 1), dt.date(2026, 4, 1))),
        (dt.date(2026, 4, 1), (dt.date(2026, 4, 1), dt.date(2026, 7, 1))),
        (dt.date(2026, 6, 30), (dt.date(2026, 4, 1), dt.date(2026, 7, 1))),
        (dt.date(2026, 7, 1), (dt.date(2026, 7, 1), dt.date(2026, 10, 1))),
        (dt.date(2026, 9, 30), (dt.date(2026, 7, 1), dt.date(2026, 10, 1))),
        (dt.date(2026, 10, 1), (dt.date(2026, 10, 1), dt.date(2027, 1, 1))),
        (dt.date(2026, 12, 31), (dt.date(2026, 10, 1), dt.date(2027, 1, 1))),
    ],
)
def test_quarters_change_on_the_first_of_january_april_july_october(day, expected):
    assert period_bounds("quarter", day) == expected


def test_years_and_months_roll_over_on_the_first():
    # Dec 31 is the year's last day and January 1 the next year's first
    assert period_bounds("year", dt.date(2025, 12, 31)) == (
        dt.date(2025, 1, 1),
        dt.date(2026, 1, 1),
    )
    assert period_bounds("year", dt.date(2026, 1, 1)) == (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    # February 2028 (a leap year) has 29 days; month end is March 1
    assert period_bounds("month", dt.date(2028, 2, 29)) == (
        dt.date(2028, 2, 1),
        dt.date(2028, 3, 1),
    )
    assert period_bounds("month", dt.date(2026, 12, 31)) == (
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),
    )


def test_an_order_in_the_last_instant_of_a_quarter_belongs_to_it():
    # 2026-06-30 23:59:59.999999 local is Q2's last instant; 2026-07-01 00:00 starts Q3
    buyer(at(2026, 7, 1) - ONE_MICROSECOND, at(2026, 7, 1))

    q2 = figures("orders", dt.date(2026, 4, 1), "quarter")
    q3 = figures("orders", dt.date(2026, 7, 1), "quarter")

    assert (q2["numerator"], q2["rows_numerator"]) == (1, 1)
    assert (q3["numerator"], q3["rows_numerator"]) == (1, 1)


def test_next_and_previous_period_step_over_the_bound_by_exactly_one_period():
    # the period after the one starting 2026-12-01 starts 2027-01-01; the one before
    # 2026-03-01 is February 2026 (28 days), and the week before Monday 03-02 is Feb 23–Mar 2
    assert next_period_start("month", dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    assert next_period_start("quarter", dt.date(2026, 10, 1)) == dt.date(2027, 1, 1)
    assert previous_period("month", dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    )
    assert previous_period("week", dt.date(2026, 3, 2)) == (
        dt.date(2026, 2, 23),
        dt.date(2026, 3, 2),
    )


def test_parse_date_reads_an_iso_date_with_surrounding_blanks():
    assert parse_date(" 2026-03-01 ") == dt.date(2026, 3, 1)
    with pytest.raises(PeriodError, match="Invalid date None"):
        parse_date(None)  # type: ignore[arg-type]


def test_current_period_is_the_organisation_local_today(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    # 2026-03-31 22:30 UTC is 2026-04-01 00:30 in Berlin (UTC+2): April, Q2, week of Mar 30
    now = dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC)
    assert local_today(now) == dt.date(2026, 4, 1)
    assert current_period("month", now) == (dt.date(2026, 4, 1), dt.date(2026, 5, 1))
    assert current_period("week", now) == (dt.date(2026, 3, 30), dt.date(2026, 4, 6))


def test_iter_periods_refuses_an_end_before_the_start():
    # [Mar 2, Mar 1) is not a range: refused, not silently empty
    with pytest.raises(PeriodError, match="must be after"):
        list(iter_periods("day", dt.date(2026, 3, 2), dt.date(2026, 3, 1)))


def test_iter_periods_stops_at_an_end_inside_a_period_and_a_day_steps_back_one_day():
    # [Jan 15, Mar 10) overlaps January, February and March; the 4th item must not exist
    periods = list(islice(iter_periods("month", dt.date(2026, 1, 15), dt.date(2026, 3, 10)), 4))
    assert [start for start, _end in periods] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
    # the day before March 1 is February 28, not the 27th
    assert previous_period("day", dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 1),
    )

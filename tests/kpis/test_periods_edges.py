"""Period helpers at their edges: days begun, the like-for-like window of an open period and
the names people read. Pure arithmetic on dates, in the organisation's time zone (settings
CRM_TIME_ZONE, Europe/Berlin in the tests). 2026-11-01 is a Sunday; November has 30 days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import translation

from kpis.periods import days_begun, like_for_like_window, period_label

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def berlin_in_english():
    with override_settings(CRM_TIME_ZONE="Europe/Berlin"), translation.override("en"):
        yield


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))  # type: ignore[arg-type,misc]


# --- days begun -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "days"),
    [
        # 1 November 00:00 local: the first day has begun → 1.
        (local(2026, 11, 1, 0), 1),
        # 5 November 10:00: days 1–5 → 5.
        (local(2026, 11, 5, 10), 5),
        # 30 November 23:59: all 30.
        (local(2026, 11, 30, 23, 59), 30),
        # After the period: capped at its 30 days; before it: 0.
        (local(2026, 12, 20, 12), 30),
        (local(2026, 10, 31, 23, 59), 0),
    ],
)
def test_days_begun_counts_today(now, days):
    assert days_begun(NOV, DEC, now) == days


def test_days_begun_reads_the_local_date_not_utc():
    # 4 November 23:30 UTC is 5 November 00:30 in Berlin (UTC+1): 5 days begun, not 4.
    assert days_begun(NOV, DEC, dt.datetime(2026, 11, 4, 23, 30, tzinfo=dt.UTC)) == 5


# --- the like-for-like window -----------------------------------------------------------------


def test_an_open_month_is_compared_with_the_same_elapsed_time_of_the_previous_month():
    # now = 5 November 12:00 → 4 days 12 h into November; October cut at 5 October 12:00.
    window = like_for_like_window("month", NOV, DEC, local(2026, 11, 5, 12))

    assert window is not None
    assert window.period_start == dt.date(2026, 10, 1)
    assert window.start == local(2026, 10, 1)
    assert window.until == local(2026, 10, 5, 12)
    # The cut falls inside 5 October, so the date-based end is the 6th.
    assert window.last_day == dt.date(2026, 10, 6)
    assert (window.elapsed_days, window.period_days) == (5, 30)


def test_a_cut_at_local_midnight_ends_on_that_date():
    # now = 5 November 00:00 → exactly 4 days in; October cut at 5 October 00:00, so the
    # date-based end is the 5th itself (no part of the 5th is included).
    window = like_for_like_window("month", NOV, DEC, local(2026, 11, 5, 0))

    assert window is not None
    assert window.until == local(2026, 10, 5)
    assert window.last_day == dt.date(2026, 10, 5)
    assert window.elapsed_days == 5


def test_a_shorter_previous_period_is_compared_whole_at_most():
    # now = 31 March 12:00 → 30 days 12 h into March; February has 28 days, so the cut is
    # February's end, 1 March 00:00, and the date-based end is 1 March.
    window = like_for_like_window(
        "month", dt.date(2026, 3, 1), dt.date(2026, 4, 1), local(2026, 3, 31, 12)
    )

    assert window is not None
    assert window.until == local(2026, 3, 1)
    assert window.last_day == dt.date(2026, 3, 1)
    assert (window.elapsed_days, window.period_days) == (31, 31)


@pytest.mark.parametrize(
    "now",
    [
        # At the period's first instant nothing has elapsed; at its end it is closed.
        local(2026, 11, 1, 0),
        local(2026, 12, 1, 0),
        local(2026, 12, 15, 9),
    ],
)
def test_only_a_period_strictly_open_at_now_has_a_window(now):
    assert like_for_like_window("month", NOV, DEC, now) is None


def test_a_day_has_no_like_for_like_window():
    day = dt.date(2026, 11, 5)
    assert (
        like_for_like_window("day", day, day + dt.timedelta(days=1), local(2026, 11, 5, 12)) is None
    )
    # The same instant inside an open week does have one (the week of Monday 2 November).
    assert (
        like_for_like_window(
            "week", dt.date(2026, 11, 2), dt.date(2026, 11, 9), local(2026, 11, 5, 12)
        )
        is not None
    )


# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start", "label"),
    [
        ("day", dt.date(2026, 11, 30), "30 Nov 2026"),
        ("week", dt.date(2026, 11, 30), "week of 30 Nov 2026"),
        ("month", dt.date(2026, 11, 1), "November 2026"),
        # Quarters: months 1–3 → Q1, 4–6 → Q2, 10–12 → Q4 ((month − 1) // 3 + 1).
        ("quarter", dt.date(2026, 1, 1), "Q1 2026"),
        ("quarter", dt.date(2026, 4, 1), "Q2 2026"),
        ("quarter", dt.date(2026, 7, 1), "Q3 2026"),
        ("quarter", dt.date(2026, 10, 1), "Q4 2026"),
        ("year", dt.date(2026, 1, 1), "2026"),
    ],
)
def test_a_period_is_labelled_as_people_name_it(granularity, start, label):
    assert period_label(granularity, start) == label

"""Period arithmetic: half-open local-date periods and their aware datetime bounds."""

import datetime as dt

import pytest

from kpis.periods import (
    PeriodError,
    iter_periods,
    parse_date,
    parse_granularity,
    period_bounds,
    to_datetime_range,
)


@pytest.mark.parametrize(
    ("granularity", "day", "expected"),
    [
        ("day", dt.date(2026, 3, 31), (dt.date(2026, 3, 31), dt.date(2026, 4, 1))),
        # 2026-03-05 is a Thursday; the ISO week starts Monday 2026-03-02
        ("week", dt.date(2026, 3, 5), (dt.date(2026, 3, 2), dt.date(2026, 3, 9))),
        ("week", dt.date(2026, 1, 1), (dt.date(2025, 12, 29), dt.date(2026, 1, 5))),
        ("month", dt.date(2026, 12, 15), (dt.date(2026, 12, 1), dt.date(2027, 1, 1))),
        ("quarter", dt.date(2026, 5, 20), (dt.date(2026, 4, 1), dt.date(2026, 7, 1))),
        ("year", dt.date(2026, 5, 20), (dt.date(2026, 1, 1), dt.date(2027, 1, 1))),
    ],
)
def test_period_bounds(granularity, day, expected):
    assert period_bounds(granularity, day) == expected


def test_iter_periods_covers_the_range_half_open():
    periods = list(iter_periods("month", dt.date(2026, 1, 15), dt.date(2026, 4, 1)))
    # January (partly covered), February, March; April starts at the exclusive end
    assert [start for start, _end in periods] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]


def test_iter_periods_refuses_an_empty_range():
    with pytest.raises(PeriodError, match="must be after"):
        list(iter_periods("day", dt.date(2026, 3, 2), dt.date(2026, 3, 2)))


def test_datetime_range_is_local_midnight_across_dst(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    start, end = to_datetime_range(dt.date(2026, 3, 29), dt.date(2026, 3, 30))
    # Berlin switches to summer time on 2026-03-29: that day has 23 hours
    assert start.utcoffset() == dt.timedelta(hours=1)
    assert end.utcoffset() == dt.timedelta(hours=2)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)


def test_parse_helpers_name_the_problem():
    assert parse_granularity(" Month ") == "month"
    with pytest.raises(PeriodError, match="Unknown granularity 'fortnight'"):
        parse_granularity("fortnight")
    with pytest.raises(PeriodError, match="Invalid --start date '2026-13-01'"):
        parse_date("2026-13-01", name="--start date")

"""The Period value: parse, snap, shift, label and the half-open datetime range in the
organisation's time zone (Europe/Berlin here: CET UTC+1, summer time UTC+2 from 29 March 2026
02:00 to 25 October 2026 03:00); and one period parser for pages, chart JSON and reports.

Calendar facts used below: 1 November 2026 is a Sunday, so Monday 2 November starts its ISO
week; 1 January 2027 is a Friday, so its ISO week starts Monday 28 December 2026; 2028 is a leap
year."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from kpis.models import Granularity, KpiSnapshot
from kpis.periods import Period, PeriodError, query_period, shift_date
from kpis.selectors import snapshot_drilldown
from tests.customers.factories import UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
# 4 March 2026 12:00 in Berlin: the open month is March, the last closed one February.
MARCH_4_NOON = dt.datetime(2026, 3, 4, 12, tzinfo=BERLIN)
BAD_DATE = "Unknown period 2026-13-01: give the period start as YYYY-MM-DD."
BAD_GRANULARITY = (
    "Unknown granularity 'fortnight': expected one of day, week, month, quarter, year."
)


@pytest.fixture(autouse=True)
def berlin_in_english():
    with override_settings(CRM_TIME_ZONE="Europe/Berlin"), translation.override("en"):
        yield


def hours(period: Period) -> float:
    start, end = period.datetime_range()
    # In UTC: two datetimes of the same tzinfo subtract as wall-clock times, hiding the DST hour.
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() / 3600


# --- parse and snap ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "raw", "start", "end"),
    [
        # A day is itself; it ends the next day.
        ("day", "2026-11-17", dt.date(2026, 11, 17), dt.date(2026, 11, 18)),
        # Tuesday 17 Nov − 1 day (weekday 1) = Monday 16 Nov; + 7 days = 23 Nov.
        ("week", "2026-11-17", dt.date(2026, 11, 16), dt.date(2026, 11, 23)),
        # Sunday 1 Nov belongs to the week of Monday 26 Oct (1 Nov − 6 days).
        ("week", "2026-11-01", dt.date(2026, 10, 26), dt.date(2026, 11, 2)),
        # Friday 1 Jan 2027 − 4 days = Monday 28 Dec 2026: the ISO week crosses the year.
        ("week", "2027-01-01", dt.date(2026, 12, 28), dt.date(2027, 1, 4)),
        ("month", "2026-11-17", dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
        ("month", "2026-12-31", dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
        # November is month 11: 3 × ((11 − 1) // 3) + 1 = 10 → Q4 starts 1 October.
        ("quarter", "2026-11-17", dt.date(2026, 10, 1), dt.date(2027, 1, 1)),
        # March is month 3: 3 × ((3 − 1) // 3) + 1 = 1 → Q1.
        ("quarter", "2026-03-31", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("year", "2026-11-17", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ],
)
def test_parse_snaps_a_date_to_the_period_containing_it(granularity, raw, start, end):
    period = Period.parse(granularity, raw)

    assert (period.granularity, period.start, period.end) == (granularity, start, end)
    assert period == Period.containing(granularity, dt.date.fromisoformat(raw))


def test_parse_reads_granularity_and_date_as_typed_in_a_url():
    assert Period.parse(" Month ", " 2026-11-17 ") == Period("month", dt.date(2026, 11, 1))


def test_exact_parse_and_the_constructor_refuse_a_date_inside_a_period():
    message = "2026-11-17 is not the start of a month (that period starts 2026-11-01)."
    with pytest.raises(PeriodError) as parsed:
        Period.parse("month", "2026-11-17", exact=True)
    with pytest.raises(PeriodError) as built:
        Period("month", dt.date(2026, 11, 17))

    assert str(parsed.value) == str(built.value) == message
    assert Period.parse("month", "2026-11-01", exact=True).start == dt.date(2026, 11, 1)


@pytest.mark.parametrize("raw", ["2026-13-01", "March", "", "2026-02-30"])
def test_a_bad_date_gets_the_one_period_message(raw):
    with pytest.raises(PeriodError) as caught:
        Period.parse("month", raw)

    assert str(caught.value) == f"Unknown period {raw}: give the period start as YYYY-MM-DD."
    assert caught.value.field == "period"


def test_a_bad_granularity_names_the_granularities():
    with pytest.raises(PeriodError) as caught:
        Period.parse("fortnight", "2026-11-17")

    assert str(caught.value) == BAD_GRANULARITY
    assert caught.value.field == "granularity"


def test_query_period_defaults_to_month_and_no_period():
    assert query_period(None, None) == ("month", None)
    assert query_period("week", "") == ("week", None)
    assert query_period("", "2026-11-17") == ("month", Period("month", dt.date(2026, 11, 1)))


# --- shift ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start", "steps", "shifted"),
    [
        ("day", dt.date(2026, 3, 1), -1, dt.date(2026, 2, 28)),  # 2026 is no leap year
        ("day", dt.date(2028, 3, 1), -1, dt.date(2028, 2, 29)),  # 2028 is one
        ("week", dt.date(2026, 12, 28), 1, dt.date(2027, 1, 4)),  # 28 Dec + 7 days
        ("week", dt.date(2026, 11, 2), -5, dt.date(2026, 9, 28)),  # 2 Nov − 35 days
        # Months: (2026 × 12 + 10) + 3 = 2027 × 12 + 1 → February 2027.
        ("month", dt.date(2026, 11, 1), 3, dt.date(2027, 2, 1)),
        # (2026 × 12 + 10) − 11 = 2025 × 12 + 11 → December 2025.
        ("month", dt.date(2026, 11, 1), -11, dt.date(2025, 12, 1)),
        ("month", dt.date(2026, 1, 1), -1, dt.date(2025, 12, 1)),
        # Quarters are 3 months: October 2026 + 3 = January 2027; January 2026 − 3 = October 2025.
        ("quarter", dt.date(2026, 10, 1), 1, dt.date(2027, 1, 1)),
        ("quarter", dt.date(2026, 1, 1), -1, dt.date(2025, 10, 1)),
        ("quarter", dt.date(2026, 4, 1), -8, dt.date(2024, 4, 1)),  # −24 months
        ("year", dt.date(2026, 1, 1), -3, dt.date(2023, 1, 1)),
    ],
)
def test_shift_moves_by_whole_periods(granularity, start, steps, shifted):
    period = Period(granularity, start)

    assert period.shift(steps) == Period(granularity, shifted)
    assert period.shift(steps).shift(-steps) == period


def test_next_and_previous_are_one_step():
    november = Period("month", dt.date(2026, 11, 1))

    assert november.next() == Period("month", dt.date(2026, 12, 1))
    assert november.previous() == Period("month", dt.date(2026, 10, 1))
    assert november.next().previous() == november
    # The period after a period ends where it begins.
    assert november.next().start == november.end


@pytest.mark.parametrize(
    ("granularity", "day", "steps", "shifted"),
    [
        # A day that is no period start keeps its day of month, clipped to the month's last.
        ("month", dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        ("month", dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        ("month", dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
        ("quarter", dt.date(2026, 8, 31), 1, dt.date(2026, 11, 30)),
        ("year", dt.date(2028, 2, 29), 1, dt.date(2029, 2, 28)),
    ],
)
def test_shift_date_clips_to_the_last_day_of_the_month(granularity, day, steps, shifted):
    assert shift_date(granularity, day, steps) == shifted


def test_through_walks_every_period_up_to_the_last():
    first = Period("quarter", dt.date(2026, 7, 1))

    assert [p.start for p in first.through(Period("quarter", dt.date(2027, 1, 1)))] == [
        dt.date(2026, 7, 1),
        dt.date(2026, 10, 1),
        dt.date(2027, 1, 1),
    ]
    assert first.through(first.previous()) == []
    with pytest.raises(PeriodError):
        first.through(Period("month", dt.date(2026, 8, 1)))


# --- length, label ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "days"),
    [
        (Period("day", dt.date(2026, 3, 29)), 1),
        (Period("week", dt.date(2026, 12, 28)), 7),
        (Period("month", dt.date(2026, 2, 1)), 28),
        (Period("month", dt.date(2028, 2, 1)), 29),
        (Period("quarter", dt.date(2026, 1, 1)), 90),  # 31 + 28 + 31
        (Period("quarter", dt.date(2026, 7, 1)), 92),  # 31 + 31 + 30
        (Period("year", dt.date(2028, 1, 1)), 366),
    ],
)
def test_days_counts_the_local_days(period, days):
    assert period.days == days


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (Period("day", dt.date(2026, 11, 30)), "30 Nov 2026"),
        (Period("week", dt.date(2026, 11, 30)), "week of 30 Nov 2026"),
        (Period("month", dt.date(2026, 11, 1)), "November 2026"),
        (Period("quarter", dt.date(2026, 10, 1)), "Q4 2026"),  # (10 − 1) // 3 + 1 = 4
        (Period("year", dt.date(2026, 1, 1)), "2026"),
    ],
)
def test_label_names_the_period_as_people_do(period, label):
    assert period.label() == label


def test_label_is_translated():
    with translation.override("zh-hans"):
        assert Period("quarter", dt.date(2026, 10, 1)).label() == "2026 年第 4 季度"
        assert Period("week", dt.date(2026, 11, 30)).label().endswith("当周")


# --- the datetime range in the organisation's time zone ---------------------------------------


def test_datetime_range_is_local_midnight_to_local_midnight():
    start, end = Period("month", dt.date(2026, 11, 1)).datetime_range()

    assert start == dt.datetime(2026, 11, 1, tzinfo=BERLIN)
    assert end == dt.datetime(2026, 12, 1, tzinfo=BERLIN)
    # Midnight in Berlin in winter is 23:00 UTC the day before.
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("period", "length", "offsets"),
    [
        # Summer time starts 29 March 2026 at 02:00: that day has 23 hours.
        (Period("day", dt.date(2026, 3, 29)), 23, (1, 2)),
        # Its week (Monday 23 March): 7 × 24 − 1 = 167 hours.
        (Period("week", dt.date(2026, 3, 23)), 167, (1, 2)),
        # March 2026: 31 × 24 − 1 = 743 hours.
        (Period("month", dt.date(2026, 3, 1)), 743, (1, 2)),
        # Summer time ends 25 October 2026 at 03:00: that day has 25 hours.
        (Period("day", dt.date(2026, 10, 25)), 25, (2, 1)),
        # October 2026: 31 × 24 + 1 = 745 hours.
        (Period("month", dt.date(2026, 10, 1)), 745, (2, 1)),
        # Q2 2026 (April–June) is all summer time: 91 × 24 = 2184 hours.
        (Period("quarter", dt.date(2026, 4, 1)), 2184, (2, 2)),
        # The year gains and loses one hour: 365 × 24 = 8760 hours.
        (Period("year", dt.date(2026, 1, 1)), 8760, (1, 1)),
    ],
)
def test_datetime_range_follows_summer_time(period, length, offsets):
    start, end = period.datetime_range()

    assert hours(period) == length
    assert (start.utcoffset(), end.utcoffset()) == tuple(
        dt.timedelta(hours=offset) for offset in offsets
    )


def test_the_range_uses_the_organisation_time_zone_setting():
    with override_settings(CRM_TIME_ZONE="America/New_York"):
        start, _end = Period("day", dt.date(2026, 11, 17)).datetime_range()

    # New York is UTC−5 in November: local midnight is 05:00 UTC.
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 11, 17, 5, tzinfo=dt.UTC)


# --- current, last closed, open -----------------------------------------------------------------


def test_current_and_last_closed_read_the_local_date():
    # 30 November 23:30 UTC is 1 December 00:30 in Berlin (UTC+1): December is open.
    now = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)

    assert Period.current("month", now) == Period("month", dt.date(2026, 12, 1))
    assert Period.last_closed("month", now) == Period("month", dt.date(2026, 11, 1))
    # Tuesday 1 December's week began Monday 30 November; the one before on 23 November.
    assert Period.last_closed("week", now) == Period("week", dt.date(2026, 11, 23))
    assert Period.last_closed("quarter", now) == Period("quarter", dt.date(2026, 7, 1))
    assert Period.current("month", now).is_open(now)
    assert Period.last_closed("month", now).is_closed(now)
    assert not Period.last_closed("month", now).is_open(now)
    assert not Period.current("month", now).is_closed(now)


def test_a_future_period_is_neither_open_nor_closed():
    now = dt.datetime(2026, 11, 17, 12, tzinfo=BERLIN)
    january = Period("month", dt.date(2027, 1, 1))

    assert not january.is_open(now)
    assert not january.is_closed(now)


# --- value semantics ----------------------------------------------------------------------------


def test_periods_compare_hash_and_sort_by_value():
    november = Period("month", dt.date(2026, 11, 1))

    # A Granularity choice is stored as its plain value: equal and hashed alike.
    assert Period(Granularity.MONTH, dt.date(2026, 11, 1)) == november
    assert Period(Granularity.MONTH, dt.date(2026, 11, 1)).granularity.__class__ is str
    assert len({november, Period.parse("month", "2026-11-30"), november.next()}) == 2
    assert sorted([november.next(), november.previous(), november]) == [
        november.previous(),
        november,
        november.next(),
    ]
    assert november.previous() < november < november.next()
    with pytest.raises(AttributeError):
        november.start = dt.date(2026, 12, 1)  # type: ignore[misc]


# --- one parser: pages show the message and open the default period, JSON answers 400 ---------


@pytest.fixture
def manager(client):
    client.force_login(UserFactory(role="Manager"))
    return client


def stored(key: str, start: dt.date, value: str) -> KpiSnapshot:
    period = Period("month", start)
    return KpiSnapshot.objects.create(
        kpi=key,
        granularity="month",
        period_start=period.start,
        period_end=period.end,
        value=Decimal(value),
        numerator=Decimal(value),
        sample_size=int(value),
    )


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_page_shows_the_bad_period_by_the_picker_and_opens_the_default_period(manager):
    stored("customers_new", dt.date(2026, 2, 1), "5")

    page = manager.get(
        reverse("kpis:kpi_detail", kwargs={"key": "customers_new"}), {"period": "2026-13-01"}
    )
    html = page.content.decode()

    assert page.status_code == 200
    assert page.context["form"].errors["period"] == [BAD_DATE]
    assert f'data-testid="filter-error-period">{BAD_DATE}</div>' in html
    # The picker keeps what was typed, marked invalid, so it can be corrected.
    assert 'value="2026-13-01" aria-describedby="id_period-error"' in html
    # The default period: the last closed month, February.
    assert page.context["filters"].period is None
    assert page.context["figure"].period_start == dt.date(2026, 2, 1)


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_page_with_a_bad_granularity_shows_the_message_by_its_picker(manager):
    page = manager.get(reverse("kpis:overview"), {"granularity": "fortnight"})

    assert page.status_code == 200
    assert page.context["form"].errors["granularity"] == [BAD_GRANULARITY]
    assert "period" not in page.context["form"].errors
    assert page.context["filters"].granularity == "month"


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_good_granularity_is_kept_when_only_the_period_is_bad(manager):
    page = manager.get(reverse("kpis:overview"), {"granularity": "quarter", "period": "soon"})

    assert page.context["form"].errors["period"] == [
        "Unknown period soon: give the period start as YYYY-MM-DD."
    ]
    assert page.context["filters"].granularity == "quarter"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "kwargs"),
    [("kpis:kpi_chart", {"key": "customers_new"}), ("kpis:index_chart", {})],
)
@pytest.mark.parametrize(
    ("params", "message"),
    [({"period": "2026-13-01"}, BAD_DATE), ({"granularity": "fortnight"}, BAD_GRANULARITY)],
)
def test_chart_json_answers_400_with_the_same_message(manager, route, kwargs, params, message):
    response = manager.get(reverse(route, kwargs=kwargs), params)

    assert response.status_code == 400
    assert response.json() == {"error": message}


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_the_period_report_refuses_a_bad_period_with_the_same_message(manager):
    response = manager.get(reverse("reports:period"), {"period": "2026-13-01"})

    assert response.status_code == 400
    assert response.context["error"] == BAD_DATE


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_chart_and_its_page_snap_a_date_to_the_same_period(manager):
    stored("customers_new", dt.date(2026, 1, 1), "3")
    stored("customers_new", dt.date(2026, 2, 1), "5")

    page = manager.get(
        reverse("kpis:kpi_detail", kwargs={"key": "customers_new"}), {"period": "2026-01-15"}
    )
    chart = manager.get(
        reverse("kpis:kpi_chart", kwargs={"key": "customers_new"}), {"period": "2026-01-15"}
    )

    assert page.context["filters"].period == dt.date(2026, 1, 1)
    assert chart.json()["labels"][-1] == "2026-01-01"


# --- the drill-down's period is snapped once, where the URL is read -----------------------------


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_the_drilldown_snaps_the_url_period_once(manager):
    stored("customers_new", dt.date(2026, 2, 1), "5")

    page = manager.get(
        reverse("kpis:kpi_drilldown", kwargs={"key": "customers_new"}), {"period": "2026-02-17"}
    )

    assert page.status_code == 200
    assert page.context["period"] == dt.date(2026, 2, 1)
    assert page.context["stored"].value == 5


@pytest.mark.django_db
def test_the_drilldown_selector_checks_a_period_start_instead_of_snapping_it_again():
    with pytest.raises(PeriodError, match="2026-02-17 is not the start of a month"):
        snapshot_drilldown(
            kpi="customers_new", granularity="month", period_start=dt.date(2026, 2, 17)
        )

    records = snapshot_drilldown(
        kpi="customers_new", granularity="month", period_start=dt.date(2026, 2, 1)
    )
    assert records is not None

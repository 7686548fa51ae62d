"""Catalogue §1 at its edges (issue 19, item 2): the activity window [t − d, t), lead conversion
starting the clock, contract customers, per-segment inactivity days and reactivation.

Every test reads both copies of the rule: the stored figure (the customer frame's SQL,
kpis/definitions/frame.py) and the drill-down list (the Q rules of kpis/activity.py).
Default inactivity d = 90 days (settings.CRM_INACTIVITY_DAYS); time zone Europe/Berlin.
"""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer
from kpis.selectors import snapshot_drilldown
from sales.services import lead_convert
from tests.customers.factories import CustomerFactory, SegmentFactory
from tests.kpis.boundaries import NOW, at, figures
from tests.kpis.conftest import buyer
from tests.sales.factories import LeadFactory, OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]

INSTANT = dt.timedelta(microseconds=1)
APRIL = dt.date(2026, 4, 1)
# t = April's end = 2026-05-01 00:00 local. t − 90 days: May 1 − 30 (April) = Apr 1,
# − 31 (March) = Mar 1, − 28 (February) = Feb 1, − 1 = Jan 31 → 2026-01-31 00:00 local.
T = at(2026, 5, 1)
T_MINUS_90 = at(2026, 1, 31)
LONG_AGO = at(2025, 1, 15, 12)


@pytest.fixture(autouse=True)
def _berlin(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    settings.CRM_INACTIVITY_DAYS = 90


def test_the_window_is_t_minus_d_inclusive_to_t_exclusive():
    assert T - dt.timedelta(days=90) == T_MINUS_90
    kept = buyer(LONG_AGO, T_MINUS_90)  # last order exactly d days before t: active at t
    buyer(LONG_AGO, T_MINUS_90 - INSTANT)  # one instant earlier: churned at t
    buyer(LONG_AGO, T)  # an order at t itself is not in [t − d, t): churned at t

    april = figures("active_customers", APRIL)

    # 1 of 3 customers active at April's end, in the number and in its list
    assert april["numerator"] == 1
    assert april["rows_numerator"] == 1
    records = snapshot_drilldown(
        kpi="active_customers", granularity="month", period_start=APRIL, now=NOW
    )
    assert records is not None
    assert list(records.values_list("pk", flat=True)) == [kept.pk]


def test_an_order_at_t_counts_from_t_onwards():
    # An order at exactly 2026-05-01 00:00 is in [t − d, t) for any t after it: active on May 1
    buyer(LONG_AGO, T)

    may_first = figures("active_customers", dt.date(2026, 5, 1), "day")  # t = May 2 00:00

    assert (may_first["numerator"], may_first["rows_numerator"]) == (1, 1)


def test_a_lead_conversion_starts_the_clock_like_a_first_order():
    # Converted exactly d days before t: active at t; converted one instant earlier: not.
    for converted_at in (T_MINUS_90, T_MINUS_90 - INSTANT):
        lead = LeadFactory(created_at=converted_at - dt.timedelta(days=5))
        lead_convert(lead=lead, converted_at=converted_at, create_opportunity=False)
    assert Customer.objects.filter(acquired_at=T_MINUS_90).count() == 1

    april = figures("active_customers", APRIL)

    # no orders at all: only the conversion at t − 90 days keeps one of the two active
    assert (april["numerator"], april["rows_numerator"]) == (1, 1)


def test_a_converted_customer_then_ordering_uses_the_later_order():
    # converted 2025-12-01 (more than 90 days before t), first order exactly at t − 90 days
    lead = LeadFactory(created_at=at(2025, 11, 1))
    customer, _deal = lead_convert(
        lead=lead, converted_at=at(2025, 12, 1), create_opportunity=False
    )
    OrderFactory(customer=customer, ordered_at=T_MINUS_90)

    april = figures("active_customers", APRIL)

    assert (april["numerator"], april["rows_numerator"]) == (1, 1)


def test_explicit_churned_at_is_the_instant_the_customer_stops_being_active():
    # churned exactly at t: still active at t (churned_at >= t); one instant before t: not.
    # Both ordered yesterday, which the explicit date overrides.
    buyer(LONG_AGO, at(2026, 4, 30, 12), churned_at=T)
    buyer(LONG_AGO, at(2026, 4, 30, 12), churned_at=T - INSTANT)

    april = figures("active_customers", APRIL)

    assert (april["numerator"], april["rows_numerator"]) == (1, 1)


def test_a_contract_customer_is_active_on_its_end_date_and_not_the_day_after():
    # contract_end_date 2026-04-30; no order for a year (the contract replaces the 90-day rule)
    buyer(LONG_AGO, contract_end_date=dt.date(2026, 4, 30))

    # day April 29: t = April 30 00:00, on the end date → active
    on_the_day = figures("active_customers", dt.date(2026, 4, 29), "day")
    # day April 30: t = May 1 00:00, the day after the end date → not active
    day_after = figures("active_customers", dt.date(2026, 4, 30), "day")

    assert (on_the_day["numerator"], on_the_day["rows_numerator"]) == (1, 1)
    assert (day_after["numerator"], day_after["rows_numerator"]) == (0, 0)


def test_churn_in_the_period_of_a_contract_end():
    # active at April 1 (contract to April 30), not at May 1: 1 of 1 churned in April → 1.0
    buyer(LONG_AGO, contract_end_date=dt.date(2026, 4, 30))

    april = figures("churn_rate", APRIL)

    assert (april["numerator"], april["denominator"]) == (1, 1)
    assert (april["rows_numerator"], april["rows_denominator"]) == (1, 1)
    assert april["value"] == Decimal("1.000000")


def test_segment_inactivity_days_move_the_window():
    monthly = SegmentFactory(code="monthly", inactivity_days=30)
    # t − 30 days = 2026-04-01 00:00 local (April has 30 days)
    buyer(LONG_AGO, at(2026, 4, 1), segment=monthly)  # exactly 30 days: active
    buyer(LONG_AGO, at(2026, 4, 1) - INSTANT, segment=monthly)  # a moment more: churned
    # the same moment under the default 90 days: active
    buyer(LONG_AGO, at(2026, 4, 1) - INSTANT)
    # a segment without an override uses the default: 89 days ago → active
    buyer(LONG_AGO, at(2026, 2, 1), segment=SegmentFactory(code="plain"))

    april = figures("active_customers", APRIL)
    by_segment = figures("active_customers", APRIL, dimension="segment", value=str(monthly.pk))

    # active: the 30-day customer at exactly 30 days, the two default ones → 3 of 4
    assert (april["numerator"], april["rows_numerator"]) == (3, 3)
    # within the 30-day segment: 1 of 2
    assert (by_segment["numerator"], by_segment["rows_numerator"]) == (1, 1)


def test_reactivation_is_the_first_order_after_churn_inside_the_period():
    # At April 1 00:00 (P.start), t − 90 days = 2026-01-01 00:00: Apr 1 − 31 (March) = Mar 1,
    # − 28 (February) = Feb 1, − 31 (January) = Jan 1.
    churned_start = at(2026, 1, 1) - INSTANT  # last order one instant before the window
    buyer(LONG_AGO, churned_start, at(2026, 4, 1))  # orders again exactly at P.start: back
    buyer(LONG_AGO, churned_start, T)  # orders again exactly at P.end: not in April
    buyer(LONG_AGO, churned_start)  # never comes back
    buyer(LONG_AGO, at(2026, 1, 1), at(2026, 4, 10))  # active at P.start: not churned

    april = figures("reactivation_rate", APRIL)

    # 1 reactivated of the 3 churned at April 1 → 0.333333
    assert (april["numerator"], april["denominator"]) == (1, 3)
    assert (april["rows_numerator"], april["rows_denominator"]) == (1, 3)
    assert april["value"] == Decimal("0.333333")


def test_an_order_after_an_explicit_churn_reactivates_and_one_at_the_churn_instant_does_not():
    churned = at(2026, 3, 1)
    # one orders at the very instant of its churn (a date-only import): not after the churn
    buyer(LONG_AGO, churned, churned_at=churned)
    # the other one instant later: reactivated, active again for 90 days
    buyer(LONG_AGO, churned + INSTANT, churned_at=churned)

    april = figures("active_customers", APRIL)
    march = figures("reactivation_rate", dt.date(2026, 3, 1))

    assert (april["numerator"], april["rows_numerator"]) == (1, 1)
    # both churned at March 1 00:00 (churned_at < t is false: churned_at == P.start is still
    # active at P.start) → the denominator is empty, the rate n/a
    assert (march["denominator"], march["rows_denominator"]) == (0, 0)
    assert march["value"] is None


def test_an_order_on_the_contract_end_date_does_not_reactivate_the_next_day_does():
    ended = dt.date(2026, 3, 31)
    buyer(LONG_AGO, at(2026, 3, 31, 23, 59), contract_end_date=ended)  # on the end date
    buyer(LONG_AGO, at(2026, 4, 1), contract_end_date=ended)  # first instant of the day after

    april = figures("reactivation_rate", APRIL)

    # at April 1 00:00 both contracts have ended (Mar 31 < Apr 1) → 2 churned; only the order
    # dated after the end date reactivates → 1 of 2 = 0.5
    assert (april["numerator"], april["denominator"]) == (1, 2)
    assert (april["rows_numerator"], april["rows_denominator"]) == (1, 2)
    assert april["value"] == Decimal("0.500000")


def test_a_new_customer_is_in_neither_part_of_churn():
    # acquired at exactly P.start: acquired_at < P.start is false, so not active at P.start
    buyer(at(2026, 4, 1))
    # acquired one instant before P.start with that order: active at P.start and at P.end
    buyer(at(2026, 4, 1) - INSTANT)
    CustomerFactory(acquired_at=None)  # a prospect never counts

    april = figures("churn_rate", APRIL)

    # 0 churned of 1 active at April 1 → 0.0
    assert (april["numerator"], april["denominator"]) == (0, 1)
    assert (april["rows_numerator"], april["rows_denominator"]) == (0, 1)

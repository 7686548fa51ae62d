"""Shared helpers for the KPI engine tests: local datetimes, rows with denormalised fields set,
and a one-call period computation."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

# Every test computes March 2026 or earlier; `now` is fixed after it (cohorts of 90 days are
# still provisional at NOW, mature at MATURE_NOW).
MARCH = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
MATURE_NOW = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """An aware datetime in the organisation's time zone."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))


def snapshot(kpi, *, period_start=MARCH, granularity="month", dimension="all", value=""):
    return KpiSnapshot.objects.get(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        dimension=dimension,
        dimension_value=str(value),
    )


def customer(acquired=None, **fields):
    """A customer acquired at `acquired` (a datetime) with the given fields."""
    return CustomerFactory.create(acquired_at=acquired, **fields)


def buyer(*order_times, **fields):
    """A customer acquired at their first order, with one 100.00 order at each time."""
    person = CustomerFactory.create(acquired_at=min(order_times), **fields)
    for when in order_times:
        OrderFactory.create(customer=person, ordered_at=when)
    return person


@pytest.fixture
def post_compute_calls(monkeypatch):
    """Records the engine's call of the post-compute hook instead of running it.

    The hook (index, health, RFM, alerts) is another package with its own tests; these tests
    check the KPI figures and that the hook is called once inside the run.
    """
    from kpis import post_compute

    calls: list[dict] = []
    monkeypatch.setattr(
        post_compute, "after_period_computed", lambda **kwargs: calls.append(kwargs)
    )
    return calls


@pytest.fixture
def compute(post_compute_calls):
    """compute("churn_rate") computes March 2026 for that KPI and returns its `all` snapshot."""

    def _compute(kpi, period_start=MARCH, granularity="month", now=NOW):
        compute_period(granularity=granularity, period_start=period_start, kpi_keys=[kpi], now=now)
        return snapshot(kpi, granularity=granularity, period_start=period_start)

    return _compute


def dec(text: str) -> Decimal:
    return Decimal(text)

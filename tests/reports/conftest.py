"""A small month of data (March 2026, with February 2026 and March 2025 for the comparisons),
its snapshots computed by the real engine, and users of every role.

Rep Ann (team North) owns two customers: 3 orders of 100.00 in March 2026, 1 in February 2026,
2 in March 2025, and 4 activities done in March 2026. Rep Bob owns one customer with one March
order. The manager manages team North; the support agent is a member of team North.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from kpis.engine import compute_period
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import ActivityFactory, OrderFactory

MARCH = dt.date(2026, 3, 1)
FEBRUARY = dt.date(2026, 2, 1)
MARCH_2025 = dt.date(2025, 3, 1)
SITE = "https://crm.example.com"


def local(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))


# Enough for the digests and the report; the whole catalogue would only slow the tests down.
COMPUTED_KPIS = ["revenue", "orders", "aov", "activities_logged", "win_rate", "churn_rate"]
# Wednesday 1 April 2026, 07:00 in the organisation's time zone: the monthly digests are due.
SEND_TIME = local(2026, 4, 1, 7)


@pytest.fixture(autouse=True)
def _reports_settings(settings):
    settings.SITE_URL = SITE
    settings.DIGEST_FROM_EMAIL = "Pulse digests <digests@example.com>"


@pytest.fixture
def people(db):
    north = TeamFactory(name="North")
    manager = UserFactory(username="maria", role="Manager", first_name="Maria")
    ann = UserFactory(username="ann", role="Sales rep", first_name="Ann")
    bob = UserFactory(username="bob", role="Sales rep", first_name="Bob")
    agent = UserFactory(username="sam", role="Support agent")
    # Maria manages no team, so her KPI scope is the organisation (kpi_scope_for): company
    # figures and any team's.
    north.members.add(ann, agent)
    return {"north": north, "manager": manager, "ann": ann, "bob": bob, "agent": agent}


@pytest.fixture
def month_of_data(people):
    ann, bob, north = people["ann"], people["bob"], people["north"]
    first = CustomerFactory(owner=ann, team=north, acquired_at=local(2025, 1, 5))
    second = CustomerFactory(owner=ann, team=north, acquired_at=local(2025, 1, 6))
    third = CustomerFactory(owner=bob, acquired_at=local(2025, 2, 1))
    for customer, when in (
        (first, local(2026, 3, 3)),
        (first, local(2026, 3, 17)),
        (second, local(2026, 3, 20)),
        (first, local(2026, 2, 10)),
        (first, local(2025, 3, 4)),
        (second, local(2025, 3, 12)),
        (third, local(2026, 3, 9)),
    ):
        OrderFactory(customer=customer, ordered_at=when)
    for day in (2, 9, 16, 23):
        ActivityFactory(
            owner=ann, team=north, customer=first, done_at=local(2026, 3, day), is_bulk=False
        )
    return people


@pytest.fixture
def snapshots(month_of_data):
    """Compute the three months at send time, as the closed-periods beat run would have."""
    with time_machine.travel(SEND_TIME, tick=False):
        for period in (MARCH_2025, FEBRUARY, MARCH):
            compute_period(granularity="month", period_start=period, kpi_keys=COMPUTED_KPIS)
    return month_of_data


@pytest.fixture
def at_send_time():
    with time_machine.travel(SEND_TIME, tick=False) as traveller:
        yield traveller

"""Counterexamples found by tests/kpis/test_property_drilldown.py, kept as ordinary tests."""

import datetime as dt

import pytest

from kpis.engine import compute_period
from kpis.models import CustomerSegmentSnapshot
from tests.kpis.boundaries import NOW, at, figures
from tests.kpis.conftest import buyer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


def test_the_rfm_segment_drilldown_lists_its_customers_and_orders():
    # Shrunk from a generated company: one customer, two orders in 2026. The snapshot keyed the
    # blank value "" like NULL, but the drill-down filtered rfm_segment IS NULL and listed
    # nobody. The dimension is now the segment stored for the period (as of its end, or now
    # while it is open): the drill-down must list the rows of that stored segment.
    buyer(at(2026, 1, 1, 0, 0, 0, 1), at(2026, 12, 1))
    compute_period(
        granularity="year", period_start=dt.date(2026, 1, 1), kpi_keys=["orders"], now=NOW
    )
    segment = CustomerSegmentSnapshot.objects.get(granularity="year").rfm_segment

    orders = figures("orders", dt.date(2026, 1, 1), "year", dimension="rfm_segment", value=segment)
    active = figures(
        "active_customers", dt.date(2026, 1, 1), "year", dimension="rfm_segment", value=segment
    )
    blank = figures("orders", dt.date(2026, 1, 1), "year", dimension="rfm_segment", value="")

    # 2 orders in 2026, both listed; the customer is active at 2027-01-01 (last order Dec 1,
    # 31 days before) and listed; nobody is without a segment
    assert (orders["numerator"], orders["rows_numerator"]) == (2, 2)
    assert (blank["numerator"], blank["rows_numerator"]) == (None, 0)
    assert (active["numerator"], active["rows_numerator"]) == (1, 1)

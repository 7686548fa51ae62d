"""Counterexamples found by tests/kpis/test_property_drilldown.py, kept as ordinary tests."""

import datetime as dt

import pytest

from tests.kpis.boundaries import at, figures
from tests.kpis.conftest import buyer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


def test_the_blank_rfm_segment_drilldown_lists_its_customers_and_orders():
    # Shrunk from a generated company: one customer, no RFM segment yet (rfm_segment is "",
    # not NULL), two orders in 2026. The snapshot keyed the blank value "" like NULL, but the
    # drill-down filtered rfm_segment IS NULL and listed nobody.
    buyer(at(2026, 1, 1, 0, 0, 0, 1), at(2026, 12, 1))

    orders = figures("orders", dt.date(2026, 1, 1), "year", dimension="rfm_segment")
    active = figures("active_customers", dt.date(2026, 1, 1), "year", dimension="rfm_segment")

    # 2 orders in 2026, both listed; the customer is active at 2027-01-01 (last order Dec 1,
    # 31 days before) and listed
    assert (orders["numerator"], orders["rows_numerator"]) == (2, 2)
    assert (active["numerator"], active["rows_numerator"]) == (1, 1)

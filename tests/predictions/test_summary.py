"""The repeat-purchase summary the models fit on: one transaction per customer and local day."""

import datetime as dt
from decimal import Decimal

import pytest

from predictions.selectors import purchase_summary
from sales.models import Order
from tests.customers.factories import CustomerFactory
from tests.predictions.conftest import buy, local_noon
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

END = dt.date(2026, 3, 31)


def test_same_day_orders_are_one_transaction_and_cancelled_ones_do_not_count():
    customer = CustomerFactory.create()
    buy(customer, dt.date(2026, 1, 1))  # first transaction
    buy(customer, dt.date(2026, 1, 15), dt.date(2026, 1, 15), total="30.00")  # one day: 60
    buy(customer, dt.date(2026, 2, 12), total="90.00")
    buy(customer, dt.date(2026, 3, 1), status=Order.Status.CANCELLED)
    buy(customer, dt.date(2026, 4, 2))  # after the calibration end

    summary = purchase_summary(as_of=END)

    assert list(summary.customer_ids) == [customer.pk]
    # Repeat days Jan 15 and Feb 12 → x = 2; t_x = 42 days = 6 weeks; T = 89 days = 12.714 weeks.
    assert summary.frequency[0] == 2
    assert summary.recency[0] == pytest.approx(6.0)
    assert summary.age[0] == pytest.approx(89 / 7)
    # Repeat value (60 + 90) ÷ 2 = 75; the first day's 100 is not a repeat purchase.
    assert summary.repeat_mean_value[0] == pytest.approx(75.0)


def test_days_are_local_days_of_the_organisation():
    """23:30 and 00:30 local are two days even when they are one UTC day (or vice versa)."""
    customer = CustomerFactory.create()
    late = local_noon(dt.date(2026, 3, 9), hour=23).replace(minute=30)
    OrderFactory.create(customer=customer, ordered_at=late, total=Decimal("10.00"))
    OrderFactory.create(
        customer=customer, ordered_at=late + dt.timedelta(hours=1), total=Decimal("10.00")
    )

    summary = purchase_summary(as_of=END)

    assert summary.frequency[0] == 1  # two local days → one repeat transaction
    assert summary.recency[0] == pytest.approx(1 / 7)


def test_a_customer_without_orders_by_the_end_is_not_in_the_summary():
    CustomerFactory.create()
    later = CustomerFactory.create()
    buy(later, dt.date(2026, 4, 1))

    assert len(purchase_summary(as_of=END)) == 0

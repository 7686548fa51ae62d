"""Order lines: replace the lines of each order in the file, total = Σ lines (order_create)."""

from decimal import Decimal

import pytest

from sales.models import Order, OrderLine
from tests.sales.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_lines_replace_and_set_the_total(write_csv, import_data):
    order = OrderFactory(external_id="O-1", total=Decimal("0"), refunded_total=Decimal("0"))
    ProductFactory(sku="SKU-A", external_id="P-A", unit_price=Decimal("10.00"))
    ProductFactory(sku="SKU-B", unit_price=Decimal("2.50"))
    path = write_csv(
        "lines.csv",
        [
            ["order", "product", "quantity", "unit_price"],
            ["O-1", "P-A", "2", ""],  # product external id, its price: 2 × 10.00
            ["O-1", "SKU-B", "3", "2.25"],  # SKU, explicit price: 3 × 2.25
        ],
    )

    first = import_data("order_lines", path)
    second = import_data("order_lines", path)

    assert first.ok, first.err
    assert second.ok
    order.refresh_from_db()
    # 20.00 + 6.75 = 26.75, and the second run replaced rather than added lines
    assert OrderLine.objects.filter(order=order).count() == 2
    assert order.total == Decimal("26.75")
    assert order.net_amount == Decimal("26.75")


def test_bad_lines_are_reported(write_csv, import_data):
    OrderFactory(external_id="O-1")
    ProductFactory(sku="SKU-A")
    path = write_csv(
        "lines.csv",
        [
            ["order", "product", "quantity", "unit_price"],
            ["O-9", "SKU-A", "1", ""],
            ["O-1", "SKU-Z", "1", ""],
            ["O-1", "SKU-A", "0", ""],
            ["O-1", "SKU-A", "1.5", "-1"],
        ],
    )

    result = import_data("order_lines", path)

    assert not result.ok
    assert "line 2, column order: unknown order “O-9”" in result.err
    assert "line 3, column product: unknown product “SKU-Z”" in result.err
    assert "line 4, column quantity: must be ≥ 1, got 0" in result.err
    assert "line 5, column quantity: not a whole number: “1.5”" in result.err
    assert "line 5, column unit_price: must be ≥ 0, got -1" in result.err
    assert OrderLine.objects.count() == 0


def test_lines_below_the_refunds_roll_back(write_csv, import_data):
    OrderFactory(external_id="O-1", total=Decimal("100"), refunded_total=Decimal("50"))
    ProductFactory(sku="SKU-A", unit_price=Decimal("10"))
    path = write_csv("lines.csv", [["order", "product"], ["O-1", "SKU-A"]])

    result = import_data("order_lines", path, "--skip-invalid")

    assert not result.ok
    assert "below what was already refunded (50.00)" in result.err
    assert OrderLine.objects.count() == 0
    assert Order.objects.get().total == Decimal("100.00")

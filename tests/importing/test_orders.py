"""Orders import: idempotent upserts, row-level reports, all-or-nothing, --skip-invalid, and the
customer acquisition rule of order_create applied set-based."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from sales.models import Order, OrderLine
from tests.customers.factories import ChannelFactory, CustomerFactory, UserFactory
from tests.sales.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
HEADER = ["external_id", "customer", "ordered_at", "total", "currency", "status"]


@pytest.fixture
def customers():
    return [CustomerFactory(external_id=f"C-{n}") for n in range(1, 4)]


def test_same_file_twice_leaves_the_same_rows(customers, write_csv, import_data):
    # given a file of three orders
    path = write_csv(
        "orders.csv",
        [
            HEADER,
            ["O-1", "C-1", "2024-03-05", "100.50", "EUR", "completed"],
            ["O-2", "C-2", "2024-03-06T10:30", "20", "", ""],
            ["O-3", "C-1", "2024-01-02", "5", "EUR", "cancelled"],
        ],
    )
    # when it is imported twice
    first = import_data("orders", path)
    snapshot = list(Order.objects.order_by("external_id").values())
    second = import_data("orders", path)

    # then the second run updates the same three rows: same counts, same values
    assert first.ok
    assert second.ok
    assert "3 new, 0 updated" in first.out
    assert "0 new, 3 updated" in second.out
    assert Order.objects.count() == 3
    assert list(Order.objects.order_by("external_id").values()) == snapshot
    order = Order.objects.get(external_id="O-2")
    assert order.total == Decimal("20.00")
    assert order.net_amount == Decimal("20.00")
    assert order.status == "completed"  # the default
    assert order.ordered_at == dt.datetime(2024, 3, 6, 10, 30, tzinfo=BERLIN)
    assert Order.objects.get(external_id="O-3").cancelled_at is not None


def test_three_bad_rows_are_reported_and_nothing_is_written(customers, write_csv, import_data):
    # given a file with three bad rows among good ones
    path = write_csv(
        "orders.csv",
        [
            HEADER,
            ["O-1", "C-1", "2024-03-05", "100", "EUR", ""],
            ["O-2", "C-991", "2024-03-05", "100", "EUR", ""],
            ["O-3", "C-2", "2024-03-05", "100", "EUR", ""],
            ["O-4", "C-2", "2024-03-05", "-5", "EUR", ""],
            ["O-5", "C-3", "31/02/2024", "7", "EUR", ""],
            ["O-6", "C-3", "2024-03-07", "7", "EUR", ""],
        ],
    )
    # when it is imported in the default (all-or-nothing) mode
    result = import_data("orders", path)

    # then the report names exactly those three rows (line, column, message) and nothing is written
    assert not result.ok
    error_lines = [
        line.strip() for line in result.err.splitlines() if line.strip().startswith("line")
    ]
    assert error_lines == [
        "line 3, column customer: unknown customer “C-991”",
        "line 5, column total: must be ≥ 0, got -5",
        "line 6, column ordered_at: unparseable date “31/02/2024” "
        "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)",
    ]
    assert "nothing was imported" in result.err
    assert Order.objects.count() == 0


def test_skip_invalid_writes_the_valid_rows(customers, write_csv, import_data):
    path = write_csv(
        "orders.csv",
        [
            HEADER,
            ["O-1", "C-1", "2024-03-05", "100", "EUR", ""],
            ["O-2", "C-991", "2024-03-05", "100", "EUR", ""],
            ["O-3", "C-2", "2024-03-05", "100", "EUR", ""],
            ["O-4", "C-2", "2024-03-05", "-5", "EUR", ""],
            ["O-5", "C-3", "31/02/2024", "7", "EUR", ""],
            ["O-6", "C-3", "2024-03-07", "7", "EUR", ""],
        ],
    )
    result = import_data("orders", path, "--skip-invalid")

    assert result.ok
    assert "skipped 3 invalid" in result.out
    assert set(Order.objects.values_list("external_id", flat=True)) == {"O-1", "O-3", "O-6"}


def test_dry_run_writes_nothing_and_reports(customers, write_csv, import_data):
    path = write_csv("orders.csv", [HEADER, ["O-1", "C-1", "2024-03-05", "100", "EUR", ""]])

    result = import_data("orders", path, "--dry-run")

    assert result.ok
    assert "Would write 1 orders (1 new, 0 updated)" in result.out
    assert Order.objects.count() == 0


def test_orders_acquire_customers_like_order_create(write_csv, import_data):
    # given a prospect, a customer acquired in 2023, and one churned in 2024-02 acquired in 2022
    prospect = CustomerFactory(external_id="P")
    acquired = CustomerFactory(
        external_id="A", status="active", acquired_at=dt.datetime(2023, 6, 1, tzinfo=BERLIN)
    )
    churned = CustomerFactory(
        external_id="X",
        status="churned",
        acquired_at=dt.datetime(2022, 1, 1, tzinfo=BERLIN),
        churned_at=dt.datetime(2024, 2, 1, tzinfo=BERLIN),
    )
    path = write_csv(
        "orders.csv",
        [
            HEADER,
            ["O-1", "P", "2024-05-01", "10", "", "cancelled"],  # cancelled: acquires nobody
            ["O-2", "P", "2024-05-03", "10", "", ""],
            ["O-3", "P", "2024-04-20", "10", "", ""],
            ["O-4", "A", "2023-07-01", "10", "", ""],  # later than acquisition: kept
            ["O-5", "X", "2023-12-01", "10", "", ""],  # before the churn: no reactivation
        ],
    )
    assert import_data("orders", path).ok

    prospect.refresh_from_db()
    acquired.refresh_from_db()
    churned.refresh_from_db()
    # the earliest non-cancelled order acquires the prospect and makes them active
    assert prospect.acquired_at == dt.datetime(2024, 4, 20, tzinfo=BERLIN)
    assert prospect.status == Customer.Status.ACTIVE
    assert acquired.acquired_at == dt.datetime(2023, 6, 1, tzinfo=BERLIN)
    assert churned.status == Customer.Status.CHURNED


def test_foreign_currency_needs_a_rate_and_converts_net_amount(customers, write_csv, import_data):
    path = write_csv(
        "orders.csv",
        [
            ["external_id", "customer", "ordered_at", "total", "currency", "exchange_rate"],
            ["O-1", "C-1", "2024-03-05", "100", "USD", "0.9"],
            ["O-2", "C-1", "2024-03-05", "100", "USD", ""],
        ],
    )
    result = import_data("orders", path, "--skip-invalid")

    assert (
        "line 3, column exchange_rate: An order in a foreign currency needs an exchange rate."
        in (result.err)
    )
    # 100 × 0.9 = 90.00 in the organisation currency (order_net_amount)
    assert Order.objects.get(external_id="O-1").net_amount == Decimal("90.00")


def test_reimport_keeps_refunds_and_refuses_a_total_below_them(customers, write_csv, import_data):
    OrderFactory(
        external_id="O-1",
        customer=customers[0],
        total=Decimal("100"),
        refunded_total=Decimal("40"),
    )
    path = write_csv(
        "orders.csv",
        [HEADER, ["O-1", "C-1", "2024-03-05", "120", "EUR", ""]],
    )
    assert import_data("orders", path).ok
    order = Order.objects.get(external_id="O-1")
    # (120 − 40 refunded) × 1 = 80
    assert (order.total, order.refunded_total, order.net_amount) == (
        Decimal("120.00"),
        Decimal("40.00"),
        Decimal("80.00"),
    )

    too_low = write_csv("low.csv", [HEADER, ["O-1", "C-1", "2024-03-05", "30", "EUR", ""]])
    result = import_data("orders", too_low)
    assert "the total 30.00 is below the refunded amount 40.00" in result.err


def test_relations_by_name_code_and_email(customers, write_csv, import_data):
    web = ChannelFactory(code="web", name="Web shop")
    rep = UserFactory(username="anna", email="Anna@Example.com")
    path = write_csv(
        "orders.csv",
        [
            ["External ID", "CUSTOMER", "Ordered_At", "Total", "Channel", "Owner"],
            ["O-1", "C-1", "2024-03-05", "10", "WEB SHOP", "anna@example.com"],
            ["O-2", "C-1", "2024-03-05", "10", "web", "anna"],
            ["O-3", "C-1", "2024-03-05", "10", "fax", "bob"],
        ],
    )
    result = import_data("orders", path, "--skip-invalid")

    assert "line 4, column channel: unknown channel “fax”" in result.err
    assert "line 4, column owner: unknown user “bob”" in result.err
    assert set(Order.objects.values_list("channel_id", "owner_id")) == {(web.pk, rep.pk)}


def test_one_line_orders_from_product_and_quantity(customers, write_csv, import_data):
    ProductFactory(sku="SKU-1", external_id="P-1", unit_price=Decimal("12.50"))
    path = write_csv(
        "orders.csv",
        [
            ["external_id", "customer", "ordered_at", "product", "quantity", "total"],
            ["O-1", "C-1", "2024-03-05", "SKU-1", "3", ""],
            ["O-2", "C-1", "2024-03-05", "P-1", "2", "99"],
        ],
    )
    result = import_data("orders", path, "--skip-invalid")
    # again, to check the line is replaced rather than duplicated
    import_data("orders", path, "--skip-invalid")

    # 3 × 12.50 = 37.50
    assert Order.objects.get(external_id="O-1").total == Decimal("37.50")
    assert OrderLine.objects.filter(order__external_id="O-1").count() == 1
    assert "the total 99.00 differs from the sum of the lines 25.00" in result.err


def test_duplicate_external_ids_in_one_file(customers, write_csv, import_data):
    path = write_csv(
        "orders.csv",
        [
            HEADER,
            ["O-1", "C-1", "2024-03-05", "10", "", ""],
            ["O-1", "C-2", "2024-03-05", "10", "", ""],
        ],
    )
    result = import_data("orders", path)

    assert not result.ok
    assert (
        "line 3, column external_id: duplicate external id “O-1” (already on line 2)" in result.err
    )
    assert Order.objects.count() == 0

"""Readers and bad files: BOM and semicolon CSV, XLSX, and each bad-file case gets one clear
message with nothing imported."""

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from customers.models import Customer
from sales.models import Order
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_semicolon_csv_with_bom_and_decimal_comma(write_csv, import_data):
    CustomerFactory(external_id="C-1")
    path = write_csv(
        "orders.csv",
        [["External_ID", "Customer", "Ordered At", "Total"], ["O-1", "C-1", "2024-03-05", "12,50"]],
        delimiter=";",
        bom=True,
    )

    result = import_data("orders", path)

    assert result.ok, result.err
    # the BOM is not part of the first column's name
    assert "External_ID → external_id" in result.out
    assert Order.objects.get(external_id="O-1").total == Decimal("12.50")


def test_comma_csv_without_bom(write_csv, import_data):
    path = write_csv(
        "customers.csv", [["external_id", "name", "email"], ["C-1", "Acme; Ltd", "a@acme.test"]]
    )

    assert import_data("customers", path).ok
    assert Customer.objects.get(external_id="C-1").name == "Acme; Ltd"


def test_xlsx_with_typed_cells(tmp_path, import_data):
    CustomerFactory(external_id="C-1")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["external_id", "customer", "ordered_at", "total"])
    excel_time = dt.datetime(2024, 3, 5, 9, 30)  # noqa: DTZ001 - Excel cells have no zone
    sheet.append(["O-1", "C-1", excel_time, 19.99])
    sheet.append(["O-2", "C-1", dt.date(2024, 3, 6), 20])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)

    result = import_data("orders", path)

    assert result.ok, result.err
    assert Order.objects.get(external_id="O-1").total == Decimal("19.99")
    assert Order.objects.get(external_id="O-2").total == Decimal("20.00")


def test_wrong_encoding(tmp_path, import_data):
    path = tmp_path / "customers.csv"
    path.write_bytes("external_id,name\nC-1,Müller GmbH\n".encode("latin-1"))

    result = import_data("customers", path)

    assert not result.ok
    assert "not UTF-8 encoded" in result.err
    assert Customer.objects.count() == 0


def test_missing_required_column(write_csv, import_data):
    path = write_csv(
        "orders.csv", [["external_id", "ordered_at", "total"], ["O-1", "2024-01-01", "1"]]
    )

    result = import_data("orders", path)

    assert not result.ok
    assert "Missing required column(s) for orders: customer" in result.err


def test_file_of_another_kind(write_csv, import_data):
    path = write_csv("customers.csv", [["external_id", "name", "email"], ["C-1", "Acme", ""]])

    result = import_data("orders", path)

    assert not result.ok
    assert "This looks like a “customers” file, not “orders”" in result.err
    assert Customer.objects.count() == 0


def test_empty_file(tmp_path, import_data):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")

    result = import_data("orders", path)

    assert not result.ok
    assert "The file is empty." in result.err


def test_header_without_rows(write_csv, import_data):
    path = write_csv("orders.csv", [["external_id", "customer", "ordered_at"]])

    result = import_data("orders", path)

    assert not result.ok
    assert "no data rows" in result.err


def test_oversized_file(write_csv, import_data, settings):
    settings.CRM_IMPORT_MAX_BYTES = 50
    path = write_csv(
        "customers.csv", [["external_id", "name"], *[[f"C-{n}", "Acme"] for n in range(9)]]
    )

    result = import_data("customers", path)

    assert not result.ok
    assert "the limit is" in result.err
    assert Customer.objects.count() == 0


def test_unsupported_file_type(tmp_path, import_data):
    path = tmp_path / "customers.json"
    path.write_text("[]")

    result = import_data("customers", path)

    assert "Unsupported file type “.json”" in result.err


def test_encoding_error_late_in_the_file_rolls_back_everything(tmp_path, import_data):
    # given a file whose first chunk is fine and whose last line is not UTF-8
    lines = ["external_id,name"] + [f"C-{n},Acme {n}" for n in range(3000)]
    path = tmp_path / "customers.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + "C-x,Müller\n".encode("latin-1"))

    result = import_data("customers", path)

    assert "not UTF-8 encoded" in result.err
    assert Customer.objects.count() == 0


def test_utf16_file_is_refused(tmp_path, import_data):
    path = tmp_path / "customers.csv"
    path.write_bytes("external_id,name\nC-1,Acme\n".encode("utf-16"))

    result = import_data("customers", path)

    assert "UTF-16" in result.err
    assert Customer.objects.count() == 0


def test_broken_xlsx_is_refused(tmp_path, import_data):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"this is not a zip archive")

    result = import_data("orders", path)

    assert "not a valid .xlsx workbook" in result.err

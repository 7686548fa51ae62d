"""The export helper: CSV/XLSX files that the importer reads back unchanged."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse

from crm.importing.export import EXPORT_COLUMNS, export_response, export_rows
from sales.models import Order
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.importing.urls")]
BERLIN = ZoneInfo("Europe/Berlin")


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_exported_orders_import_back_unchanged(tmp_path, import_data):
    customer = CustomerFactory(external_id="C-1")
    OrderFactory(
        external_id="O-1",
        customer=customer,
        ordered_at=dt.datetime(2024, 3, 5, 10, 30, tzinfo=BERLIN),
        total=Decimal("12.50"),
    )
    before = list(Order.objects.values())
    columns = EXPORT_COLUMNS["orders"]

    response = export_response(
        rows=export_rows(Order.objects.all(), columns), columns=columns, filename="orders"
    )
    text = _csv(response)
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    result = import_data("orders", path)

    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    assert text.startswith("\ufeffexternal_id,customer,ordered_at,total")
    assert "O-1,C-1,2024-03-05T10:30:00,12.50" in text
    # refunded_total and net_amount are not import columns: reported as ignored, not an error
    assert result.ok, result.err
    assert "0 new, 1 updated" in result.out
    assert list(Order.objects.values()) == before


def test_xlsx_export_and_formula_guard():
    columns = EXPORT_COLUMNS["customers"][:2]

    response = export_response(
        rows=[["C-1", "=HYPERLINK(1)"], ["C-2", "-5"]],
        columns=columns,
        filename="customers",
        file_format="xlsx",
    )
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))

    assert rows == [("external_id", "name"), ("C-1", "'=HYPERLINK(1)"), ("C-2", "-5")]


def test_template_download(client):
    client.force_login(UserFactory(role="Manager"))

    response = client.get(reverse("imports:template", args=["order_lines", "csv"]))

    assert _csv(response) == "\ufefforder,product,quantity,unit_price\r\n"

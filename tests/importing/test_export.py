"""The export helper: CSV/XLSX files that the importer reads back unchanged."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from crm.importing.export import (
    CONTENT_TYPES,
    EXPORT_COLUMNS,
    MONEY_FORMAT,
    ExportColumn,
    choice_labels,
    export_response,
    export_rows,
    typed_text,
)
from customers.models import Customer
from sales.models import Order
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.importing.urls")]
BERLIN = ZoneInfo("Europe/Berlin")


def _today() -> str:
    return timezone.localdate(timezone=BERLIN).isoformat()


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

    assert response["Content-Disposition"] == f'attachment; filename="orders-{_today()}.csv"'
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
    assert isinstance(response, StreamingHttpResponse)
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))

    assert rows == [("external_id", "name"), ("C-1", "'=HYPERLINK(1)"), ("C-2", "-5")]


def test_template_download(client):
    client.force_login(UserFactory(role="Manager"))

    response = client.get(reverse("imports:template", args=["order_lines", "csv"]))

    assert _csv(response) == "\ufefforder,product,quantity,unit_price\r\n"


# --- one export mechanism: typed XLSX, safe text, dated names, one query ----------------------


def _workbook(response):
    body = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body))


COLUMNS = [
    ExportColumn("Name", "name"),
    ExportColumn("Total", "total", number_format=MONEY_FORMAT),
    ExportColumn("Day", "day"),
    ExportColumn("At", "at"),
    ExportColumn("Paid", "paid"),
]
ROW = [
    "Ann",
    Decimal("1234.50"),
    dt.date(2024, 3, 5),
    # 23:30 UTC is already the next day in Berlin (the organisation's zone in the tests).
    dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.UTC),
    True,
]


def test_xlsx_cells_are_typed_and_in_the_organisation_time_zone(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"

    response = export_response(rows=[ROW], columns=COLUMNS, filename="x", file_format="xlsx")
    sheet = _workbook(response).active
    header, row = list(sheet.iter_rows())

    assert [cell.value for cell in header] == ["Name", "Total", "Day", "At", "Paid"]
    assert header[0].font.b
    assert row[1].data_type == "n"
    assert row[1].value == 1234.5
    assert row[1].number_format == MONEY_FORMAT
    assert row[2].is_date
    assert row[2].value.isoformat() == "2024-03-05T00:00:00"
    # Excel holds no time zone: the wall-clock time in Berlin, naive.
    assert row[3].is_date
    assert row[3].value.isoformat() == "2024-03-06T00:30:00"
    assert row[4].value is True


def test_csv_cells_are_what_the_importer_reads(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"

    response = export_response(rows=[ROW], columns=COLUMNS, filename="x")

    assert _csv(response) == (
        "\ufeffName,Total,Day,At,Paid\r\nAnn,1234.50,2024-03-05,2024-03-06T00:30:00,true\r\n"
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("-5", "-5"),
        ("+49 (30) 1234-5", "+49 (30) 1234-5"),
        ("plain", "plain"),
    ],
)
def test_formula_text_is_defused_in_both_formats(text, written):
    columns = [ExportColumn("Text", "text")]

    as_csv = _csv(export_response(rows=[[text]], columns=columns, filename="x"))
    as_xlsx = _workbook(
        export_response(rows=[[text]], columns=columns, filename="x", file_format="xlsx")
    )

    assert list(csv.reader(io.StringIO(as_csv.lstrip("\ufeff"))))[1] == [written]
    cell = as_xlsx.active["A2"]
    assert cell.value == written
    assert cell.data_type == "s"  # never a formula cell


def test_xlsx_drops_characters_a_workbook_cannot_hold():
    columns = [ExportColumn("Text", "text")]

    response = export_response(
        rows=[["a\x00b\x1fc\ud800d"]], columns=columns, filename="x", file_format="xlsx"
    )

    assert _workbook(response).active["A2"].value == "abcd"


@time_machine.travel(dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), tick=False)
def test_file_names_carry_the_organisation_date(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    columns = [ExportColumn("Text", "text")]

    as_csv = export_response(rows=[], columns=columns, filename="deals")
    as_xlsx = export_response(rows=[], columns=columns, filename="deals", file_format="xlsx")

    # 23:30 UTC on 31 March is 1 April in Berlin.
    assert as_csv["Content-Disposition"] == 'attachment; filename="deals-2026-04-01.csv"'
    assert as_xlsx["Content-Disposition"] == 'attachment; filename="deals-2026-04-01.xlsx"'
    assert as_xlsx["Content-Type"] == CONTENT_TYPES["xlsx"]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="pdf"):
        export_response(rows=[], columns=[], filename="x", file_format="pdf")


def test_export_rows_reads_any_number_of_rows_in_one_query(django_assert_num_queries):
    for number in range(30):
        CustomerFactory(name=f"C{number:02d}", kind="person", owner=UserFactory())
    columns = [
        ExportColumn("Name", "name"),
        ExportColumn("Kind", "kind", choice_labels(Customer.Kind.choices)),
        ExportColumn("Owner", "owner__username"),
    ]

    with django_assert_num_queries(1):
        rows = list(export_rows(Customer.objects.order_by("name"), columns, chunk_size=7))

    assert len(rows) == 30
    assert rows[0][:2] == ["C00", "Person"]


def test_typed_text_turns_our_own_figures_back_into_numbers_and_days():
    assert typed_text("24.000000") == Decimal("24.000000")
    assert typed_text("-3") == Decimal("-3")
    assert typed_text("2024-03-01") == dt.date(2024, 3, 1)
    # Not a figure we wrote: stays text (a code with leading zeros, an impossible date).
    assert typed_text("007") == "007"
    assert typed_text("2024-02-31") == "2024-02-31"
    assert typed_text(None) is None

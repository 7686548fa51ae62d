"""KPI tables, charts and drill-down lists: `?format=xlsx` next to `?format=csv`, typed cells."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from crm.importing.export import CONTENT_TYPES
from kpis.engine import compute_period
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def month() -> dt.date:
    """Last month, with two orders (100.00 and 250.00) and its revenue computed."""
    first_of_this = timezone.localdate().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    for total in ("100.00", "250.00"):
        OrderFactory(
            customer=CustomerFactory(),
            ordered_at=dt.datetime.combine(start, dt.time(12), tzinfo=dt.UTC)
            + dt.timedelta(days=3),
            total=Decimal(total),
        )
    compute_period(granularity="month", period_start=start, kpi_keys=["revenue"])
    return start


@pytest.fixture
def admin(client):
    user = UserFactory(role="Admin")
    client.force_login(user)
    return user


def sheet(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPES["xlsx"]
    body = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def test_a_kpi_table_exports_as_xlsx_with_numbers_and_dates(client, admin, month):
    url = reverse("kpis:kpi_detail", kwargs={"key": "revenue"})

    header, *rows = sheet(client.get(url, {"format": "xlsx", "table": "periods"}))
    as_csv = client.get(url, {"format": "csv", "table": "periods"})

    assert header[:2] == ("Period start", "Value")
    newest = next(row for row in rows if row[0] is not None and row[0].date() == month)
    assert newest[1] == 350
    assert as_csv["Content-Type"].startswith("text/csv")
    assert f"{month.isoformat()},350.000000" in as_csv.content.decode()


def test_a_chart_exports_as_xlsx(client, admin, month):
    url = reverse("kpis:kpi_chart", kwargs={"key": "revenue"})

    header, *rows = sheet(client.get(url, {"format": "xlsx", "periods": "3"}))

    assert header[0] == "Period"
    values = {row[0].date(): row[1] for row in rows}
    assert values[month] == 350


def test_the_drilldown_records_export_as_xlsx(client, admin, month):
    url = reverse("kpis:kpi_drilldown", kwargs={"key": "revenue"})

    header, *rows = sheet(client.get(url, {"period": month.isoformat(), "format": "xlsx"}))

    assert header == ("Record", "Type", "Customer", "Date", "Link")
    assert len(rows) == 2
    assert all(isinstance(row[3], dt.datetime) for row in rows)


def test_kpi_tables_offer_both_formats(client, admin, month):
    page = client.get(reverse("kpis:kpi_detail", kwargs={"key": "revenue"})).content.decode()

    assert 'data-testid="csv-periods"' in page
    assert 'data-testid="xlsx-periods"' in page


def test_the_drilldown_page_links_its_xlsx_export(client, admin, month):
    url = reverse("kpis:kpi_drilldown", kwargs={"key": "revenue"})
    page = client.get(url, {"period": month.isoformat()})

    link = page.context["xlsx_url"]
    header, *rows = sheet(client.get(link))

    assert 'data-testid="xlsx-records"' in page.content.decode()
    # The same 2 orders as the page lists.
    assert (header[0], len(rows)) == ("Record", 2)

"""`?format=xlsx` (and csv) on the API's list endpoints: the whole filtered, visible list, typed
cells, errors still in JSON, and the schema documenting the format."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.importing.export import CONTENT_TYPES
from kpis.engine import compute_period
from kpis.index import active_weight_version
from kpis.models import Granularity, IndexSnapshot
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db
XLSX = {"format": "xlsx"}


@pytest.fixture(autouse=True)
def _fresh_throttles(settings) -> None:
    cache.clear()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == CONTENT_TYPES["xlsx"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return list(workbook.active.iter_rows(values_only=True))


def column(rows: list[tuple], name: str) -> list:
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


def test_a_reps_xlsx_has_every_visible_customer_and_no_other_teams(
    django_assert_max_num_queries,
):
    ours, theirs = TeamFactory(name="Ours"), TeamFactory(name="Theirs")
    rep = UserFactory(role="Sales rep")
    ours.members.add(rep)
    # More than one API page (50): the export is the whole list, not the first page.
    for number in range(60):
        CustomerFactory(name=f"Ours {number:02d}", team=ours)
    CustomerFactory(name="Theirs 1", team=theirs)

    with django_assert_max_num_queries(12):
        response = api_as(rep).get("/api/v1/customers/", {**XLSX, "ordering": "name"})
    rows = sheet_rows(response)

    assert rows[0][:4] == ("id", "external_id", "kind", "name")
    names = column(rows, "name")
    assert len(names) == 60
    assert names[0] == "Ours 00"
    assert "Theirs 1" not in names
    assert response["Content-Disposition"].startswith('attachment; filename="customer-')


def test_the_xlsx_respects_the_filters():
    team = TeamFactory(name="Ours")
    CustomerFactory(name="Active", team=team, status="active")
    CustomerFactory(name="Prospect", team=team)
    admin = UserFactory(role="Admin")

    rows = sheet_rows(api_as(admin).get("/api/v1/customers/", {**XLSX, "status": "active"}))

    assert column(rows, "name") == ["Active"]


def test_api_xlsx_cells_are_typed(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    OrderFactory(
        external_id="O-1",
        ordered_at=dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.UTC),
        total=Decimal("12.50"),
    )

    rows = sheet_rows(api_as(UserFactory(role="Admin")).get("/api/v1/orders/", XLSX))

    assert column(rows, "total") == [12.5]
    (ordered_at,) = column(rows, "ordered_at")
    # In the organisation's zone, without tzinfo (Excel holds none).
    assert ordered_at.isoformat() == "2024-03-06T00:30:00"


def test_kpi_snapshots_export_as_xlsx_and_csv():
    team = TeamFactory(name="Ours")
    OrderFactory(
        customer=CustomerFactory(team=team),
        ordered_at=dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC),
        total=Decimal("100.00"),
    )
    compute_period(granularity="month", period_start=dt.date(2026, 5, 1), kpi_keys=["revenue"])
    client = api_as(UserFactory(role="Manager"))
    query = {"kpi": "revenue", "dimension": "all", "granularity": "month"}

    rows = sheet_rows(client.get("/api/v1/kpis/snapshots/", {**query, **XLSX}))
    as_csv = client.get("/api/v1/kpis/snapshots/", {**query, "format": "csv"})

    assert column(rows, "kpi") == ["revenue"]
    assert column(rows, "value") == [100]
    assert column(rows, "period_start")[0].date() == dt.date(2026, 5, 1)
    assert as_csv["Content-Type"].startswith("text/csv")
    assert "revenue,month,2026-05-01" in as_csv.content.decode()


def test_the_composite_index_exports_as_xlsx():
    IndexSnapshot.objects.create(
        granularity=Granularity.QUARTER,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 4, 1),
        version=active_weight_version(),
        value=Decimal("71.25"),
        coverage=Decimal("0.9000"),
        band="good",
        published=True,
    )

    rows = sheet_rows(api_as(UserFactory(role="Manager")).get("/api/v1/kpis/index/", XLSX))

    assert column(rows, "value") == [71.25]
    assert column(rows, "band") == ["good"]


def test_an_error_on_an_xlsx_export_is_json():
    response = api_as(UserFactory(role="Admin")).get(
        "/api/v1/customers/", {**XLSX, "team": "not-a-team"}
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "team" in response.json()


def test_a_single_record_has_no_xlsx(client):
    customer = CustomerFactory()

    response = api_as(UserFactory(role="Admin")).get(f"/api/v1/customers/{customer.pk}/", XLSX)

    assert response.status_code == 404


def test_the_schema_documents_the_xlsx_format(client):
    client.force_login(UserFactory(role="Admin"))

    schema = client.get("/api/schema/", {"format": "json"}).json()
    listing = schema["paths"]["/api/v1/kpis/snapshots/"]["get"]
    (format_parameter,) = [p for p in listing["parameters"] if p["name"] == "format"]

    assert {"csv", "json", "xlsx"} <= set(format_parameter["schema"]["enum"])
    assert CONTENT_TYPES["xlsx"] in listing["responses"]["200"]["content"]

"""What a client can send wrong is a 4xx with a message, never a 500."""

import pytest

from tests.customers.factories import CustomerFactory
from tests.sales.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/customers/", {"acquired_at_after": "not-a-date"}),
        ("/api/v1/customers/", {"status": "zombie"}),
        ("/api/v1/customers/", {"team": "abc"}),
        ("/api/v1/orders/", {"ordered_at_after": "2026-99-01"}),
        ("/api/v1/tickets/", {"priority": "whenever"}),
        ("/api/v1/customers/", {"search": "a\x00b"}),
        ("/api/v1/customers/", {"q": "a\x00b"}),
    ],
)
def test_bad_filters_are_400(crew, client_as, url, params):
    response = client_as(crew.admin).get(url, params)

    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/abc/",
        "/api/v1/customers/99999999999999999999999/",
        "/api/v1/customers/-1/",
        "/api/v1/no-such-resource/",
        "/api/v1/customers/?page=999",
    ],
)
def test_unknown_records_and_paths_are_json_404s(crew, client_as, url):
    response = client_as(crew.admin).get(url)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_upsert_with_an_unusable_external_id_is_a_404(crew, client_as):
    client = client_as(crew.admin)

    nul = client.put("/api/v1/customers/by-external-id/%00/", {"name": "x"})
    too_long = client.put(f"/api/v1/customers/by-external-id/{'x' * 101}/", {"name": "x"})

    assert (nul.status_code, too_long.status_code) == (404, 404)


def test_huge_foreign_key_is_a_400(crew, client_as):
    response = client_as(crew.admin).post(
        "/api/v1/contacts/", {"customer": 2**70, "first_name": "A"}, format="json"
    )

    assert response.status_code == 400
    assert "customer" in response.json()


def test_malformed_json_is_a_400(crew, client_as):
    response = client_as(crew.admin).generic(
        "POST", "/api/v1/customers/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400


def test_wrong_types_are_field_errors(crew, client_as):
    lead = LeadFactory(owner=crew.admin)

    response = client_as(crew.admin).post(
        f"/api/v1/leads/{lead.pk}/convert/",
        {"create_opportunity": "maybe", "opportunity_amount": "lots", "converted_at": "soon"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"create_opportunity", "opportunity_amount", "converted_at"}


def test_unsupported_method_is_a_405(crew, client_as):
    customer = CustomerFactory()

    response = client_as(crew.admin).post(f"/api/v1/customers/{customer.pk}/", {})

    assert response.status_code == 405


def test_an_error_on_a_csv_export_is_still_json(crew, client_as):
    response = client_as(crew.admin).get("/api/v1/customers/", {"format": "csv", "team": "x"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "team" in response.json()

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    client = APIClient()
    client.force_authenticate(user=UserFactory(role="Sales rep"))
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_needs_a_signed_in_user_or_a_token():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_send_an_anonymous_browser_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_schema_is_valid_openapi_3(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema

    assert schema["openapi"].startswith("3.")


def test_schema_covers_every_resource_and_action(schema):
    paths = schema["paths"]
    for resource in [
        "customers",
        "contacts",
        "teams",
        "channels",
        "leads",
        "opportunities",
        "products",
        "product-lines",
        "orders",
        "activities",
        "campaigns",
        "marketing-spend",
        "sales-costs",
        "retention-cases",
        "tickets",
        "sla-policies",
        "surveys",
        "survey-invitations",
        "survey-responses",
        "kpis/catalogue",
        "kpis/snapshots",
        "kpis/index",
        "kpis/alerts",
        "kpis/targets",
        "kpis/alert-rules",
        "kpis/weight-versions",
    ]:
        assert f"/api/v1/{resource}/" in paths, resource
    assert "/api/v1/leads/{id}/convert/" in paths
    assert "/api/v1/opportunities/{id}/move-stage/" in paths
    assert "/api/v1/tickets/{id}/transition/" in paths
    assert "/api/v1/kpis/snapshots/{id}/drilldown/" in paths
    assert "/api/v1/customers/by-external-id/{external_id}/" in paths


def test_every_operation_documents_its_errors_and_a_token_scheme(schema):
    assert "knoxApiToken" in schema["components"]["securitySchemes"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"400", "401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_list_endpoints_document_csv_export(schema):
    listing = schema["paths"]["/api/v1/customers/"]["get"]["responses"]["200"]["content"]

    assert "text/csv" in listing


def test_docs_render_from_local_static_files(client):
    client.force_login(UserFactory(role="Sales rep"))
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html
    # Swagger UI's start-up script is a separate file (script-src 'self'), not inline.
    assert "<script>" not in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_first_stage_change_has_no_from_stage_and_the_schema_says_so(schema):
    # An opportunity's first stage change starts from nothing: the API answers null there.
    from_stage = schema["components"]["schemas"]["StageChange"]["properties"]["from_stage"]

    assert from_stage.get("nullable") is True

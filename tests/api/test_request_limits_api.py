"""Bad requests the API refuses: unknown query parameters (400 naming them) and deeply nested JSON
bodies (400), while every documented parameter keeps working."""

import json

import pytest

from crm.api.parsers import json_depth_exceeds

pytestmark = pytest.mark.django_db


def test_an_unknown_filter_is_refused_naming_it(crew, client_as):
    response = client_as(crew.admin).get("/api/v1/customers/", {"stauts": "active", "bogus": "1"})

    assert response.status_code == 400
    assert response.json() == {
        "bogus": ["Unknown query parameter."],
        "stauts": ["Unknown query parameter."],
    }


def test_documented_list_parameters_are_accepted(crew, client_as):
    client = client_as(crew.admin)

    response = client.get(
        "/api/v1/customers/",
        {
            "status": "active",
            "search": "a",
            "ordering": "-name",
            "page": 1,
            "page_size": 10,
            "format": "json",
        },
    )

    assert response.status_code == 200


def test_range_filters_use_their_suffixed_names(crew, client_as):
    client = client_as(crew.admin)

    accepted = client.get(
        "/api/v1/kpis/snapshots/",
        {"period_start_after": "2026-01-01", "period_start_before": "2026-12-31"},
    )
    bare = client.get("/api/v1/kpis/snapshots/", {"period_start": "2026-01-01"})

    assert accepted.status_code == 200
    assert bare.status_code == 400
    assert list(bare.json()) == ["period_start"]


def test_export_format_is_accepted(crew, client_as):
    response = client_as(crew.admin).get("/api/v1/customers/", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_search_is_unknown_where_a_resource_has_no_search(crew, client_as):
    # KPI snapshots have filters and ordering but no search fields
    response = client_as(crew.admin).get("/api/v1/kpis/snapshots/", {"search": "x"})

    assert response.status_code == 400
    assert "search" in response.json()


def test_a_detail_page_accepts_no_list_parameters(crew, client_as):
    client = client_as(crew.admin)
    team_id = crew.team_a.pk

    assert client.get(f"/api/v1/teams/{team_id}/").status_code == 200
    assert client.get(f"/api/v1/teams/{team_id}/", {"page": 2}).status_code == 400


def test_anonymous_clients_still_get_401_before_parameter_checks(client_as):
    assert client_as(None).get("/api/v1/customers/", {"bogus": "1"}).status_code == 401


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth - 1):
        value = {"a": value}
    return {"a": value}


def test_deeply_nested_json_is_refused(crew, client_as):
    client = client_as(crew.admin)
    body = json.dumps({"name": "Nested Ltd", "extra": nested(50)})

    response = client.post("/api/v1/teams/", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_json_deep_enough_to_break_the_parser_is_a_400_not_a_500(crew, client_as):
    client = client_as(crew.admin)
    body = "[" * 100_000 + "]" * 100_000

    response = client.post("/api/v1/teams/", body, content_type="application/json")

    assert response.status_code == 400


def test_ordinary_bodies_are_accepted(crew, client_as):
    response = client_as(crew.admin).post("/api/v1/teams/", {"name": "Team C"}, format="json")

    assert response.status_code == 201


def test_depth_is_counted_per_container():
    # {"a": [1, {"b": 2}]}: object → list → object = 3 levels
    value = {"a": [1, {"b": 2}]}

    assert json_depth_exceeds(value, 2)
    assert not json_depth_exceeds(value, 3)
    assert not json_depth_exceeds("scalar", 1)

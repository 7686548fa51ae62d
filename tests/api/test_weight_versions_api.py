"""Draft index weights over the API: an admin creates, edits and activates a draft."""

from decimal import Decimal

import pytest

from kpis.models import GroupWeight, IndicatorWeight, WeightVersion

pytestmark = pytest.mark.django_db

URL = "/api/v1/kpis/weight-versions/"


@pytest.fixture
def draft(crew, client_as):
    response = client_as(crew.admin).post(URL, {"name": "Q3 weights"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_draft_copies_the_active_version(draft):
    active = WeightVersion.objects.get(status="active")

    assert draft["status"] == "draft"
    assert draft["based_on"] == active.pk
    assert len(draft["indicators"]) == IndicatorWeight.objects.filter(version=active).count()


def test_admin_edits_weights_priorities_and_bands_of_a_draft(crew, client_as, draft):
    indicators = [dict(row) for row in draft["indicators"]]
    for row in indicators:
        if row["kpi"] == "churn_rate":
            row.update(weight="75.000", priority=3)
    groups = [dict(row, priority=5 - i) for i, row in enumerate(draft["groups"])]
    bands = [
        {"name": "red", "min": 0, "max": 40},
        {"name": "yellow", "min": 40, "max": 80},
        {"name": "green", "min": 80, "max": 100},
    ]

    response = client_as(crew.admin).patch(
        f"{URL}{draft['id']}/",
        {
            "name": "Retention first",
            "min_coverage": "0.600",
            "bands": bands,
            "indicators": indicators,
            "groups": groups,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Retention first"
    assert body["bands"] == bands
    churn = IndicatorWeight.objects.get(version_id=draft["id"], kpi="churn_rate")
    assert (churn.weight, churn.priority) == (Decimal("75.000"), 3)
    assert sorted(
        GroupWeight.objects.filter(version_id=draft["id"]).values_list("priority", flat=True)
    ) == [1, 2, 3, 4, 5]
    assert WeightVersion.objects.get(pk=draft["id"]).min_coverage == Decimal("0.600")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"bands": [{"name": "red", "min": 0, "max": 50}]}, "bands"),
        # JSON allows 1e400; the test client cannot encode an infinite float, so it is raw.
        ('{"bands": [{"name": "red", "min": 0, "max": 1e400}]}', "bands"),
        ({"min_coverage": "1.5"}, "min_coverage"),
        (
            {
                "indicators": [
                    {
                        "kpi": "no_such_kpi",
                        "group": "service",
                        "weight": "1",
                        "best": "1",
                        "worst": "0",
                    }
                ]
            },
            "indicators",
        ),
        (
            {
                "indicators": [
                    {"kpi": "nps", "group": "service", "weight": "-1", "best": "1", "worst": "0"}
                ]
            },
            "indicators",
        ),
        ({"groups": [{"group": "service", "weight": "10"}]}, "groups"),
    ],
)
def test_invalid_draft_edits_are_400s_and_change_nothing(crew, client_as, draft, payload, field):
    before = IndicatorWeight.objects.filter(version_id=draft["id"]).count()

    client = client_as(crew.admin)
    if isinstance(payload, str):
        response = client.patch(f"{URL}{draft['id']}/", payload, content_type="application/json")
    else:
        response = client.patch(f"{URL}{draft['id']}/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert IndicatorWeight.objects.filter(version_id=draft["id"]).count() == before
    assert WeightVersion.objects.get(pk=draft["id"]).bands == draft["bands"]


def test_an_active_version_cannot_be_edited(crew, client_as):
    active = WeightVersion.objects.get(status="active")

    response = client_as(crew.admin).patch(f"{URL}{active.pk}/", {"name": "X"}, format="json")

    assert response.status_code == 400
    active.refresh_from_db()
    assert active.name != "X"


def test_edited_draft_is_activated_and_retires_the_old_version(crew, client_as, draft):
    old = WeightVersion.objects.get(status="active")
    client = client_as(crew.admin)
    client.patch(f"{URL}{draft['id']}/", {"notes": "More retention"}, format="json")

    activated = client.post(f"{URL}{draft['id']}/activate/")

    assert activated.status_code == 200
    assert activated.json()["status"] == "active"
    assert activated.json()["indicators"]
    old.refresh_from_db()
    assert old.status == "retired"


@pytest.mark.parametrize(("role", "expected"), [("manager", 403), ("rep", 403), (None, 401)])
def test_only_admins_write_weights(crew, client_as, draft, role, expected):
    client = client_as(getattr(crew, role) if role else None)

    created = client.post(URL, {"name": "Mine"}, format="json")
    edited = client.patch(f"{URL}{draft['id']}/", {"name": "Mine"}, format="json")
    activated = client.post(f"{URL}{draft['id']}/activate/")

    assert (created.status_code, edited.status_code, activated.status_code) == (expected,) * 3
    assert WeightVersion.objects.get(pk=draft["id"]).name == "Q3 weights"
    assert WeightVersion.objects.filter(status="draft").count() == 1


def test_put_is_not_offered(crew, client_as, draft):
    response = client_as(crew.admin).put(f"{URL}{draft['id']}/", {"name": "X"}, format="json")

    assert response.status_code == 405

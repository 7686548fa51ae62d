"""The CRUD path of every resource, as an admin: create, read back, filter, update, delete.

Role limits are in test_permission_matrix.py; domain actions (convert, move-stage, refund …)
and service refusals in the per-app API tests. Here: what is written is what is read back, a
list filter finds it, an update changes it, and a delete removes it.
"""

# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.customers.factories import ChannelFactory, CustomerFactory
from tests.sales.factories import PipelineStageFactory, ProductLineFactory
from tests.support.factories import BusinessScheduleFactory
from tests.surveys.factories import SurveyFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Path:
    url: str
    create: Callable[[Any], dict[str, Any]]  # crew → body
    change: dict[str, Any]  # PATCH body; read back as written
    filter: Callable[[Any, dict[str, Any]], dict[str, Any]]  # (crew, created row) → query
    update_method: str = "patch"


def _by(field: str) -> Callable[[Any, dict[str, Any]], dict[str, Any]]:
    return lambda crew, row: {field: row[field]}


def _search(field: str) -> Callable[[Any, dict[str, Any]], dict[str, Any]]:
    return lambda crew, row: {"search": row[field]}


PATHS: dict[str, Path] = {
    "customers": Path(
        url="customers",
        create=lambda crew: {"name": "Acme", "kind": "company", "team": crew.team_a.pk},
        change={"phone": "+49 30 555"},
        filter=_by("team"),
    ),
    "contacts": Path(
        url="contacts",
        create=lambda crew: {
            "customer": CustomerFactory().pk,
            "first_name": "Ada",
            "last_name": "L",
        },
        change={"job_title": "CTO", "is_primary": True},
        filter=_by("customer"),
    ),
    "teams": Path(
        url="teams",
        create=lambda crew: {
            "name": "Enterprise",
            "manager": crew.manager.pk,
            "members": [crew.rep.pk],
        },
        change={"name": "Enterprise sales"},
        filter=_by("manager"),
    ),
    "channels": Path(
        url="channels",
        create=lambda crew: {"code": "podcast", "name": "Podcast", "is_paid": True},
        change={"is_active": False},
        filter=_by("is_paid"),
    ),
    "segments": Path(
        url="segments",
        create=lambda crew: {"code": "mid-market", "name": "Mid-market", "inactivity_days": 120},
        change={"inactivity_days": 90},
        filter=_search("code"),
    ),
    "leads": Path(
        url="leads",
        create=lambda crew: {
            "name": "Jo",
            "company": "Jo AG",
            "source": "event",
            "team": crew.team_a.pk,
        },
        change={"email": "jo@example.com"},
        filter=_by("source"),
    ),
    "opportunities": Path(
        url="opportunities",
        create=lambda crew: {
            "customer": CustomerFactory().pk,
            "name": "Pilot",
            "amount": "900.00",
            "stage": PipelineStageFactory(code="crud-open").code,
            "kind": "upsell",
        },  # fmt: skip
        change={"amount": "1200.00", "expected_close_date": "2026-09-30"},
        filter=_by("kind"),
    ),
    "pipeline-stages": Path(
        url="pipeline-stages",
        create=lambda crew: {"code": "demo", "name": "Demo", "position": 4, "probability": "0.400"},
        change={"probability": "0.450"},
        filter=lambda crew, row: {"is_won": False},
    ),
    "products": Path(
        url="products",
        create=lambda crew: {
            "sku": "P-1",
            "name": "Seat",
            "product_line": ProductLineFactory().pk,
            "unit_price": "49.90",
        },  # fmt: skip
        change={"unit_price": "59.90"},
        filter=_by("product_line"),
    ),
    "product-lines": Path(
        url="product-lines",
        create=lambda crew: {"code": "addons", "name": "Add-ons"},
        change={"name": "Add-ons and extras"},
        filter=_search("code"),
    ),
    "orders": Path(
        url="orders",
        create=lambda crew: {
            "customer": CustomerFactory().pk,
            "ordered_at": "2026-03-02T09:00:00Z",
            "total": "80.00",
        },  # fmt: skip
        change={"channel": None},
        filter=_by("customer"),
    ),
    "activities": Path(
        url="activities",
        create=lambda crew: {
            "kind": "meeting",
            "subject": "Kick-off",
            "customer": CustomerFactory().pk,
        },
        change={"notes": "Agenda sent"},
        filter=_by("kind"),
    ),
    "campaigns": Path(
        url="campaigns",
        create=lambda crew: {"name": "Summer", "channel": ChannelFactory().pk, "budget": "300.00"},
        change={"budget": "350.00"},
        filter=_by("channel"),
    ),
    "marketing-spend": Path(
        url="marketing-spend",
        create=lambda crew: {
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "amount": "700.00",
            "channel": ChannelFactory().pk,
        },  # fmt: skip
        change={"amount": "750.00"},
        filter=_by("channel"),
    ),
    "sales-costs": Path(
        url="sales-costs",
        create=lambda crew: {
            "period_start": "2026-03-01",
            "period_end": "2026-04-01",
            "amount": "5000.00",
            "team": crew.team_a.pk,
            "description": "Salaries",
        },  # fmt: skip
        change={"description": "Salaries and travel"},
        filter=_by("team"),
    ),
    "retention-cases": Path(
        url="retention-cases",
        create=lambda crew: {"customer": CustomerFactory().pk, "reason": "Price", "cost": "20.00"},
        change={"outreach": "Offered a discount"},
        filter=_by("customer"),
    ),
    "tickets": Path(
        url="tickets",
        create=lambda crew: {
            "customer": CustomerFactory().pk,
            "subject": "Login fails",
            "body": "Since today",
            "team": crew.team_a.pk,
        },  # fmt: skip
        change={"subject": "Login fails on mobile"},
        filter=_by("team"),
    ),
    "sla-policies": Path(
        url="sla-policies",
        create=lambda crew: {
            "name": "Gold",
            "schedule": BusinessScheduleFactory().pk,
            "priority": "high",
            "first_response_minutes": 30,
            "resolution_minutes": 480,
        },  # fmt: skip
        change={"resolution_minutes": 240},
        filter=_by("priority"),
    ),
    "surveys": Path(
        url="surveys",
        create=lambda crew: {
            "name": "After ticket",
            "kind": "csat",
            "question": "Happy?",
            "trigger": "ticket_solved",
        },
        change={"question": "How did we do?"},
        filter=_by("kind"),
    ),
    "survey-responses": Path(
        url="survey-responses",
        create=lambda crew: {
            "survey": SurveyFactory().pk,
            "customer": CustomerFactory().pk,
            "score": 8,
            "external_id": "crud-1",
        },  # fmt: skip
        change={"score": 10, "comment": "Great"},
        filter=lambda crew, row: {"score_min": 8},
        update_method="put",
    ),
    "kpis/targets": Path(
        url="kpis/targets",
        create=lambda crew: {
            "kpi": "revenue",
            "granularity": "quarter",
            "period_start": "2026-07-01",
            "kind": "absolute",
            "amount": "90000",
        },  # fmt: skip
        change={"amount": "95000.000000"},
        filter=_by("kpi"),
    ),
    "kpis/alert-rules": Path(
        url="kpis/alert-rules",
        create=lambda crew: {
            "name": "Churn up",
            "kpi": "churn_rate",
            "granularity": "month",
            "upper_threshold": "0.05",
            "recipients": [crew.manager.pk],
        },  # fmt: skip
        change={"is_active": False},
        filter=_by("kpi"),
    ),
}


def _subset(written: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
    return {name: read.get(name) for name in written}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_crud_path(crew, client_as, name):
    path = PATHS[name]
    client = client_as(crew.admin)
    base = f"/api/v1/{path.url}/"
    body = path.create(crew)

    created = client.post(base, body, format="json")
    assert created.status_code == 201, created.json()
    row = created.json()
    detail = f"{base}{row['id']}/"
    read = client.get(detail).json()
    listed = client.get(base, path.filter(crew, row)).json()["results"]
    change = path.change
    if path.update_method == "put":
        change = {**body, **change}
    updated = getattr(client, path.update_method)(detail, change, format="json")
    reread = client.get(detail).json()
    deleted = client.delete(detail)
    gone = client.get(detail)

    assert read == row
    assert row["id"] in {each["id"] for each in listed}
    assert updated.status_code == 200, updated.json()
    assert _subset(path.change, reread) == path.change
    assert (deleted.status_code, gone.status_code) == (204, 404)


def test_survey_invitation_path(crew, client_as):
    """Invitations are created, read, filtered and withdrawn; never edited."""
    client = client_as(crew.admin)
    customer = CustomerFactory()

    created = client.post(
        "/api/v1/survey-invitations/", {"survey": SurveyFactory().pk, "customer": customer.pk}
    ).json()
    listed = client.get("/api/v1/survey-invitations/", {"customer": customer.pk}).json()
    patched = client.patch(f"/api/v1/survey-invitations/{created['id']}/", {"status": "sent"})
    deleted = client.delete(f"/api/v1/survey-invitations/{created['id']}/")

    assert created["status"] == "pending"
    assert [row["id"] for row in listed["results"]] == [created["id"]]
    assert patched.status_code == 405
    assert deleted.status_code == 204

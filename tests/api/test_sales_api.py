from decimal import Decimal

import pytest

from sales.models import Lead, MarketingSpend, Opportunity, Order, RetentionCase
from tests.customers.factories import CustomerFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    PipelineStageFactory,
    ProductFactory,
    RetentionCaseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages():
    return {
        "new": PipelineStageFactory(code="new", position=0, probability=Decimal("0.1")),
        "proposal": PipelineStageFactory(code="proposal", position=1, probability=Decimal("0.5")),
        "won": PipelineStageFactory(code="won", position=2, is_won=True, probability=Decimal("1")),
        "lost": PipelineStageFactory(code="lost", position=3, is_lost=True, probability=0),
    }


# --- leads ---------------------------------------------------------------------------------------


def test_lead_crud_and_convert_creates_customer_and_opportunity(crew, client_as, stages):
    client = client_as(crew.rep)
    lead = client.post(
        "/api/v1/leads/",
        {"name": "Jane Doe", "company": "Doe GmbH", "source": "web_form", "team": crew.team_a.pk},
    ).json()

    converted = client.post(
        f"/api/v1/leads/{lead['id']}/convert/", {"opportunity_amount": "2500.00"}
    )

    assert converted.status_code == 201, converted.json()
    body = converted.json()
    assert body["customer"]["name"] == "Doe GmbH"
    assert body["opportunity"]["amount"] == "2500.00"
    assert body["opportunity"]["stage"] == "new"
    assert Lead.objects.get(pk=lead["id"]).status == "converted"


def test_converting_twice_is_refused_with_a_message(crew, client_as, stages):
    lead = LeadFactory(owner=crew.rep)
    client = client_as(crew.rep)
    client.post(f"/api/v1/leads/{lead.pk}/convert/", {"create_opportunity": False})

    again = client.post(f"/api/v1/leads/{lead.pk}/convert/", {})

    assert again.status_code == 400
    assert "lead" in again.json()


def test_lead_status_cannot_be_patched_directly(crew, client_as):
    lead = LeadFactory(owner=crew.rep)

    response = client_as(crew.rep).patch(f"/api/v1/leads/{lead.pk}/", {"status": "converted"})

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == "new"  # read-only field ignored: conversion only via convert


@pytest.mark.parametrize(
    ("role", "expected"), [("rep", 200), ("rep_b", 404), ("manager", 200), ("agent", 403)]
)
def test_lead_visibility(crew, client_as, role, expected):
    lead = LeadFactory(team=crew.team_a)

    assert client_as(getattr(crew, role)).get(f"/api/v1/leads/{lead.pk}/").status_code == expected


def test_lead_merge(crew, client_as):
    duplicate = LeadFactory(owner=crew.rep, phone="123")
    survivor = LeadFactory(owner=crew.rep, phone="")

    response = client_as(crew.rep).post(
        f"/api/v1/leads/{duplicate.pk}/merge/", {"into": survivor.pk}
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "123"
    duplicate.refresh_from_db()
    assert duplicate.status == "merged"


def test_lead_filters(crew, client_as):
    web = LeadFactory(owner=crew.rep, source="web_form")
    LeadFactory(owner=crew.rep, source="event")

    rows = client_as(crew.rep).get("/api/v1/leads/", {"source": "web_form"}).json()["results"]

    assert [row["id"] for row in rows] == [web.pk]


# --- opportunities -------------------------------------------------------------------------------


def test_opportunity_create_move_stage_and_history(crew, client_as, stages):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.rep)
    deal = client.post(
        "/api/v1/opportunities/",
        {"customer": customer.pk, "name": "Big deal", "amount": "10000", "stage": "new"},
    ).json()

    moved = client.post(f"/api/v1/opportunities/{deal['id']}/move-stage/", {"to_stage": "won"})
    history = client.get(f"/api/v1/opportunities/{deal['id']}/stage-history/").json()

    assert moved.status_code == 200, moved.json()
    assert moved.json()["outcome"] == "won"
    assert moved.json()["closed_at"] is not None
    assert [(row["from_stage"], row["to_stage"]) for row in history] == [
        (None, "new"),
        ("new", "won"),
    ]
    assert [row["to_stage"] for row in moved.json()["stage_history"]] == ["new", "won"]


def test_closed_deal_cannot_move_and_unknown_stage_is_a_400(crew, client_as, stages):
    deal = OpportunityFactory(
        owner=crew.rep, stage=stages["won"], outcome="won", closed_at="2026-01-01T00:00Z"
    )
    open_deal = OpportunityFactory(owner=crew.rep, stage=stages["new"])
    client = client_as(crew.rep)

    closed = client.post(f"/api/v1/opportunities/{deal.pk}/move-stage/", {"to_stage": "new"})
    unknown = client.post(f"/api/v1/opportunities/{open_deal.pk}/move-stage/", {"to_stage": "nope"})

    assert closed.status_code == 400
    assert unknown.status_code == 400
    assert "to_stage" in unknown.json()


def test_opportunity_stage_cannot_be_patched(crew, client_as, stages):
    deal = OpportunityFactory(owner=crew.rep, stage=stages["new"])

    client_as(crew.rep).patch(f"/api/v1/opportunities/{deal.pk}/", {"stage": "won", "amount": "5"})

    deal.refresh_from_db()
    assert deal.stage_id == stages["new"].pk
    assert deal.amount == Decimal("5.00")


def test_negative_amount_is_a_field_error(crew, client_as, stages):
    customer = CustomerFactory(owner=crew.rep)

    response = client_as(crew.rep).post(
        "/api/v1/opportunities/", {"customer": customer.pk, "name": "X", "amount": "-1"}
    )

    assert response.status_code == 400
    assert "amount" in response.json()
    assert not Opportunity.objects.exists()


# --- orders --------------------------------------------------------------------------------------


def test_order_with_lines_totals_and_acquires_the_customer(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    widget = ProductFactory(unit_price=Decimal("19.99"))

    response = client_as(crew.rep).post(
        "/api/v1/orders/",
        {
            "customer": customer.pk,
            "ordered_at": "2026-05-04T10:00:00+02:00",
            "lines": [
                {"product": widget.pk, "quantity": 3},
                {"product": widget.pk, "quantity": 1, "unit_price": "5.00"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    # 3 × 19.99 + 1 × 5.00 = 64.97
    assert body["total"] == "64.97"
    assert body["net_amount"] == "64.97"
    assert [line["line_total"] for line in body["lines"]] == ["59.97", "5.00"]
    customer.refresh_from_db()
    assert customer.status == "active"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"total": "-5"}, "total"),
        ({"total": "10", "status": "shipped"}, "status"),
        ({"total": "10", "ordered_at": "yesterday"}, "ordered_at"),
        ({"lines": [{"product": 987654, "quantity": 1}]}, "lines"),
        ({"lines": [{"product": None, "quantity": 0}]}, "lines"),
        ({"total": "10", "currency": "USD"}, "exchange_rate"),
        ({}, "total"),
    ],
)
def test_invalid_orders_are_400s_naming_the_field(crew, client_as, payload, field):
    customer = CustomerFactory(owner=crew.rep)
    body = {"customer": customer.pk, "ordered_at": "2026-05-04T10:00:00Z", **payload}

    response = client_as(crew.rep).post("/api/v1/orders/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.exists()


def test_order_for_an_invisible_customer_is_refused(crew, client_as):
    hidden = CustomerFactory(team=crew.team_b)

    response = client_as(crew.rep).post(
        "/api/v1/orders/", {"customer": hidden.pk, "ordered_at": "2026-05-04T10:00Z", "total": "1"}
    )

    assert response.status_code == 400
    assert "customer" in response.json()


def test_refund_and_cancel_actions(crew, client_as):
    order = OrderFactory(customer=CustomerFactory(team=crew.team_a), total=Decimal("100.00"))
    client = client_as(crew.manager)

    refunded = client.post(f"/api/v1/orders/{order.pk}/refund/", {"amount": "30.00"})
    too_much = client.post(f"/api/v1/orders/{order.pk}/refund/", {"amount": "80.00"})
    cancelled = client.post(f"/api/v1/orders/{order.pk}/cancel/", {})

    assert refunded.json()["net_amount"] == "70.00"  # 100 − 30
    assert too_much.status_code == 400
    assert cancelled.json()["status"] == "cancelled"


def test_reps_cannot_refund(crew, client_as):
    order = OrderFactory(owner=crew.rep)

    response = client_as(crew.rep).post(f"/api/v1/orders/{order.pk}/refund/", {"amount": "1"})

    assert response.status_code == 403


def test_order_total_is_not_patchable(crew, client_as):
    order = OrderFactory(owner=crew.rep, total=Decimal("100.00"))

    client_as(crew.rep).patch(f"/api/v1/orders/{order.pk}/", {"total": "1.00"})

    order.refresh_from_db()
    assert order.total == Decimal("100.00")


def test_order_upsert_by_external_id_is_idempotent(crew, client_as):
    customer = CustomerFactory(owner=crew.rep)
    body = {"customer": customer.pk, "ordered_at": "2026-05-04T10:00:00Z", "total": "42.00"}
    client = client_as(crew.rep)

    first = client.put("/api/v1/orders/by-external-id/shop-1001/", body, format="json")
    second = client.put("/api/v1/orders/by-external-id/shop-1001/", body, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert Order.objects.filter(external_id="shop-1001").count() == 1


def test_agent_reads_orders_of_visible_customers_but_cannot_create(crew, client_as):
    order = OrderFactory(customer=CustomerFactory(team=crew.team_a))
    client = client_as(crew.agent)

    assert client.get(f"/api/v1/orders/{order.pk}/").status_code == 200
    created = client.post(
        "/api/v1/orders/",
        {"customer": order.customer_id, "ordered_at": "2026-05-04T10:00Z", "total": "1"},
    )
    assert created.status_code == 403


# --- activities, costs, retention ----------------------------------------------------------------


def test_activity_log_and_complete(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.rep)

    created = client.post(
        "/api/v1/activities/", {"kind": "call", "subject": "Intro", "customer": customer.pk}
    ).json()
    done = client.post(f"/api/v1/activities/{created['id']}/complete/", {})
    again = client.post(f"/api/v1/activities/{created['id']}/complete/", {})

    assert created["owner"] == crew.rep.pk
    assert created["team"] == crew.team_a.pk
    assert done.json()["done_at"] is not None
    assert again.status_code == 400


def test_activity_without_a_record_is_refused(crew, client_as):
    response = client_as(crew.rep).post("/api/v1/activities/", {"kind": "call", "subject": "?"})

    assert response.status_code == 400
    assert "customer" in response.json()


def test_activity_filter_done(crew, client_as):
    open_one = ActivityFactory(owner=crew.rep)
    ActivityFactory(owner=crew.rep, done_at="2026-01-01T00:00Z")

    rows = client_as(crew.rep).get("/api/v1/activities/", {"done": "false"}).json()["results"]

    assert [row["id"] for row in rows] == [open_one.pk]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "-10"}, "amount"),
        ({"amount": "10", "period_end": "2026-01-01"}, "period_end"),
        ({"amount": "10", "period_start": "01/02/2026"}, "period_start"),
    ],
)
def test_marketing_spend_validation(crew, client_as, payload, field):
    body = {"period_start": "2026-02-01", "period_end": "2026-03-01", **payload}

    response = client_as(crew.manager).post("/api/v1/marketing-spend/", body)

    assert response.status_code == 400
    assert field in response.json()


def test_marketing_spend_is_manager_only(crew, client_as):
    body = {"period_start": "2026-02-01", "period_end": "2026-03-01", "amount": "500"}

    assert client_as(crew.rep).post("/api/v1/marketing-spend/", body).status_code == 403
    assert client_as(crew.manager).post("/api/v1/marketing-spend/", body).status_code == 201
    assert MarketingSpend.objects.get().amount == Decimal("500")


def test_sales_cost_record(crew, client_as):
    response = client_as(crew.manager).post(
        "/api/v1/sales-costs/",
        {
            "period_start": "2026-02-01",
            "period_end": "2026-03-01",
            "amount": "900",
            "team": crew.team_a.pk,
        },
    )

    assert response.status_code == 201
    assert response.json()["team"] == crew.team_a.pk


def test_retention_case_open_and_close(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(crew.rep)
    case = client.post("/api/v1/retention-cases/", {"customer": customer.pk, "cost": "50"}).json()

    bad = client.post(f"/api/v1/retention-cases/{case['id']}/close/", {"outcome": "pending"})
    closed = client.post(f"/api/v1/retention-cases/{case['id']}/close/", {"outcome": "retained"})

    assert bad.status_code == 400
    assert closed.json()["status"] == "closed"
    assert RetentionCase.objects.get().outcome == "retained"


def test_retention_cases_of_other_teams_are_invisible(crew, client_as):
    case = RetentionCaseFactory(customer=CustomerFactory(team=crew.team_b))

    assert client_as(crew.rep).get(f"/api/v1/retention-cases/{case.pk}/").status_code == 404


def test_products_read_for_reps_write_for_admins(crew, client_as):
    product = ProductFactory()
    line = product.product_line

    assert client_as(crew.rep).get(f"/api/v1/products/{product.pk}/").status_code == 200
    assert (
        client_as(crew.rep)
        .post("/api/v1/products/", {"sku": "N", "name": "N", "product_line": line.pk})
        .status_code
        == 403
    )
    created = client_as(crew.admin).post(
        "/api/v1/products/",
        {"sku": "N-1", "name": "New", "product_line": line.pk, "unit_price": "9.50"},
    )
    assert created.status_code == 201
    negative = client_as(crew.admin).post(
        "/api/v1/products/",
        {"sku": "N-2", "name": "New", "product_line": line.pk, "unit_price": "-1"},
    )
    assert "unit_price" in negative.json()


def test_product_line_in_use_cannot_be_deleted(crew, client_as):
    product = ProductFactory()

    response = client_as(crew.admin).delete(f"/api/v1/product-lines/{product.product_line_id}/")

    assert response.status_code == 409


def test_order_lines_are_nested_in_the_order(crew, client_as):
    line = OrderLineFactory(order=OrderFactory(owner=crew.rep))

    body = client_as(crew.rep).get(f"/api/v1/orders/{line.order_id}/").json()

    assert [row["id"] for row in body["lines"]] == [line.pk]


def test_opportunity_amount_is_required_on_create(crew, client_as, stages):
    customer = CustomerFactory(owner=crew.rep)

    response = client_as(crew.rep).put(
        "/api/v1/opportunities/by-external-id/crm-1/",
        {"customer": customer.pk, "name": "No amount"},
    )

    assert response.status_code == 400
    assert "amount" in response.json()

"""API edits run the apps' services: their refusals are 400s and nothing is half-written."""

import datetime as dt
from decimal import Decimal

import pytest

from sales.models import Campaign, Lead, MarketingSpend, Opportunity, RetentionCase, SalesCost
from tests.customers.factories import ChannelFactory, CustomerFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    OrderFactory,
    PipelineStageFactory,
    RetentionCaseFactory,
)
from tests.support.factories import TicketFactory, TicketMessageFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 1, 1)


# --- lead work states ----------------------------------------------------------------------------


def test_rep_marks_a_lead_contacted_then_qualified(crew, client_as):
    lead = LeadFactory(team=crew.team_a)
    client = client_as(crew.rep)

    contacted = client.post(f"/api/v1/leads/{lead.pk}/set-status/", {"status": "contacted"})
    qualified = client.post(f"/api/v1/leads/{lead.pk}/set-status/", {"status": "qualified"})

    assert contacted.status_code == 200, contacted.json()
    assert contacted.json()["status"] == "contacted"
    assert qualified.json()["status"] == "qualified"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED


@pytest.mark.parametrize(
    ("start", "payload"),
    [
        ("converted", {"status": "contacted"}),
        ("merged", {"status": "disqualified"}),
        ("disqualified", {"status": "qualified"}),
        ("new", {"status": "converted"}),
        ("new", {"status": "bogus"}),
        ("new", {}),
    ],
)
def test_set_status_refusals_are_400s_on_the_status(crew, client_as, start, payload):
    lead = LeadFactory(team=crew.team_a, status="new")
    if start != "new":
        # A converted lead needs its customer (database constraint).
        Lead.objects.filter(pk=lead.pk).update(
            status=start,
            converted_customer=CustomerFactory() if start == "converted" else None,
            converted_at=lead.created_at if start == "converted" else None,
        )

    response = client_as(crew.rep).post(f"/api/v1/leads/{lead.pk}/set-status/", payload)

    assert response.status_code == 400
    assert "status" in response.json()
    lead.refresh_from_db()
    assert lead.status == start


@pytest.mark.parametrize(("role", "expected"), [("rep_b", 404), ("agent", 403), (None, 401)])
def test_set_status_follows_visibility_and_roles(crew, client_as, role, expected):
    lead = LeadFactory(team=crew.team_a)
    client = client_as(getattr(crew, role) if role else None)

    response = client.post(f"/api/v1/leads/{lead.pk}/set-status/", {"status": "contacted"})

    assert response.status_code == expected
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_a_merged_lead_cannot_be_edited(crew, client_as):
    survivor = LeadFactory(team=crew.team_a)
    duplicate = LeadFactory(team=crew.team_a, name="Copy")
    client = client_as(crew.rep)
    client.post(f"/api/v1/leads/{duplicate.pk}/merge/", {"into": survivor.pk})

    response = client.patch(f"/api/v1/leads/{duplicate.pk}/", {"name": "Changed"})

    assert response.status_code == 400
    duplicate.refresh_from_db()
    assert duplicate.name == "Copy"


# --- edits of the other sales records ------------------------------------------------------------


def test_a_closed_deals_amount_cannot_be_patched(crew, client_as):
    won = PipelineStageFactory(code="won", is_won=True, probability=Decimal("1"))
    deal = OpportunityFactory(
        team=crew.team_a, stage=won, outcome="won", probability=1, closed_at=dt.datetime.now(dt.UTC)
    )
    client = client_as(crew.rep)

    refused = client.patch(f"/api/v1/opportunities/{deal.pk}/", {"amount": "1.00"})
    renamed = client.patch(f"/api/v1/opportunities/{deal.pk}/", {"name": "Renamed"})

    assert refused.status_code == 400
    assert "amount" in refused.json()
    assert renamed.status_code == 200
    assert renamed.json()["stage_history"] == []
    deal.refresh_from_db()
    assert (deal.amount, deal.name) == (Decimal("1000.00"), "Renamed")


def test_an_open_deal_is_edited_through_the_service(crew, client_as):
    deal = OpportunityFactory(team=crew.team_a, amount=Decimal("100"))

    response = client_as(crew.rep).patch(
        f"/api/v1/opportunities/{deal.pk}/", {"amount": "150.50", "currency": "usd"}
    )

    assert response.status_code == 200, response.json()
    deal.refresh_from_db()
    assert (deal.amount, deal.currency) == (Decimal("150.50"), "USD")


def test_order_patch_changes_the_channel(crew, client_as):
    order = OrderFactory(customer=CustomerFactory(team=crew.team_a))
    channel = ChannelFactory()

    response = client_as(crew.rep).patch(f"/api/v1/orders/{order.pk}/", {"channel": channel.pk})

    assert response.status_code == 200
    assert response.json()["channel"] == channel.pk
    assert response.json()["total"] == "100.00"


def test_activity_patch_edits_the_text(crew, client_as):
    activity = ActivityFactory(customer=CustomerFactory(team=crew.team_a), owner=crew.rep)

    response = client_as(crew.rep).patch(
        f"/api/v1/activities/{activity.pk}/", {"subject": "  Follow-up  ", "notes": "Quote sent"}
    )

    assert response.status_code == 200
    activity.refresh_from_db()
    assert (activity.subject, activity.notes) == ("Follow-up", "Quote sent")


def test_a_closed_retention_case_is_not_patched(crew, client_as):
    case = RetentionCaseFactory(customer=CustomerFactory(team=crew.team_a), reason="Price")
    client = client_as(crew.rep)
    client.post(f"/api/v1/retention-cases/{case.pk}/close/", {"outcome": "retained"})

    response = client.patch(f"/api/v1/retention-cases/{case.pk}/", {"reason": "Other"})

    assert response.status_code == 400
    case.refresh_from_db()
    assert (case.status, case.reason) == (RetentionCase.Status.CLOSED, "Price")


@pytest.mark.parametrize(
    ("url", "model"), [("marketing-spend", MarketingSpend), ("sales-costs", SalesCost)]
)
def test_cost_rows_are_corrected_under_the_period_rule(crew, client_as, url, model):
    client = client_as(crew.manager)
    row = client.post(
        f"/api/v1/{url}/",
        {"period_start": "2026-01-01", "period_end": "2026-02-01", "amount": "10.00"},
    ).json()

    corrected = client.patch(f"/api/v1/{url}/{row['id']}/", {"amount": "12.00"})
    refused = client.patch(f"/api/v1/{url}/{row['id']}/", {"period_end": "2025-12-01"})

    assert corrected.status_code == 200
    assert refused.status_code == 400
    assert "period_end" in refused.json()
    stored = model.objects.get(pk=row["id"])
    assert (stored.amount, stored.period_end) == (Decimal("12.00"), dt.date(2026, 2, 1))


def test_campaign_crud_path(crew, client_as):
    client = client_as(crew.manager)
    channel = ChannelFactory()

    created = client.post(
        "/api/v1/campaigns/",
        {
            "name": "Spring",
            "channel": channel.pk,
            "starts_on": "2026-03-01",
            "ends_on": "2026-05-31",
            "budget": "5000.00",
        },
    )
    campaign_id = created.json()["id"]
    listed = client.get("/api/v1/campaigns/", {"channel": channel.pk}).json()
    fetched = client.get(f"/api/v1/campaigns/{campaign_id}/")
    patched = client.patch(f"/api/v1/campaigns/{campaign_id}/", {"budget": "6000.00"})
    backwards = client.patch(f"/api/v1/campaigns/{campaign_id}/", {"ends_on": "2026-01-01"})
    deleted = client.delete(f"/api/v1/campaigns/{campaign_id}/")

    assert created.status_code == 201, created.json()
    assert [row["id"] for row in listed["results"]] == [campaign_id]
    assert fetched.json()["name"] == "Spring"
    assert patched.json()["budget"] == "6000.00"
    assert backwards.status_code == 400
    assert "ends_on" in backwards.json()
    assert deleted.status_code == 204
    assert not Campaign.objects.filter(pk=campaign_id).exists()


def test_campaign_upsert_by_external_id(crew, client_as):
    client = client_as(crew.admin)

    first = client.put("/api/v1/campaigns/by-external-id/ads-7/", {"name": "Ads"})
    again = client.put("/api/v1/campaigns/by-external-id/ads-7/", {"name": "Ads 2"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert Campaign.objects.get(external_id="ads-7").name == "Ads 2"


def test_negative_campaign_budget_is_a_field_error(crew, client_as):
    response = client_as(crew.admin).post("/api/v1/campaigns/", {"name": "X", "budget": "-1"})

    assert response.status_code == 400
    assert "budget" in response.json()


# --- tickets: a rep reads the conversation of a ticket it may see (as on the web page) ---------


def test_rep_reads_messages_and_history_of_a_visible_ticket(crew, client_as):
    ticket = TicketFactory(customer=CustomerFactory(team=crew.team_a))
    TicketMessageFactory(ticket=ticket, body="Help")
    client = client_as(crew.rep)

    messages = client.get(f"/api/v1/tickets/{ticket.pk}/messages/")
    history = client.get(f"/api/v1/tickets/{ticket.pk}/status-history/")
    reply = client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "Hi", "author_kind": "agent"}
    )
    hidden = client_as(crew.rep_b).get(f"/api/v1/tickets/{ticket.pk}/messages/")

    assert [row["body"] for row in messages.json()] == ["Help"]
    assert history.status_code == 200
    assert reply.status_code == 403
    assert hidden.status_code == 404


def test_deal_edits_keep_the_deal_open(crew, client_as):
    deal = OpportunityFactory(team=crew.team_a)

    client_as(crew.rep).patch(
        f"/api/v1/opportunities/{deal.pk}/", {"stage": "won", "outcome": "won", "name": "N"}
    )

    deal.refresh_from_db()
    assert (deal.outcome, deal.name) == (Opportunity.Outcome.OPEN, "N")


def test_a_stage_with_deals_cannot_become_a_won_stage(crew, client_as):
    deal = OpportunityFactory(team=crew.team_a)
    client = client_as(crew.admin)

    refused = client.patch(f"/api/v1/pipeline-stages/{deal.stage_id}/", {"is_won": True})
    renamed = client.patch(f"/api/v1/pipeline-stages/{deal.stage_id}/", {"name": "Discovery"})

    assert refused.status_code == 400
    assert "is_won" in refused.json()
    assert renamed.json()["name"] == "Discovery"
    assert renamed.json()["is_won"] is False


def test_admin_deletes_an_order_through_the_service(crew, client_as):
    customer = CustomerFactory(team=crew.team_a)
    created = client_as(crew.admin).post(
        "/api/v1/orders/",
        {"customer": customer.pk, "ordered_at": "2026-01-05T10:00:00Z", "total": "10.00"},
    )

    deleted = client_as(crew.admin).delete(f"/api/v1/orders/{created.json()['id']}/")

    assert deleted.status_code == 204
    customer.refresh_from_db()
    assert (customer.acquired_at, customer.status) == (None, "prospect")

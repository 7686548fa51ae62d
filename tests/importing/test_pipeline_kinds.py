"""Contacts, leads, opportunities, products, activities, marketing spend and sales costs:
each imports idempotently and refuses what its service refuses."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customers.models import Contact
from sales.models import (
    Activity,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    Product,
    SalesCost,
)
from tests.customers.factories import (
    ChannelFactory,
    ContactFactory,
    CustomerFactory,
    TeamFactory,
    UserFactory,
)
from tests.sales.factories import LeadFactory, PipelineStageFactory, ProductLineFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def test_contacts_newest_primary_wins(write_csv, import_data):
    customer = CustomerFactory(external_id="C-1")
    old_primary = ContactFactory(customer=customer, is_primary=True)
    path = write_csv(
        "contacts.csv",
        [
            ["external_id", "customer", "first_name", "last_name", "email", "is_primary"],
            ["K-1", "C-1", "Ada", "Lovelace", "ada@example.com", "yes"],
            ["K-2", "C-1", "Bob", "", "", "no"],
            ["K-3", "C-9", "", "", "bad", ""],
        ],
    )

    result = import_data("contacts", path, "--skip-invalid")
    import_data("contacts", path, "--skip-invalid")

    assert "line 4, column customer: unknown customer “C-9”" in result.err
    assert "line 4, column first_name: is required" in result.err
    assert "line 4, column email: invalid e-mail address “bad”" in result.err
    old_primary.refresh_from_db()
    assert not old_primary.is_primary
    assert Contact.objects.get(external_id="K-1").is_primary
    assert Contact.objects.filter(customer=customer).count() == 3


def test_leads_upsert_and_keep_final_statuses(write_csv, import_data):
    converted = LeadFactory(
        external_id="L-2",
        status="converted",
        converted_at=dt.datetime(2024, 1, 1, tzinfo=BERLIN),
        converted_customer=CustomerFactory(),
    )
    ChannelFactory(code="web", name="Web")
    path = write_csv(
        "leads.csv",
        [
            ["external_id", "name", "source", "status", "channel", "created_at"],
            ["L-1", "Eve", "web form", "qualified", "web", "2024-02-01"],
            ["L-2", "Conv", "", "new", "", ""],
            ["L-3", "X", "radio", "converted", "", ""],
        ],
    )

    result = import_data("leads", path, "--skip-invalid")

    assert (
        "line 3, column status: the lead was converted or merged; its status is final" in result.err
    )
    assert "line 4, column source: unknown value “radio”" in result.err
    assert "line 4, column status: unknown value “converted”" in result.err
    lead = Lead.objects.get(external_id="L-1")
    assert (lead.source, lead.status, lead.created_at) == (
        "web_form",
        "qualified",
        dt.datetime(2024, 2, 1, tzinfo=BERLIN),
    )
    converted.refresh_from_db()
    assert converted.status == "converted"


def test_opportunities_record_stage_history_and_refuse_moving_closed_deals(write_csv, import_data):
    team = TeamFactory(name="North")
    CustomerFactory(external_id="C-1", team=team)
    PipelineStageFactory(code="qualify", name="Qualify", position=1, probability=Decimal("0.2"))
    PipelineStageFactory(code="won", name="Won", position=9, is_won=True, probability=Decimal("1"))
    header = ["external_id", "customer", "name", "amount", "stage", "created_at", "closed_at"]
    first = write_csv(
        "opps.csv",
        [
            header,
            ["D-1", "C-1", "Deal", "1000", "", "2024-01-10", ""],
            ["D-2", "C-1", "Won deal", "500", "won", "2024-01-10", "2024-02-01"],
        ],
    )
    assert import_data("opportunities", first).ok
    again = import_data("opportunities", first)  # same file: no new history
    assert again.ok, again.err

    deal = Opportunity.objects.get(external_id="D-1")
    won = Opportunity.objects.get(external_id="D-2")
    assert (deal.stage.code, deal.outcome, deal.probability, deal.team) == (
        "qualify",
        "open",
        Decimal("0.200"),
        team,  # the customer's team by default (opportunity_create)
    )
    assert (won.outcome, won.closed_at) == ("won", dt.datetime(2024, 2, 1, tzinfo=BERLIN))
    assert OpportunityStageChange.objects.count() == 2

    moves = write_csv(
        "moves.csv",
        [
            header,
            ["D-1", "C-1", "Deal", "1000", "won", "2024-01-10", "2024-03-01"],
            ["D-2", "C-1", "Won deal", "500", "qualify", "2024-01-10", ""],
        ],
    )
    result = import_data("opportunities", moves, "--skip-invalid")

    assert "line 3, column stage: This deal is closed (won); it cannot move to another stage." in (
        result.err
    )
    deal.refresh_from_db()
    assert deal.outcome == "won"
    change = OpportunityStageChange.objects.filter(opportunity=deal).latest("changed_at")
    assert change.from_stage is not None
    assert (change.from_stage.code, change.to_stage.code) == ("qualify", "won")


def test_products_refuse_a_sku_of_another_product(write_csv, import_data):
    ProductLineFactory(code="soft", name="Software")
    path = write_csv(
        "products.csv",
        [
            ["external_id", "sku", "name", "product_line", "unit_price"],
            ["P-1", "SKU-1", "Widget", "soft", "9.90"],
            ["P-2", "SKU-1", "Clone", "Software", "1"],
            ["P-3", "SKU-3", "Gadget", "hardware", "-1"],
        ],
    )

    result = import_data("products", path, "--skip-invalid")
    again = write_csv(
        "again.csv",
        [["external_id", "sku", "name", "product_line"], ["P-9", "SKU-1", "Thief", "soft"]],
    )
    thief = import_data("products", again)

    assert "line 3, column sku: duplicate SKU “SKU-1” (already on line 2)" in result.err
    assert "line 4, column product_line: unknown product line “hardware”" in result.err
    assert "line 4, column unit_price: must be ≥ 0, got -1" in result.err
    assert "SKU “SKU-1” belongs to another product (P-1)" in thief.err
    assert Product.objects.get().unit_price == Decimal("9.90")


def test_activities_take_the_owner_team_like_activity_log(write_csv, import_data):
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    CustomerFactory(external_id="C-1", team=north)
    rep = UserFactory(username="sam")
    rep.teams.add(south)
    path = write_csv(
        "activities.csv",
        [
            ["external_id", "kind", "subject", "customer", "owner", "done_at"],
            ["A-1", "call", "Intro", "C-1", "sam", "2024-03-01T10:00"],
            ["A-2", "call", "Nobody", "", "", ""],
            ["A-3", "fax", "Old", "C-1", "", ""],
        ],
    )

    result = import_data("activities", path, "--skip-invalid")

    assert (
        "line 3, column customer: An activity must concern a customer, a lead or an opportunity."
        in result.err
    )
    assert "line 4, column kind: unknown value “fax”" in result.err
    activity = Activity.objects.get(external_id="A-1")
    # the record's team is North, but the owner works in South only: South counts the work
    assert activity.team == south
    assert activity.done_at == dt.datetime(2024, 3, 1, 10, tzinfo=BERLIN)


def test_costs_check_their_period(write_csv, import_data):
    ChannelFactory(code="ads", name="Ads")
    TeamFactory(name="North")
    spend = write_csv(
        "spend.csv",
        [
            ["external_id", "period_start", "period_end", "amount", "channel"],
            ["S-1", "2024-01-01", "2024-02-01", "1200.00", "ads"],
            ["S-2", "2024-02-01", "2024-02-01", "5", ""],
        ],
    )
    costs = write_csv(
        "costs.csv",
        [
            ["external_id", "period_start", "period_end", "amount", "team", "description"],
            ["K-1", "2024-01-01", "2024-04-01", "900", "North", "Salaries Q1"],
        ],
    )

    spend_result = import_data("marketing_spend", spend, "--skip-invalid")
    assert import_data("sales_costs", costs).ok
    assert import_data("sales_costs", costs).ok

    assert (
        "line 3, column period_end: The period end (exclusive) must be after its start."
        in spend_result.err
    )
    assert MarketingSpend.objects.get().amount == Decimal("1200.00")
    cost = SalesCost.objects.get()
    assert cost.team is not None
    assert (cost.team.name, cost.description) == ("North", "Salaries Q1")


def test_opportunities_import_the_forecast_category(write_csv, import_data):
    CustomerFactory(external_id="C-1")
    PipelineStageFactory(code="qualify", name="Qualify", position=1, probability=Decimal("0.2"))
    PipelineStageFactory(code="won", name="Won", position=9, is_won=True, probability=Decimal("1"))
    header = ["external_id", "customer", "name", "amount", "stage", "forecast_category"]
    first = write_csv(
        "opps.csv",
        [
            header,
            ["D-1", "C-1", "Committed", "1000", "qualify", "commit"],
            ["D-2", "C-1", "By label", "1000", "qualify", "Best case"],
            ["D-3", "C-1", "Default", "1000", "qualify", ""],
            ["D-4", "C-1", "Won", "1000", "won", "commit"],
            ["D-5", "C-1", "Bad", "1000", "qualify", "maybe"],
        ],
    )
    result = import_data("opportunities", first, "--skip-invalid")

    assert "line 6, column forecast_category: unknown value “maybe”" in result.err
    categories = dict(Opportunity.objects.values_list("external_id", "forecast_category"))
    assert categories == {
        "D-1": "commit",
        "D-2": "best_case",
        "D-3": "pipeline",
        "D-4": "commit",
    }
    # a closed deal's call is history, as in opportunity_update
    change = write_csv("change.csv", [header, ["D-4", "C-1", "Won", "1000", "", "pipeline"]])
    refused = import_data("opportunities", change, "--skip-invalid")
    assert (
        "line 2, column forecast_category: This deal is closed (won); it can no longer change."
        in (refused.err)
    )
    assert Opportunity.objects.get(external_id="D-4").forecast_category == "commit"

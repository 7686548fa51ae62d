# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import datetime as dt

import pytest

from sales.filters import ActivityFilter, LeadFilter, OpportunityFilter, OrderFilter
from sales.models import Activity, Lead, Opportunity, Order
from tests.customers.factories import CustomerFactory, TeamFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    OrderFactory,
    PipelineStageFactory,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)


def test_order_filter_by_team_of_customer_and_date_range():
    team = TeamFactory()
    OrderFactory(external_id="in", customer=CustomerFactory(team=team), ordered_at=T0)
    OrderFactory(
        external_id="late",
        customer=CustomerFactory(team=team),
        ordered_at=T0 + dt.timedelta(days=40),
    )
    OrderFactory(external_id="other team", ordered_at=T0)

    found = OrderFilter(
        {"team": team.pk, "ordered_at_after": "2026-01-01", "ordered_at_before": "2026-01-31"},
        queryset=Order.objects.all(),
    ).qs

    assert set(found.values_list("external_id", flat=True)) == {"in"}


def test_opportunity_filter_by_stage_code_and_outcome():
    proposal = PipelineStageFactory(code="proposal")
    OpportunityFactory(name="match", stage=proposal)
    OpportunityFactory(name="other stage")

    found = OpportunityFilter(
        {"stage_code": "proposal", "outcome": "open"}, queryset=Opportunity.objects.all()
    ).qs

    assert list(found.values_list("name", flat=True)) == ["match"]


def test_lead_filter_search_and_status():
    LeadFactory(name="Ann", company="Acme", status="qualified")
    LeadFactory(name="Bob", company="Acme", status="new")
    LeadFactory(name="Cy", company="Other", status="qualified")

    found = LeadFilter({"q": "acme", "status": "qualified"}, queryset=Lead.objects.all()).qs

    assert list(found.values_list("name", flat=True)) == ["Ann"]


def test_activity_filter_done_and_kind():
    ActivityFactory(subject="done call", kind="call", done_at=T0)
    ActivityFactory(subject="open call", kind="call")
    ActivityFactory(subject="done mail", kind="email", done_at=T0)

    done_calls = ActivityFilter({"done": "true", "kind": "call"}, queryset=Activity.objects.all())
    open_items = ActivityFilter({"done": "false"}, queryset=Activity.objects.all())

    assert list(done_calls.qs.values_list("subject", flat=True)) == ["done call"]
    assert list(open_items.qs.values_list("subject", flat=True)) == ["open call"]

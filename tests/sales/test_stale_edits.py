"""Two people editing one lead, deal or order: the second save is refused saying when the
record changed, the form keeps the person's input, and — now carrying the saved version — a
second, informed save goes through."""

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.concurrency import edit_version
from sales.models import Lead, Opportunity, Order
from sales.services import lead_update, opportunity_update, order_create, order_update
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import LeadFactory, OpportunityFactory, PipelineStageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(team):
    user = UserFactory(username="rita", first_name="Rita", role="Sales rep")
    team.members.add(user)
    return user


@pytest.fixture
def colleague(team):
    user = UserFactory(username="tom", first_name="Tom", last_name="Teammate", role="Sales rep")
    team.members.add(user)
    return user


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def refused_then_saved(client, url, opened, kept_field, kept_value):
    """POST the form opened before a colleague's save: refused with the input kept; POST what
    the refused form now holds: saved."""
    refused = client.post(url, opened)

    assert refused.status_code == 400
    errors = " ".join(refused.context["form"].non_field_errors())
    assert "since you opened it" in errors
    # The time is the minute of the colleague's save (the record's edit stamp).
    assert timezone.localtime().strftime("%H:") in errors
    if connection.vendor == "postgresql":
        # The audit trail names the colleague whose save made the form stale.
        assert "Changed by Tom Teammate at " in errors
    assert refused.context["form"][kept_field].value() == kept_value
    assert refused.context["form"]["edit_version"].value() != opened["edit_version"]

    again = client.post(url, refused.context["form"].data)
    assert again.status_code == 302


def test_a_stale_lead_edit_is_refused_and_a_second_save_goes_through(
    rep_client, rep, colleague, team
):
    lead = LeadFactory(owner=rep, team=team, name="Original")
    opened = {
        "name": "Mine",
        "source": Lead.Source.OTHER,
        "owner": rep.pk,
        "team": team.pk,
        "email": lead.email,
        "edit_version": edit_version(lead),
    }
    lead_update(lead=lead, actor=colleague, company="Theirs Ltd")

    refused_then_saved(
        rep_client, reverse("sales:lead_edit", args=[lead.pk]), opened, "name", "Mine"
    )

    lead.refresh_from_db()
    assert lead.name == "Mine"


def test_a_stale_deal_edit_is_refused_and_a_second_save_goes_through(
    rep_client, rep, colleague, team
):
    stage = PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.2"))
    deal = OpportunityFactory(owner=rep, team=team, stage=stage, amount=Decimal("1000.00"))
    opened = {
        "name": deal.name,
        "amount": "2500.00",
        "expected_close_date": "",
        "probability_percent": "20",
        "forecast_category": deal.forecast_category,
        "next_step": "",
        "owner": rep.pk,
        "team": team.pk,
        "edit_version": edit_version(deal),
    }
    opportunity_update(opportunity=deal, actor=colleague, next_step="Call back")

    refused_then_saved(
        rep_client, reverse("sales:deal_edit", args=[deal.pk]), opened, "amount", "2500.00"
    )

    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("2500.00")


def test_a_stale_order_edit_is_refused_and_a_second_save_goes_through(
    rep_client, rep, colleague, team
):
    order = order_create(
        customer=CustomerFactory(owner=rep, team=team),
        ordered_at=timezone.now(),
        total=Decimal("300.00"),
    )
    opened = {"owner": rep.pk, "edit_version": edit_version(order)}
    order_update(order=order, actor=colleague, owner=colleague)

    refused_then_saved(
        rep_client, reverse("sales:order_edit", args=[order.pk]), opened, "owner", str(rep.pk)
    )

    assert Order.objects.get(pk=order.pk).owner_id == rep.pk

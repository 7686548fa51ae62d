"""Lead, deal and order record pages: create, edit, qualify, disqualify and merge leads, close
deals won or lost, edit, cancel and refund orders — through the services, with visibility (404),
refusals next to the field with nothing saved, stale edits refused, and bounded queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.concurrency import edit_version
from customers.models import Customer
from sales.models import CloseReason, Lead, Opportunity, OpportunityStageChange, Order, Refund
from sales.services import order_create
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import (
    LeadFactory,
    OpportunityFactory,
    PipelineStageFactory,
)

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
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def stages():
    return {
        "qualify": PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.2")),
        "propose": PipelineStageFactory(code="propose", position=2, probability=Decimal("0.6")),
        "won": PipelineStageFactory(code="won", position=3, probability=Decimal("1"), is_won=True),
        "lost": PipelineStageFactory(
            code="lost", position=4, probability=Decimal("0"), is_lost=True
        ),
    }


def other_team_user():
    outsider = UserFactory(role="Sales rep")
    TeamFactory(name="South").members.add(outsider)
    return outsider


def reason(kind, name):
    return CloseReason.objects.get(kind=kind, name=name)


# --- leads ---------------------------------------------------------------------------------------


def test_a_rep_creates_a_lead_owned_by_them_in_their_team(rep_client, rep, team):
    page = rep_client.get(reverse("sales:lead_create"))
    assert page.status_code == 200
    assert page.context["form"].initial["team"] == team.pk

    response = rep_client.post(
        reverse("sales:lead_create"),
        {
            "name": "Ada Lovelace",
            "company": "Engines Ltd",
            "email": "ada@engines.example",
            "source": Lead.Source.REFERRAL,
            "owner": rep.pk,
            "team": team.pk,
        },
    )

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sales:lead_detail", args=[lead.pk])
    assert (lead.name, lead.email, lead.owner_id, lead.team_id) == (
        "Ada Lovelace",
        "ada@engines.example",
        rep.pk,
        team.pk,
    )


def test_a_lead_without_a_name_saves_nothing_and_says_why(rep_client, rep):
    response = rep_client.post(
        reverse("sales:lead_create"), {"name": "  ", "source": Lead.Source.OTHER}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not Lead.objects.exists()


def test_a_rep_cannot_give_a_lead_to_another_teams_rep(rep_client, rep):
    outsider = other_team_user()

    response = rep_client.post(
        reverse("sales:lead_create"),
        {"name": "Grace", "source": Lead.Source.OTHER, "owner": outsider.pk},
    )

    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    assert not Lead.objects.exists()


def test_a_rep_edits_their_lead(rep_client, rep):
    lead = LeadFactory(owner=rep, name="Old name")
    page = rep_client.get(reverse("sales:lead_edit", args=[lead.pk]))

    response = rep_client.post(
        reverse("sales:lead_edit", args=[lead.pk]),
        {
            "name": "New name",
            "source": Lead.Source.EVENT,
            "owner": rep.pk,
            "edit_version": page.context["form"].initial["edit_version"],
        },
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.name, lead.source) == ("New name", Lead.Source.EVENT)


def test_a_stale_lead_edit_is_refused_and_keeps_the_input(rep_client, rep):
    lead = LeadFactory(owner=rep, name="Original")
    opened = edit_version(lead)
    # Someone else saves the lead after the form was opened.
    Lead.objects.get(pk=lead.pk).save(update_fields=["name"])

    response = rep_client.post(
        reverse("sales:lead_edit", args=[lead.pk]),
        {"name": "Mine", "source": Lead.Source.OTHER, "owner": rep.pk, "edit_version": opened},
    )

    assert response.status_code == 400
    assert "since you opened it" in response.content.decode()
    assert 'value="Mine"' in response.content.decode()
    lead.refresh_from_db()
    assert lead.name == "Original"


def test_another_teams_lead_is_a_404_on_every_record_page(rep_client):
    lead = LeadFactory(owner=other_team_user())

    for name in ("lead_edit", "lead_disqualify", "lead_merge"):
        assert rep_client.get(reverse(f"sales:{name}", args=[lead.pk])).status_code == 404
    assert rep_client.post(reverse("sales:lead_qualify", args=[lead.pk])).status_code == 404
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_support_agents_have_no_lead_pages(client):
    client.force_login(UserFactory(role="Support agent"))

    assert client.get(reverse("sales:lead_create")).status_code == 403


def test_a_rep_qualifies_then_disqualifies_a_lead_with_a_reason(rep_client, rep):
    lead = LeadFactory(owner=rep)

    qualified = rep_client.post(reverse("sales:lead_qualify", args=[lead.pk]))
    lead.refresh_from_db()
    assert qualified.status_code == 302
    assert lead.status == Lead.Status.QUALIFIED

    no_budget = reason(CloseReason.Kind.LEAD_DISQUALIFIED, "No budget")
    page = rep_client.get(reverse("sales:lead_disqualify", args=[lead.pk]))
    offered = list(page.context["form"].fields["reason"].queryset)
    assert no_budget in offered
    assert all(each.kind == CloseReason.Kind.LEAD_DISQUALIFIED for each in offered)

    response = rep_client.post(
        reverse("sales:lead_disqualify", args=[lead.pk]), {"reason": no_budget.pk}
    )

    lead.refresh_from_db()
    assert response.status_code == 302
    assert (lead.status, lead.disqualified_reason) == (Lead.Status.DISQUALIFIED, "No budget")


def test_disqualifying_without_a_reason_or_with_a_retired_one_saves_nothing(rep_client, rep):
    lead = LeadFactory(owner=rep)
    retired = reason(CloseReason.Kind.LEAD_DISQUALIFIED, "Unreachable")
    retired.is_active = False
    retired.save()
    lost_reason = reason(CloseReason.Kind.DEAL_LOST, "Price")

    empty = rep_client.post(reverse("sales:lead_disqualify", args=[lead.pk]), {"reason": ""})
    assert empty.status_code == 400
    assert empty.context["form"].errors["reason"] == ["Choose a reason."]
    for other in (retired, lost_reason):
        refused = rep_client.post(
            reverse("sales:lead_disqualify", args=[lead.pk]), {"reason": other.pk}
        )
        assert refused.status_code == 400
        assert refused.context["form"].errors["reason"]
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (Lead.Status.NEW, "")


def test_merging_a_duplicate_lead_after_comparing_both(rep_client, rep):
    survivor = LeadFactory(owner=rep, name="Ada Lovelace", phone="")
    duplicate = LeadFactory(owner=rep, name="Ada Lovelace (web)", phone="+44 20 1234 5678")

    choose = rep_client.get(reverse("sales:lead_merge", args=[survivor.pk]))
    assert duplicate in choose.context["candidates"]
    compare = rep_client.get(
        reverse("sales:lead_merge", args=[survivor.pk]), {"duplicate": duplicate.pk}
    )
    assert compare.context["duplicate"] == duplicate
    assert "+44 20 1234 5678" in compare.content.decode()

    response = rep_client.post(
        reverse("sales:lead_merge", args=[survivor.pk]), {"duplicate": duplicate.pk}
    )

    assert response.status_code == 302
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (Lead.Status.MERGED, survivor.pk)
    assert survivor.phone == "+44 20 1234 5678"


def test_a_lead_cannot_be_merged_with_itself_or_another_teams_lead(rep_client, rep):
    lead = LeadFactory(owner=rep)
    foreign = LeadFactory(owner=other_team_user())

    for duplicate in (lead, foreign):
        response = rep_client.post(
            reverse("sales:lead_merge", args=[lead.pk]), {"duplicate": duplicate.pk}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["duplicate"]
    assert (
        rep_client.get(
            reverse("sales:lead_merge", args=[lead.pk]), {"duplicate": foreign.pk}
        ).status_code
        == 404
    )
    assert not Lead.objects.filter(status=Lead.Status.MERGED).exists()


# --- deals ---------------------------------------------------------------------------------------


def test_a_new_deal_starts_with_finding_a_visible_customer(rep_client, rep):
    mine = CustomerFactory(name="Acme Mine", owner=rep)
    CustomerFactory(name="Acme Theirs", owner=other_team_user())

    page = rep_client.get(reverse("sales:deal_create"), {"find": "acme", "stage": "7"})

    assert page.context["matches"] == [mine]
    assert f"?customer={mine.pk}&amp;stage=7" in page.content.decode()


def test_a_rep_creates_a_deal_from_a_pipeline_column(rep_client, rep, team, stages):
    customer = CustomerFactory(owner=rep, team=team)
    url = reverse("sales:deal_create") + f"?customer={customer.pk}&stage={stages['propose'].pk}"
    page = rep_client.get(url)
    assert page.context["form"].initial["stage"] == stages["propose"].pk
    # Closed stages are not offered: a deal closes by won / lost.
    assert set(page.context["form"].fields["stage"].queryset) == {
        stages["qualify"],
        stages["propose"],
    }

    response = rep_client.post(
        url,
        {
            "name": "Big one",
            "amount": "12500.50",
            "stage": stages["propose"].pk,
            "kind": Opportunity.Kind.NEW,
            "forecast_category": Opportunity.ForecastCategory.COMMIT,
            "expected_close_date": "2026-12-20",
            "owner": rep.pk,
            "team": team.pk,
        },
    )

    deal = Opportunity.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sales:opportunity_detail", args=[deal.pk])
    assert (deal.customer_id, deal.stage_id, deal.amount, deal.probability) == (
        customer.pk,
        stages["propose"].pk,
        Decimal("12500.50"),
        Decimal("0.600"),
    )
    assert deal.stage_changes.count() == 1


def test_a_deal_with_a_negative_amount_saves_nothing(rep_client, rep, stages):
    customer = CustomerFactory(owner=rep)

    response = rep_client.post(
        reverse("sales:deal_create") + f"?customer={customer.pk}",
        {
            "name": "Bad",
            "amount": "-5",
            "stage": stages["qualify"].pk,
            "kind": Opportunity.Kind.NEW,
            "forecast_category": Opportunity.ForecastCategory.PIPELINE,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["The amount cannot be negative."]
    assert not Opportunity.objects.exists()


def test_a_deal_for_another_teams_customer_is_a_404(rep_client, stages):
    foreign = CustomerFactory(owner=other_team_user())

    url = reverse("sales:deal_create") + f"?customer={foreign.pk}"

    assert rep_client.get(url).status_code == 404
    assert rep_client.post(url, {"name": "x", "amount": "1"}).status_code == 404


def deal_edit_data(deal, **changes):
    data = {
        "name": deal.name,
        "amount": str(deal.amount),
        "expected_close_date": "",
        "probability_percent": str(deal.probability * 100),
        "forecast_category": deal.forecast_category,
        "next_step": "",
        "owner": deal.owner_id or "",
        "team": deal.team_id or "",
        "edit_version": edit_version(deal),
    }
    data.update(changes)
    return data


def test_the_deal_form_posted_back_unchanged_saves(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"], probability=Decimal("0.6"))
    deal.refresh_from_db()  # 0.600 as stored
    form = rep_client.get(reverse("sales:deal_edit", args=[deal.pk])).context["form"]
    assert form.initial["probability_percent"] == Decimal("60.0")

    response = rep_client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        deal_edit_data(deal, probability_percent=str(form.initial["probability_percent"])),
    )

    assert response.status_code == 302


def test_a_rep_edits_amount_close_date_probability_and_next_step(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"], probability=Decimal("0.2"))

    response = rep_client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        deal_edit_data(
            deal,
            amount="900",
            expected_close_date="2027-01-15",
            probability_percent="35",
            next_step="Send the proposal",
        ),
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.amount, deal.expected_close_date, deal.probability, deal.next_step) == (
        Decimal("900.00"),
        dt.date(2027, 1, 15),
        Decimal("0.350"),
        "Send the proposal",
    )


def test_a_probability_above_100_per_cent_is_refused_next_to_the_field(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"], probability=Decimal("0.2"))

    response = rep_client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        deal_edit_data(deal, probability_percent="150", amount="1"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["probability_percent"]
    deal.refresh_from_db()
    assert (deal.probability, deal.amount) == (Decimal("0.200"), Decimal("1000.00"))


def test_a_stale_deal_edit_is_refused(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"])
    data = deal_edit_data(deal, amount="1")
    # A stage move by a colleague after the form was opened makes it stale.
    rep_client.post(
        reverse("sales:opportunity_move", args=[deal.pk]), {"stage": stages["propose"].pk}
    )

    response = rep_client.post(reverse("sales:deal_edit", args=[deal.pk]), data)

    assert response.status_code == 400
    assert "since you opened it" in response.context["form"].non_field_errors()[0]
    deal.refresh_from_db()
    assert deal.amount == Decimal("1000.00")


def test_a_rep_wins_a_deal_and_is_offered_the_order(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["propose"])

    response = rep_client.post(reverse("sales:deal_won", args=[deal.pk]), follow=True)

    deal.refresh_from_db()
    assert (deal.outcome, deal.stage_id, deal.probability) == (
        Opportunity.Outcome.WON,
        stages["won"].pk,
        Decimal("1.000"),
    )
    assert deal.closed_at is not None
    assert OpportunityStageChange.objects.filter(opportunity=deal, to_stage=stages["won"]).exists()
    assert reverse("sales:order_create", args=[deal.customer_id]) in response.content.decode()


def test_a_rep_marks_a_deal_lost_with_a_reason_from_the_list(rep_client, rep, stages):
    deal = OpportunityFactory(owner=rep, stage=stages["propose"])
    price = reason(CloseReason.Kind.DEAL_LOST, "Price")

    empty = rep_client.post(reverse("sales:deal_lost", args=[deal.pk]), {"reason": ""})
    assert empty.status_code == 400
    deal.refresh_from_db()
    assert deal.outcome == Opportunity.Outcome.OPEN

    response = rep_client.post(reverse("sales:deal_lost", args=[deal.pk]), {"reason": price.pk})

    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.outcome, deal.lost_reason, deal.stage_id) == (
        Opportunity.Outcome.LOST,
        "Price",
        stages["lost"].pk,
    )


def test_a_closed_deal_cannot_be_won_again(rep_client, rep, stages):
    deal = OpportunityFactory(
        owner=rep,
        stage=stages["lost"],
        outcome=Opportunity.Outcome.LOST,
        closed_at=timezone.now(),
    )

    response = rep_client.post(reverse("sales:deal_won", args=[deal.pk]), follow=True)

    assert "This deal is closed" in response.content.decode()
    deal.refresh_from_db()
    assert deal.outcome == Opportunity.Outcome.LOST


def test_another_teams_deal_is_a_404(rep_client, stages):
    deal = OpportunityFactory(owner=other_team_user(), stage=stages["qualify"])

    assert rep_client.get(reverse("sales:deal_edit", args=[deal.pk])).status_code == 404
    assert rep_client.get(reverse("sales:deal_lost", args=[deal.pk])).status_code == 404
    assert rep_client.post(reverse("sales:deal_won", args=[deal.pk])).status_code == 404
    deal.refresh_from_db()
    assert deal.outcome == Opportunity.Outcome.OPEN


def test_the_pipeline_offers_a_new_deal_on_each_open_column(rep_client, stages):
    page = rep_client.get(reverse("sales:pipeline")).content.decode()

    assert f"/sales/deals/new/?stage={stages['qualify'].pk}" in page
    assert f"/sales/deals/new/?stage={stages['won'].pk}" not in page


# --- orders --------------------------------------------------------------------------------------


def booked_order(customer, total="300.00"):
    return order_create(customer=customer, ordered_at=timezone.now(), total=Decimal(total))


def test_the_customer_timeline_links_each_order_to_its_page(rep_client, rep):
    customer = CustomerFactory(owner=rep)
    order = booked_order(customer)

    timeline = rep_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    page = rep_client.get(reverse("sales:order_detail", args=[order.pk]))

    assert reverse("sales:order_detail", args=[order.pk]) in timeline
    assert page.status_code == 200
    assert page.context["order"] == order


def test_a_rep_refunds_part_of_an_order(rep_client, rep):
    order = booked_order(CustomerFactory(owner=rep))

    response = rep_client.post(
        reverse("sales:order_refund", args=[order.pk]), {"amount": "100.00", "reason": "Damaged"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    # 300.00 − 100.00 refunded → net 200.00 at rate 1
    assert (order.refunded_total, order.net_amount) == (Decimal("100.00"), Decimal("200.00"))


def test_a_refund_above_the_total_saves_nothing_and_says_why(rep_client, rep):
    order = booked_order(CustomerFactory(owner=rep))

    response = rep_client.post(reverse("sales:order_refund", args=[order.pk]), {"amount": "500"})

    assert response.status_code == 400
    assert "cannot exceed the order total" in response.context["refund_form"].errors["amount"][0]
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert order.refunded_total == Decimal("0.00")


def test_a_rep_cancels_an_order_and_the_customer_is_no_longer_acquired(rep_client, rep):
    customer = CustomerFactory(owner=rep)
    order = booked_order(customer)

    response = rep_client.post(reverse("sales:order_cancel", args=[order.pk]))

    assert response.status_code == 302
    order.refresh_from_db()
    customer.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert (customer.acquired_at, customer.status) == (None, Customer.Status.PROSPECT)
    again = rep_client.post(reverse("sales:order_cancel", args=[order.pk]), follow=True)
    assert "already cancelled" in again.content.decode()


def test_a_rep_edits_an_order_and_a_stale_edit_is_refused(rep_client, rep):
    order = booked_order(CustomerFactory(owner=rep))
    opened = edit_version(order)

    saved = rep_client.post(
        reverse("sales:order_edit", args=[order.pk]), {"owner": rep.pk, "edit_version": opened}
    )
    assert saved.status_code == 302
    order.refresh_from_db()
    assert order.owner_id == rep.pk

    stale = rep_client.post(
        reverse("sales:order_edit", args=[order.pk]), {"owner": "", "edit_version": opened}
    )
    assert stale.status_code == 400
    order.refresh_from_db()
    assert order.owner_id == rep.pk


def test_another_teams_order_is_a_404(rep_client):
    order = booked_order(CustomerFactory(owner=other_team_user()))

    for name in ("order_detail", "order_edit"):
        assert rep_client.get(reverse(f"sales:{name}", args=[order.pk])).status_code == 404
    for name in ("order_cancel", "order_refund"):
        assert rep_client.post(reverse(f"sales:{name}", args=[order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED


def test_record_pages_refuse_a_post_without_csrf(rep, stages):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"])

    assert client.post(reverse("sales:deal_won", args=[deal.pk])).status_code == 403


# --- query caps ----------------------------------------------------------------------------------


def test_record_pages_run_a_bounded_number_of_queries(
    rep_client, rep, stages, django_assert_max_num_queries
):
    customer = CustomerFactory(owner=rep)
    lead = LeadFactory(owner=rep, name="Same name")
    for _ in range(15):
        LeadFactory(owner=rep, name="Same name")
        CustomerFactory(owner=rep, name="Findme")
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"], customer=customer)
    order = booked_order(customer)
    for _ in range(10):
        rep_client.post(reverse("sales:order_refund", args=[order.pk]), {"amount": "1"})

    pages = [
        reverse("sales:lead_create"),
        reverse("sales:lead_edit", args=[lead.pk]),
        reverse("sales:lead_disqualify", args=[lead.pk]),
        reverse("sales:lead_merge", args=[lead.pk]),
        reverse("sales:deal_create") + "?find=findme",
        reverse("sales:deal_create") + f"?customer={customer.pk}",
        reverse("sales:deal_edit", args=[deal.pk]),
        reverse("sales:deal_lost", args=[deal.pk]),
        reverse("sales:order_detail", args=[order.pk]),
        reverse("sales:order_edit", args=[order.pk]),
    ]
    for url in pages:
        with django_assert_max_num_queries(14):
            assert rep_client.get(url).status_code == 200

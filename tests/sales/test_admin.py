# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from customers.models import Customer
from sales.models import Lead, Opportunity, OpportunityStageChange, Order, Refund
from sales.services import opportunity_create, opportunity_move_stage, order_create
from tests.customers.factories import ChannelFactory, CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import (
    ActivityFactory,
    CampaignFactory,
    LeadFactory,
    MarketingSpendFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    PipelineStageFactory,
    ProductFactory,
    RetentionCaseFactory,
    SalesCostFactory,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
MODELS = [
    "campaign",
    "lead",
    "pipelinestage",
    "opportunity",
    "productline",
    "product",
    "order",
    "activity",
    "retentioncase",
    "marketingspend",
    "salescost",
]


@pytest.fixture
def stages():
    return {
        "qualify": PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.2")),
        "proposal": PipelineStageFactory(code="proposal", position=2, probability=Decimal("0.6")),
        "won": PipelineStageFactory(code="won", position=9, probability=Decimal("1"), is_won=True),
    }


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def _populate(rows, stages):
    owner, team, channel = UserFactory(), TeamFactory(), ChannelFactory()
    for index in range(rows):
        customer = CustomerFactory(team=team, owner=owner)
        lead = LeadFactory(team=team, owner=owner, channel=channel)
        opportunity = OpportunityFactory(
            customer=customer, stage=stages["qualify"], team=team, owner=owner
        )
        order = OrderFactory(customer=customer, owner=owner, channel=channel)
        OrderLineFactory(order=order)
        ActivityFactory(
            customer=customer, lead=lead, opportunity=opportunity, owner=owner, team=team
        )
        RetentionCaseFactory(customer=customer, owner=owner)
        MarketingSpendFactory(
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 2, 1),
            channel=channel,
            campaign=CampaignFactory(channel=channel),
        )
        SalesCostFactory(
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 2, 1),
            team=team,
            description=f"cost {index}",
        )


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_max_num_queries, stages, model
):
    url = reverse(f"admin:sales_{model}_changelist")
    _populate(2, stages)
    with django_assert_max_num_queries(20) as few:
        assert admin_client.get(url).status_code == 200
    _populate(6, stages)

    # select_related on every list column: 8 rows cost what 2 rows cost
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)

    assert response.status_code == 200


def test_change_pages_render_with_inlines(admin_client, stages):
    opportunity = opportunity_create(customer=CustomerFactory(), name="Deal", amount=Decimal("1"))
    opportunity_move_stage(opportunity=opportunity, to_stage="proposal")
    order = OrderFactory()
    OrderLineFactory(order=order)

    opportunity_page = admin_client.get(
        reverse("admin:sales_opportunity_change", args=[opportunity.pk])
    )
    order_page = admin_client.get(reverse("admin:sales_order_change", args=[order.pk]))

    assert opportunity_page.status_code == order_page.status_code == 200
    assert "outcome" not in opportunity_page.context["adminform"].form.fields
    assert "net_amount" not in order_page.context["adminform"].form.fields
    assert "refunded_total" not in order_page.context["adminform"].form.fields


def _opportunity_form(opportunity, **changes):
    data = {
        "name": opportunity.name,
        "customer": opportunity.customer_id,
        "kind": opportunity.kind,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "stage": opportunity.stage_id,
        "forecast_category": opportunity.forecast_category,
        "lost_reason": "",
        "created_at_0": "2026-01-05",
        "created_at_1": "10:00:00",
        "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_admin_stage_change_goes_through_the_service(admin_client, admin_user, stages):
    opportunity = opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("100"), created_at=T0
    )

    response = admin_client.post(
        reverse("admin:sales_opportunity_change", args=[opportunity.pk]),
        _opportunity_form(opportunity, stage=stages["won"].pk, name="Renamed"),
    )

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.outcome, opportunity.probability) == (
        "Renamed",
        "won",
        Decimal("1"),
    )
    last = OpportunityStageChange.objects.filter(opportunity=opportunity).last()
    assert last is not None
    assert (last.from_stage, last.to_stage, last.changed_by) == (
        stages["qualify"],
        stages["won"],
        admin_user,
    )


def test_admin_refuses_to_move_a_closed_deal_with_the_service_message(admin_client, stages):
    opportunity = opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("100"), created_at=T0
    )
    opportunity = opportunity_move_stage(opportunity=opportunity, to_stage="won")

    response = admin_client.post(
        reverse("admin:sales_opportunity_change", args=[opportunity.pk]),
        _opportunity_form(opportunity, stage=stages["proposal"].pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["stage"]
    assert "cannot move to another stage" in errors[0]
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["won"]


def test_admin_add_opportunity_records_the_initial_stage(admin_client, stages):
    customer = CustomerFactory()
    form = _opportunity_form(
        Opportunity(name="New deal", customer=customer, amount=Decimal("5"), currency="EUR"),
        stage=stages["qualify"].pk,
    )

    response = admin_client.post(reverse("admin:sales_opportunity_add"), form)

    assert response.status_code == 302
    opportunity = Opportunity.objects.get()
    assert opportunity.probability == Decimal("0.2")
    assert opportunity.stage_changes.get().from_stage is None


def test_lead_convert_action_reports_refusals(admin_client, stages):
    good = LeadFactory(name="Good")
    done = LeadFactory(name="Done", status=Lead.Status.DISQUALIFIED)

    response = admin_client.post(
        reverse("admin:sales_lead_changelist"),
        {"action": "convert_leads", "_selected_action": [good.pk, done.pk]},
        follow=True,
    )

    good.refresh_from_db()
    assert good.status == Lead.Status.CONVERTED
    shown = _messages(response)
    assert "1 lead converted." in shown
    assert any("Done: A disqualified lead cannot be converted." in m for m in shown)
    assert Customer.objects.count() == 1


def test_lead_admin_refuses_setting_converted_by_hand(admin_client):
    lead = LeadFactory()

    response = admin_client.post(
        reverse("admin:sales_lead_change", args=[lead.pk]),
        {
            "name": lead.name,
            "source": "other",
            "status": "converted",
            "created_at_0": "2026-01-05",
            "created_at_1": "10:00:00",
            "activities-TOTAL_FORMS": "0",
            "activities-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "lead actions" in response.context["adminform"].form.errors["status"][0]


def _order_add_form(customer, **changes):
    data = {
        "customer": customer.pk,
        "ordered_at_0": "2026-01-05",
        "ordered_at_1": "10:00:00",
        "status": "completed",
        "currency": "EUR",
        "exchange_rate": "1",
        "total": "0",
        "created_at_0": "2026-01-05",
        "created_at_1": "10:00:00",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "refunds-TOTAL_FORMS": "0",
        "refunds-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_admin_order_with_lines_gets_its_total_from_the_service(admin_client):
    customer = CustomerFactory()
    product = ProductFactory()

    response = admin_client.post(
        reverse("admin:sales_order_add"),
        _order_add_form(
            customer,
            **{
                "lines-TOTAL_FORMS": "2",
                "lines-0-product": product.pk,
                "lines-0-quantity": "3",
                "lines-0-unit_price": "9.99",
                "lines-1-product": product.pk,
                "lines-1-quantity": "1",
                "lines-1-unit_price": "0.03",
            },
        ),
    )

    assert response.status_code == 302
    order = Order.objects.get()
    # 3 × 9.99 + 1 × 0.03 = 30.00
    assert (order.total, order.net_amount) == (Decimal("30.00"), Decimal("30.00"))
    customer.refresh_from_db()
    assert customer.acquired_at == order.ordered_at  # order_create acquired the customer


def test_admin_order_in_home_currency_with_another_rate_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:sales_order_add"),
        _order_add_form(CustomerFactory(), currency="EUR", exchange_rate="2", total="10"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["exchange_rate"]
    assert "organisation currency has a rate of 1" in errors[0]
    assert not Order.objects.exists()


def test_admin_refund_above_total_is_refused_and_a_valid_one_recorded(admin_client):
    order = order_create(customer=CustomerFactory(), ordered_at=T0, total=Decimal("50"))
    url = reverse("admin:sales_order_change", args=[order.pk])
    form = {
        "channel": "",
        "owner": "",
        "external_id": "",
        "created_at_0": "2026-01-05",
        "created_at_1": "10:00:00",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "refunds-TOTAL_FORMS": "1",
        "refunds-INITIAL_FORMS": "0",
        "refunds-0-amount": "60",
        "refunds-0-refunded_at_0": "2026-01-06",
        "refunds-0-refunded_at_1": "10:00:00",
    }

    refused = admin_client.post(url, form)
    form["refunds-0-amount"] = "20"
    accepted = admin_client.post(url, form)

    assert refused.status_code == 200
    assert "cannot exceed the order total" in refused.content.decode()
    assert accepted.status_code == 302
    order.refresh_from_db()
    assert (order.refunded_total, order.net_amount) == (Decimal("20.00"), Decimal("30.00"))
    assert Refund.objects.get().amount == Decimal("20.00")


def test_order_cancel_action_reports_an_already_cancelled_order(admin_client):
    order = order_create(
        customer=CustomerFactory(), ordered_at=T0, total=Decimal("5"), external_id="O-1"
    )
    changelist = reverse("admin:sales_order_changelist")
    payload = {"action": "cancel_orders", "_selected_action": [order.pk]}

    admin_client.post(changelist, payload)
    response = admin_client.post(changelist, payload, follow=True)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "O-1: This order is already cancelled." in _messages(response)

# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from customers.models import Customer
from sales.models import (
    Activity,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    Refund,
    RetentionCase,
    SalesCost,
)
from sales.services import (
    activity_complete,
    activity_log,
    lead_convert,
    lead_create,
    lead_merge,
    marketing_spend_record,
    opportunity_create,
    opportunity_move_stage,
    order_cancel,
    order_create,
    order_mark_delivered,
    order_refund,
    retention_case_close,
    retention_case_open,
    sales_cost_record,
)
from tests.customers.factories import ChannelFactory, CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    PipelineStageFactory,
    ProductFactory,
    RetentionCaseFactory,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def stages():
    return {
        "qualify": PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.2")),
        "proposal": PipelineStageFactory(code="proposal", position=2, probability=Decimal("0.6")),
        "won": PipelineStageFactory(code="won", position=9, probability=Decimal("1"), is_won=True),
        "lost": PipelineStageFactory(code="lost", position=10, probability=0, is_lost=True),
    }


# --- leads ---------------------------------------------------------------------------------------


def test_lead_create_refuses_an_unknown_source_and_saves_nothing():
    with pytest.raises(ValidationError) as excinfo:
        lead_create(name="Ann", source="telepathy")

    assert "source" in excinfo.value.message_dict
    assert not Lead.objects.exists()


def test_lead_convert_creates_customer_and_opportunity(stages):
    rep, team, channel = UserFactory(), TeamFactory(), ChannelFactory()
    lead = lead_create(
        name="Ann",
        company="Acme",
        email="ann@acme.test",
        owner=rep,
        team=team,
        channel=channel,
        created_at=T0,
    )

    customer, opportunity = lead_convert(
        lead=lead, actor=rep, converted_at=T0 + DAY, opportunity_amount=Decimal("500")
    )

    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer, lead.converted_at) == (
        Lead.Status.CONVERTED,
        customer,
        T0 + DAY,
    )
    assert (customer.name, customer.kind, customer.email) == ("Acme", "company", "ann@acme.test")
    assert (customer.owner, customer.team, customer.channel) == (rep, team, channel)
    assert customer.acquired_at == T0 + DAY
    assert customer.status == Customer.Status.ACTIVE
    assert opportunity is not None
    assert (opportunity.stage, opportunity.amount, opportunity.lead) == (
        stages["qualify"],
        Decimal("500"),
        lead,
    )


def test_lead_convert_into_existing_customer_keeps_the_earlier_acquisition(stages):
    customer = CustomerFactory(acquired_at=T0)
    lead = LeadFactory(created_at=T0 - DAY)

    result, opportunity = lead_convert(
        lead=lead, customer=customer, converted_at=T0 + DAY, create_opportunity=False
    )

    result.refresh_from_db()
    assert result == customer
    assert result.acquired_at == T0  # earliest of T0 and T0 + 1 day
    assert opportunity is None


def test_lead_convert_moves_acquisition_earlier():
    customer = CustomerFactory(acquired_at=T0)
    lead = LeadFactory(created_at=T0 - 3 * DAY)

    lead_convert(lead=lead, customer=customer, converted_at=T0 - DAY, create_opportunity=False)

    customer.refresh_from_db()
    assert customer.acquired_at == T0 - DAY


def test_lead_converted_twice_is_refused(stages):
    lead = LeadFactory(created_at=T0)
    lead_convert(lead=lead, converted_at=T0 + DAY)

    with pytest.raises(ValidationError, match="already been converted"):
        lead_convert(lead=lead, converted_at=T0 + 2 * DAY)

    assert Customer.objects.count() == 1
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [(Lead.Status.MERGED, "merged"), (Lead.Status.DISQUALIFIED, "disqualified")],
)
def test_merged_or_disqualified_lead_cannot_be_converted(stages, status, message):
    lead = LeadFactory(status=status)

    with pytest.raises(ValidationError, match=message) as excinfo:
        lead_convert(lead=lead)

    assert "lead" in excinfo.value.message_dict
    assert not Customer.objects.exists()
    assert not Opportunity.objects.exists()


def test_lead_convert_without_an_open_stage_writes_nothing():
    lead = LeadFactory(created_at=T0)

    with pytest.raises(ValidationError, match="No open pipeline stage"):
        lead_convert(lead=lead, converted_at=T0 + DAY)

    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    assert not Customer.objects.exists()


def test_lead_merge_folds_the_duplicate_into_the_survivor():
    survivor = LeadFactory(phone="")
    duplicate = LeadFactory(phone="+49 30 1234")
    activity = ActivityFactory(customer=None, lead=duplicate)

    result = lead_merge(duplicate=duplicate, into=survivor)

    duplicate.refresh_from_db()
    activity.refresh_from_db()
    assert result == survivor
    assert (duplicate.status, duplicate.merged_into) == (Lead.Status.MERGED, survivor)
    assert result.phone == "+49 30 1234"
    assert activity.lead == survivor


def test_lead_merge_refuses_itself_and_a_merged_duplicate():
    lead, other = LeadFactory(), LeadFactory()
    with pytest.raises(ValidationError, match="itself"):
        lead_merge(duplicate=lead, into=lead)
    lead_merge(duplicate=lead, into=other)

    with pytest.raises(ValidationError, match="already merged"):
        lead_merge(duplicate=lead, into=other)


# --- opportunities -------------------------------------------------------------------------------


def test_opportunity_create_records_the_initial_stage(stages):
    actor = UserFactory()
    customer = CustomerFactory(team=TeamFactory())

    opportunity = opportunity_create(
        customer=customer,
        name="Deal",
        amount=Decimal("100"),
        stage="proposal",
        actor=actor,
        created_at=T0,
    )

    assert (opportunity.probability, opportunity.outcome) == (Decimal("0.6"), "open")
    assert opportunity.team == customer.team  # defaults to the customer's team
    change = OpportunityStageChange.objects.get(opportunity=opportunity)
    assert (change.from_stage, change.to_stage, change.changed_at, change.changed_by) == (
        None,
        stages["proposal"],
        T0,
        actor,
    )


def test_opportunity_create_refuses_a_negative_amount(stages):
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(customer=CustomerFactory(), name="Deal", amount=Decimal("-1"))

    assert "negative" in excinfo.value.message_dict["amount"][0]
    assert not Opportunity.objects.exists()
    assert not OpportunityStageChange.objects.exists()


def test_opportunity_move_stage_appends_history_and_sets_probability(stages):
    actor = UserFactory()
    opportunity = opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("100"), created_at=T0
    )

    moved = opportunity_move_stage(
        opportunity=opportunity, to_stage="proposal", actor=actor, at=T0 + DAY
    )

    assert (moved.stage, moved.probability, moved.outcome) == (
        stages["proposal"],
        Decimal("0.6"),
        "open",
    )
    history = list(
        OpportunityStageChange.objects.filter(opportunity=opportunity).values_list(
            "from_stage__code", "to_stage__code", "changed_at", "changed_by"
        )
    )
    assert history == [
        (None, "qualify", T0, None),
        ("qualify", "proposal", T0 + DAY, actor.pk),
    ]


def test_opportunity_won_and_lost_close_the_deal(stages):
    won = OpportunityFactory(stage=stages["qualify"], created_at=T0)
    lost = OpportunityFactory(stage=stages["qualify"], created_at=T0)

    opportunity_move_stage(opportunity=won, to_stage=stages["won"], at=T0 + DAY)
    opportunity_move_stage(opportunity=lost, to_stage="lost", at=T0 + DAY, lost_reason="Price")

    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.outcome, won.closed_at, won.probability) == ("won", T0 + DAY, Decimal("1"))
    assert (lost.outcome, lost.closed_at, lost.probability, lost.lost_reason) == (
        "lost",
        T0 + DAY,
        Decimal("0"),
        "Price",
    )


def test_move_to_an_unknown_stage_is_refused(stages):
    opportunity = OpportunityFactory(stage=stages["qualify"])

    with pytest.raises(ValidationError) as excinfo:
        opportunity_move_stage(opportunity=opportunity, to_stage="nirvana")

    assert "Unknown pipeline stage" in excinfo.value.message_dict["to_stage"][0]
    assert not OpportunityStageChange.objects.exists()


def test_a_closed_deal_cannot_move(stages):
    opportunity = OpportunityFactory(stage=stages["qualify"], created_at=T0)
    opportunity_move_stage(opportunity=opportunity, to_stage="won", at=T0 + DAY)

    with pytest.raises(ValidationError, match="closed") as excinfo:
        opportunity_move_stage(opportunity=opportunity, to_stage="proposal")

    assert "stage" in excinfo.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["won"]
    assert OpportunityStageChange.objects.filter(opportunity=opportunity).count() == 1


def test_move_to_the_same_stage_is_refused(stages):
    opportunity = OpportunityFactory(stage=stages["qualify"])

    with pytest.raises(ValidationError, match="already in this stage"):
        opportunity_move_stage(opportunity=opportunity, to_stage="qualify")


# --- orders --------------------------------------------------------------------------------------


def test_order_total_is_the_sum_of_its_lines():
    customer = CustomerFactory()
    product_a, product_b = ProductFactory(unit_price=Decimal("9.99")), ProductFactory()

    order = order_create(
        customer=customer,
        ordered_at=T0,
        lines=[
            {"product": product_a, "quantity": 3, "unit_price": Decimal("9.99")},
            {"product": product_b.pk, "quantity": 2, "unit_price": Decimal("0.50")},
        ],
    )

    # 3 × 9.99 + 2 × 0.50 = 29.97 + 1.00 = 30.97
    assert order.total == order.net_amount == Decimal("30.97")
    assert sorted(OrderLine.objects.values_list("line_total", flat=True)) == [
        Decimal("1.00"),
        Decimal("29.97"),
    ]
    assert (order.currency, order.exchange_rate) == ("EUR", Decimal("1"))


def test_order_line_without_price_uses_the_product_price():
    product = ProductFactory(unit_price=Decimal("12.50"))

    order = order_create(
        customer=CustomerFactory(), ordered_at=T0, lines=[{"product": product, "quantity": 2}]
    )

    assert order.total == Decimal("25.00")  # 2 × 12.50


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"total": Decimal("-1")}, "total"),
        ({"lines": [{"product": None, "quantity": 1, "unit_price": 1}]}, "lines[0]"),
        ({"lines": [{"quantity": 1, "unit_price": Decimal("-5")}]}, "lines[0]"),
        ({"lines": [{"quantity": 0, "unit_price": Decimal("5")}]}, "lines[0]"),
        ({"total": Decimal("10"), "currency": "USD"}, "exchange_rate"),
        ({"total": Decimal("10"), "currency": "USD", "exchange_rate": 0}, "exchange_rate"),
        ({"total": Decimal("10"), "exchange_rate": Decimal("2")}, "exchange_rate"),
        ({"total": Decimal("10"), "currency": "EURO"}, "currency"),
        ({}, "total"),
    ],
)
def test_order_create_refuses_invalid_money_and_saves_nothing(kwargs, field):
    customer = CustomerFactory()
    if kwargs.get("lines") and "product" not in kwargs["lines"][0]:
        kwargs["lines"][0]["product"] = ProductFactory()

    with pytest.raises(ValidationError) as excinfo:
        order_create(customer=customer, ordered_at=T0, **kwargs)

    assert field in excinfo.value.message_dict
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    customer.refresh_from_db()
    assert customer.acquired_at is None


def test_order_create_refuses_a_total_that_disagrees_with_its_lines():
    with pytest.raises(ValidationError, match="differs"):
        order_create(
            customer=CustomerFactory(),
            ordered_at=T0,
            total=Decimal("99"),
            lines=[{"product": ProductFactory(), "quantity": 1, "unit_price": Decimal("10")}],
        )

    assert not Order.objects.exists()


def test_foreign_currency_order_is_converted_and_quantized():
    order = order_create(
        customer=CustomerFactory(),
        ordered_at=T0,
        total=Decimal("100.00"),
        currency="usd",
        exchange_rate=Decimal("0.923456"),
    )

    # 100.00 × 0.923456 = 92.3456 → 92.35
    assert (order.currency, order.net_amount) == ("USD", Decimal("92.35"))


def test_refunds_accumulate_and_reduce_the_net_amount():
    order = order_create(
        customer=CustomerFactory(),
        ordered_at=T0,
        total=Decimal("100.00"),
        currency="USD",
        exchange_rate=Decimal("0.5"),
    )

    order_refund(order=order, amount=Decimal("10.00"), reason="damaged")
    order_refund(order=order, amount="15.50")

    order.refresh_from_db()
    # refunded 10 + 15.50 = 25.50; net (100 − 25.50) × 0.5 = 37.25
    assert order.refunded_total == Decimal("25.50")
    assert order.net_amount == Decimal("37.25")
    assert Refund.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("amount", [Decimal("100.01"), Decimal("0"), Decimal("-5")])
def test_refund_above_total_or_not_positive_is_refused(amount):
    order = order_create(customer=CustomerFactory(), ordered_at=T0, total=Decimal("100.00"))

    with pytest.raises(ValidationError) as excinfo:
        order_refund(order=order, amount=amount)

    assert "amount" in excinfo.value.message_dict
    order.refresh_from_db()
    assert (order.refunded_total, order.net_amount) == (Decimal("0"), Decimal("100.00"))
    assert not Refund.objects.exists()


def test_refund_of_the_remaining_amount_brings_net_to_zero():
    order = order_create(customer=CustomerFactory(), ordered_at=T0, total=Decimal("100.00"))
    order_refund(order=order, amount=Decimal("60"))

    with pytest.raises(ValidationError, match="cannot exceed"):
        order_refund(order=order, amount=Decimal("40.01"))
    order_refund(order=order, amount=Decimal("40"))

    order.refresh_from_db()
    assert (order.refunded_total, order.net_amount) == (Decimal("100.00"), Decimal("0.00"))


def test_first_order_acquires_the_customer_and_makes_it_active():
    customer = CustomerFactory()

    order_create(customer=customer, ordered_at=T0 + DAY, total=Decimal("10"))
    order_create(customer=customer, ordered_at=T0, total=Decimal("10"))  # an older import
    order_create(customer=customer, ordered_at=T0 + 2 * DAY, total=Decimal("10"))

    customer.refresh_from_db()
    assert customer.acquired_at == T0
    assert customer.status == Customer.Status.ACTIVE


def test_a_cancelled_order_does_not_acquire():
    customer = CustomerFactory()

    order_create(customer=customer, ordered_at=T0, total=Decimal("10"), status="cancelled")

    customer.refresh_from_db()
    assert (customer.acquired_at, customer.status) == (None, Customer.Status.PROSPECT)


def test_cancelling_the_first_order_recomputes_acquisition_from_orders_and_conversions():
    customer = CustomerFactory()
    first = order_create(customer=customer, ordered_at=T0, total=Decimal("10"))
    order_create(customer=customer, ordered_at=T0 + 5 * DAY, total=Decimal("10"))
    lead = LeadFactory(created_at=T0 - DAY)
    lead_convert(lead=lead, customer=customer, converted_at=T0 + 3 * DAY, create_opportunity=False)

    order_cancel(order=first, at=T0 + 6 * DAY)

    customer.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, first.cancelled_at) == ("cancelled", T0 + 6 * DAY)
    # remaining: order at T0 + 5 days, conversion at T0 + 3 days → T0 + 3 days
    assert customer.acquired_at == T0 + 3 * DAY


def test_cancelling_the_only_order_returns_the_customer_to_prospect():
    customer = CustomerFactory()
    order = order_create(customer=customer, ordered_at=T0, total=Decimal("10"))

    order_cancel(order=order)

    customer.refresh_from_db()
    assert (customer.acquired_at, customer.status) == (None, Customer.Status.PROSPECT)
    with pytest.raises(ValidationError, match="already cancelled"):
        order_cancel(order=order)


def test_order_mark_delivered_and_refusals():
    order = order_create(customer=CustomerFactory(), ordered_at=T0, total=Decimal("10"))

    with pytest.raises(ValidationError) as excinfo:
        order_mark_delivered(order=order, at=T0 - DAY)
    assert "at" in excinfo.value.message_dict
    delivered = order_mark_delivered(order=order, at=T0 + DAY)

    assert (delivered.status, delivered.delivered_at) == ("delivered", T0 + DAY)
    cancelled = order_create(
        customer=CustomerFactory(), ordered_at=T0, total=Decimal("1"), status="cancelled"
    )
    with pytest.raises(ValidationError, match="cancelled"):
        order_mark_delivered(order=cancelled)


# --- activities ----------------------------------------------------------------------------------


def test_activity_log_requires_a_record():
    with pytest.raises(ValidationError) as excinfo:
        activity_log(kind="call", subject="Hello", owner=UserFactory())

    assert "customer" in excinfo.value.message_dict
    assert not Activity.objects.exists()


def test_activity_log_takes_the_owner_team():
    owner = UserFactory()
    owner_team = TeamFactory(name="Owner team")
    owner_team.members.add(owner)
    customer = CustomerFactory(team=TeamFactory(name="Customer team"))

    activity = activity_log(kind="call", subject="Hello", owner=owner, customer=customer)

    assert activity.team == owner_team


def test_activity_log_falls_back_to_the_customer_team():
    customer = CustomerFactory(team=TeamFactory())

    activity = activity_log(kind="note", subject="Imported", owner=None, customer=customer)

    assert activity.team == customer.team


def test_activity_log_on_an_opportunity_links_its_customer(stages):
    opportunity = OpportunityFactory(stage=stages["qualify"])

    activity = activity_log(kind="meeting", subject="Demo", owner=None, opportunity=opportunity)

    assert activity.customer == opportunity.customer


def test_activity_complete_once():
    activity = ActivityFactory()

    activity_complete(activity=activity, at=T0)

    activity.refresh_from_db()
    assert activity.done_at == T0
    with pytest.raises(ValidationError, match="already done"):
        activity_complete(activity=activity)


# --- retention and costs -------------------------------------------------------------------------


def test_retention_case_open_and_close():
    case = retention_case_open(customer=CustomerFactory(), cost=Decimal("20"), opened_at=T0)

    closed = retention_case_close(
        case=case, outcome="retained", closed_at=T0 + DAY, cost=Decimal("35")
    )

    assert (closed.status, closed.outcome, closed.closed_at, closed.cost) == (
        "closed",
        "retained",
        T0 + DAY,
        Decimal("35"),
    )


@pytest.mark.parametrize("outcome", ["pending", "maybe"])
def test_retention_case_close_requires_retained_or_lost(outcome):
    case = RetentionCaseFactory()

    with pytest.raises(ValidationError) as excinfo:
        retention_case_close(case=case, outcome=outcome)

    assert "outcome" in excinfo.value.message_dict
    case.refresh_from_db()
    assert case.status == RetentionCase.Status.OPEN


def test_retention_case_refuses_negative_cost():
    with pytest.raises(ValidationError) as excinfo:
        retention_case_open(customer=CustomerFactory(), cost=Decimal("-1"))

    assert "cost" in excinfo.value.message_dict
    assert not RetentionCase.objects.exists()


def test_marketing_spend_is_idempotent_by_external_id():
    channel = ChannelFactory()
    start, end = dt.date(2026, 1, 1), dt.date(2026, 2, 1)

    marketing_spend_record(
        period_start=start,
        period_end=end,
        amount=Decimal("100"),
        channel=channel,
        external_id="S-1",
    )
    spend = marketing_spend_record(
        period_start=start,
        period_end=end,
        amount=Decimal("120"),
        channel=channel,
        external_id="S-1",
    )

    assert MarketingSpend.objects.get() == spend
    assert spend.amount == Decimal("120")


@pytest.mark.parametrize("record", [marketing_spend_record, sales_cost_record])
def test_negative_spend_and_empty_periods_are_refused(record):
    start = dt.date(2026, 1, 1)

    with pytest.raises(ValidationError) as excinfo:
        record(period_start=start, period_end=dt.date(2026, 2, 1), amount=Decimal("-0.01"))
    assert "amount" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        record(period_start=start, period_end=start, amount=Decimal("1"))
    assert "period_end" in excinfo.value.message_dict

    assert not MarketingSpend.objects.exists()
    assert not SalesCost.objects.exists()


def test_cancel_refused_when_acquisition_would_move_after_the_churn():
    customer = CustomerFactory()
    first = order_create(customer=customer, ordered_at=T0, total=Decimal("10"))
    order_create(customer=customer, ordered_at=T0 + 10 * DAY, total=Decimal("10"))
    customer.refresh_from_db()
    customer.churned_at = T0 + 5 * DAY
    customer.save()

    with pytest.raises(ValidationError, match="correct the churn date first"):
        order_cancel(order=first)

    first.refresh_from_db()
    customer.refresh_from_db()
    assert first.status == Order.Status.COMPLETED
    assert customer.acquired_at == T0


# --- lead work states and edits through the services ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("new", "contacted"),
        ("new", "qualified"),
        ("new", "disqualified"),
        ("contacted", "qualified"),
        ("qualified", "contacted"),
        ("qualified", "disqualified"),
        ("disqualified", "contacted"),
    ],
)
def test_lead_set_status_follows_the_work_states(start, target):
    from sales.services import lead_set_status

    lead = LeadFactory(status=start)

    updated = lead_set_status(lead=lead, status=target)

    lead.refresh_from_db()
    assert updated.status == lead.status == target


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        ("new", "converted", "have their own actions"),
        ("new", "merged", "have their own actions"),
        ("new", "new", "have their own actions"),
        ("contacted", "contacted", "already"),
        ("disqualified", "qualified", "cannot be marked"),
        ("merged", "contacted", "can no longer change"),
    ],
)
def test_lead_set_status_refusals_leave_the_lead_unchanged(start, target, message):
    from sales.services import lead_set_status

    lead = LeadFactory(status=start)

    with pytest.raises(ValidationError, match=message) as excinfo:
        lead_set_status(lead=lead, status=target)

    assert "status" in excinfo.value.message_dict
    lead.refresh_from_db()
    assert lead.status == start


def test_a_converted_lead_keeps_its_status(stages):
    from sales.services import lead_set_status

    lead = LeadFactory()
    lead_convert(lead=lead, create_opportunity=False)

    with pytest.raises(ValidationError, match="can no longer change"):
        lead_set_status(lead=lead, status=Lead.Status.DISQUALIFIED)

    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED


def test_a_disqualified_lead_cannot_convert_until_reopened(stages):
    from sales.services import lead_set_status

    lead = LeadFactory()
    lead_set_status(lead=lead, status=Lead.Status.DISQUALIFIED)
    with pytest.raises(ValidationError, match="disqualified lead cannot be converted"):
        lead_convert(lead=lead)

    lead_set_status(lead=lead, status=Lead.Status.CONTACTED)
    customer, _deal = lead_convert(lead=lead, create_opportunity=False)

    lead.refresh_from_db()
    assert lead.converted_customer_id == customer.pk


def test_lead_update_edits_details_but_not_the_status():
    from sales.services import lead_update

    lead = LeadFactory(name="Ann", company="")

    updated = lead_update(lead=lead, name="  Ann Lee ", company="Lee GmbH")
    with pytest.raises(ValidationError) as excinfo:
        lead_update(lead=lead, status=Lead.Status.QUALIFIED)

    assert "status" in excinfo.value.message_dict
    lead.refresh_from_db()
    assert (updated.name, lead.name, lead.company) == ("Ann Lee", "Ann Lee", "Lee GmbH")
    assert lead.status == Lead.Status.NEW


def test_a_merged_lead_is_not_edited():
    from sales.services import lead_update

    survivor, duplicate = LeadFactory(), LeadFactory(name="Copy")
    lead_merge(duplicate=duplicate, into=survivor)

    with pytest.raises(ValidationError, match="merged lead"):
        lead_update(lead=duplicate, name="Changed")

    duplicate.refresh_from_db()
    assert duplicate.name == "Copy"


def test_lead_update_refuses_a_creation_after_the_conversion(stages):
    from sales.services import lead_update

    lead = LeadFactory(created_at=T0)
    lead_convert(lead=lead, converted_at=T0 + DAY, create_opportunity=False)

    with pytest.raises(ValidationError) as excinfo:
        lead_update(lead=lead, created_at=T0 + 2 * DAY)

    assert "created_at" in excinfo.value.message_dict


def test_opportunity_update_edits_an_open_deal_and_freezes_a_closed_one(stages):
    from sales.services import opportunity_update

    deal = opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("100"), stage="qualify"
    )

    opportunity_update(opportunity=deal, amount=Decimal("250.00"), name="Bigger deal")
    opportunity_move_stage(opportunity=deal, to_stage="won")
    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=deal, amount=Decimal("999"))
    renamed = opportunity_update(opportunity=deal, name="Won deal", amount=Decimal("250.00"))

    assert "amount" in excinfo.value.message_dict
    deal.refresh_from_db()
    assert (deal.amount, deal.name, renamed.name) == (Decimal("250.00"), "Won deal", "Won deal")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"stage": "won"}, "stage"),
        ({"outcome": "won"}, "outcome"),
        ({"customer": None}, "customer"),
    ],
)
def test_opportunity_update_refusals(stages, fields, field):
    from sales.services import opportunity_update

    deal = opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("100"), stage="qualify"
    )

    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=deal, **fields)

    assert field in excinfo.value.message_dict
    deal.refresh_from_db()
    assert (deal.amount, deal.stage_id) == (Decimal("100.00"), stages["qualify"].pk)


def test_order_update_changes_attribution_only():
    from sales.services import order_update

    order = order_create(customer=CustomerFactory(), ordered_at=T0, total=Decimal("10"))
    channel = ChannelFactory()

    order_update(order=order, channel=channel)
    with pytest.raises(ValidationError) as excinfo:
        order_update(order=order, total=Decimal("1"))

    assert "total" in excinfo.value.message_dict
    order.refresh_from_db()
    assert (order.channel_id, order.total) == (channel.pk, Decimal("10.00"))


def test_activity_update_keeps_the_record_and_the_done_date():
    from sales.services import activity_update

    activity = ActivityFactory(subject="Call")

    activity_update(activity=activity, subject=" Call back ", notes="Asked for a quote")
    with pytest.raises(ValidationError) as excinfo:
        activity_update(activity=activity, done_at=T0)
    with pytest.raises(ValidationError) as naive:
        activity_update(activity=activity, due_at=dt.datetime(2026, 1, 5, 10))  # noqa: DTZ001

    assert "done_at" in excinfo.value.message_dict
    assert "due_at" in naive.value.message_dict
    activity.refresh_from_db()
    assert (activity.subject, activity.notes, activity.done_at) == (
        "Call back",
        "Asked for a quote",
        None,
    )


def test_retention_case_update_is_refused_once_closed():
    from sales.services import retention_case_update

    case = retention_case_open(customer=CustomerFactory(), reason="Price", opened_at=T0)

    retention_case_update(case=case, cost=Decimal("50"), outreach="Called")
    with pytest.raises(ValidationError) as negative:
        retention_case_update(case=case, cost=Decimal("-1"))
    retention_case_close(case=case, outcome=RetentionCase.Outcome.RETAINED, closed_at=T0 + DAY)
    with pytest.raises(ValidationError, match="closed"):
        retention_case_update(case=case, reason="Changed")

    assert "cost" in negative.value.message_dict
    case.refresh_from_db()
    assert (case.cost, case.outreach, case.reason) == (Decimal("50.00"), "Called", "Price")


@pytest.mark.parametrize("kind", ["spend", "cost"])
def test_cost_rows_are_corrected_under_the_recording_rules(kind):
    from sales.services import marketing_spend_update, sales_cost_update

    start, end = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    row: MarketingSpend | SalesCost
    if kind == "spend":
        row = marketing_spend_record(period_start=start, period_end=end, amount=Decimal("10"))

        def update(**fields):
            return marketing_spend_update(spend=row, **fields)
    else:
        row = sales_cost_record(period_start=start, period_end=end, amount=Decimal("10"))

        def update(**fields):
            return sales_cost_update(cost=row, **fields)

    update(amount=Decimal("12.50"))
    with pytest.raises(ValidationError) as period:
        update(period_end=start)
    with pytest.raises(ValidationError) as negative:
        update(amount=Decimal("-1"))

    assert "period_end" in period.value.message_dict
    assert "amount" in negative.value.message_dict
    row.refresh_from_db()
    assert (row.amount, row.period_end) == (Decimal("12.50"), end)


def test_campaign_create_and_update_check_dates_and_budget():
    from sales.services import campaign_create, campaign_update

    campaign = campaign_create(
        name=" Spring ", starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 5, 31)
    )

    with pytest.raises(ValidationError) as dates:
        campaign_update(campaign=campaign, ends_on=dt.date(2026, 2, 1))
    with pytest.raises(ValidationError) as budget:
        campaign_create(name="Broke", budget=Decimal("-5"))
    campaign_update(campaign=campaign, budget=Decimal("500"))

    assert "ends_on" in dates.value.message_dict
    assert "budget" in budget.value.message_dict
    campaign.refresh_from_db()
    assert (campaign.name, campaign.ends_on, campaign.budget) == (
        "Spring",
        dt.date(2026, 5, 31),
        Decimal("500.00"),
    )


def test_a_stage_holding_deals_keeps_its_won_lost_meaning(stages):
    from sales.services import pipeline_stage_update

    opportunity_create(
        customer=CustomerFactory(), name="Deal", amount=Decimal("1"), stage="qualify"
    )

    with pytest.raises(ValidationError) as won:
        pipeline_stage_update(stage=stages["qualify"], is_won=True)
    with pytest.raises(ValidationError) as retired:
        pipeline_stage_update(stage=stages["qualify"], is_active=False)
    renamed = pipeline_stage_update(stage=stages["qualify"], name="Qualifying", position=3)
    empty = pipeline_stage_update(stage=stages["proposal"], is_won=True)

    assert "is_won" in won.value.message_dict
    assert "is_active" in retired.value.message_dict
    stages["qualify"].refresh_from_db()
    assert (renamed.name, stages["qualify"].is_won, stages["qualify"].is_active) == (
        "Qualifying",
        False,
        True,
    )
    assert empty.is_won


def test_pipeline_stage_create_refuses_won_and_lost_at_once():
    from sales.services import pipeline_stage_create

    with pytest.raises(ValidationError) as excinfo:
        pipeline_stage_create(code="odd", name="Odd", is_won=True, is_lost=True)

    assert "is_lost" in excinfo.value.message_dict


def test_deleting_the_acquiring_order_recomputes_the_customer():
    from sales.services import order_delete

    customer = CustomerFactory()
    first = order_create(customer=customer, ordered_at=T0, total=Decimal("10"))
    order_create(customer=customer, ordered_at=T0 + 3 * DAY, total=Decimal("10"))

    order_delete(order=first)

    customer.refresh_from_db()
    assert not Order.objects.filter(pk=first.pk).exists()
    assert customer.acquired_at == T0 + 3 * DAY


def test_deleting_the_only_order_returns_the_customer_to_prospect():
    from sales.services import order_delete

    customer = CustomerFactory()
    order = order_create(
        customer=customer,
        ordered_at=T0,
        lines=[{"product": ProductFactory(), "quantity": 1}],
    )

    order_delete(order=order)

    customer.refresh_from_db()
    assert (customer.acquired_at, customer.status) == (None, Customer.Status.PROSPECT)
    assert not OrderLine.objects.exists()


def test_deleting_a_converted_lead_recomputes_the_acquisition(stages):
    from sales.services import lead_delete

    lead = LeadFactory(created_at=T0)
    customer, _deal = lead_convert(lead=lead, converted_at=T0 + DAY, create_opportunity=False)
    order_create(customer=customer, ordered_at=T0 + 5 * DAY, total=Decimal("10"))

    lead_delete(lead=lead)

    customer.refresh_from_db()
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert customer.acquired_at == T0 + 5 * DAY

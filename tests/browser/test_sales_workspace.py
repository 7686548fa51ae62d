"""End to end in Chromium: a rep logs a call on a customer, converts a lead, and moves a deal
on the pipeline board by drag-and-drop; screenshots of the customer 360 and the board."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from sales.models import Activity, Lead, Opportunity, OpportunityStageChange
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import ContactFactory, CustomerFactory, UserFactory
from tests.sales.factories import (
    LeadFactory,
    OpportunityFactory,
    OrderFactory,
    PipelineStageFactory,
    ProductFactory,
)
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyResponseFactory

# serialized_rollback: the live server needs committed rows, and the role groups created by the
# data migration must be there again for the next transactional test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def stages() -> dict:
    return {
        "qualify": PipelineStageFactory(
            code="qualify", name="Qualify", position=1, probability=Decimal("0.2")
        ),
        "propose": PipelineStageFactory(
            code="propose", name="Proposal", position=2, probability=Decimal("0.6")
        ),
        "won": PipelineStageFactory(
            code="won", name="Won", position=3, probability=Decimal("1"), is_won=True
        ),
    }


def test_a_rep_logs_a_call_on_a_customer_and_converts_a_lead(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    stage = stages()["qualify"]
    customer = CustomerFactory(
        name="Acme Widgets",
        owner=rep,
        phone="+49 30 1234",
        rfm_segment="champion",
        rfm_recency=5,
        rfm_frequency=4,
        rfm_monetary=5,
        health_score=Decimal("82"),
        health_band="green",
    )
    ContactFactory(customer=customer, first_name="Ada", last_name="Lovelace", is_primary=True)
    now = timezone.now()
    OrderFactory(
        customer=customer, total=Decimal("1200.00"), ordered_at=now - dt.timedelta(days=20)
    )
    OrderFactory(customer=CustomerFactory(), total=Decimal("3600.00"), ordered_at=now)
    TicketFactory(
        customer=customer, subject="Invoice question", created_at=now - dt.timedelta(days=5)
    )
    SurveyResponseFactory(customer=customer, score=9, comment="Great service")
    deal = OpportunityFactory(customer=customer, owner=rep, stage=stage, name="Acme renewal")
    OpportunityStageChange.objects.create(opportunity=deal, to_stage=stage)
    lead = LeadFactory(owner=rep, name="Grace Hopper", company="Hopper Ltd")

    log_in(page, "rita")
    page.goto(reverse("customers:detail", args=[customer.pk]))
    # Share of revenue over 12 months: 1200 ÷ (1200 + 3600) → 25.00 %.
    assert page.get_by_test_id("figure-share").inner_text().startswith("25.00")

    # Click 1 picks "Call" (already the default), typing, click 2 saves.
    page.get_by_test_id("activity-subject").fill("Called about the renewal")
    page.get_by_test_id("activity-save").click()
    page.get_by_test_id("activity-logged").wait_for()
    page.locator("#customer-timeline >> text=Called about the renewal").wait_for()

    call = Activity.objects.get()
    assert (call.customer_id, call.owner_id, call.kind) == (customer.pk, rep.pk, "call")
    page.screenshot(path=str(screenshot_dir / "customer-360.png"), full_page=True)

    # A validation error is shown in place, and nothing more is saved.
    page.get_by_test_id("activity-save").click()
    page.locator(".activity-form .invalid-feedback").first.wait_for()
    assert Activity.objects.count() == 1

    page.goto(reverse("sales:lead_detail", args=[lead.pk]))
    page.get_by_test_id("convert-lead").click()
    page.fill("#id_opportunity_amount", "5000")
    page.screenshot(path=str(screenshot_dir / "lead-convert.png"), full_page=True)
    page.get_by_test_id("confirm-convert").click()
    page.wait_for_load_state("networkidle")

    converted = Customer.objects.get(name="Hopper Ltd")
    assert page.url.endswith(reverse("customers:detail", args=[converted.pk]))
    assert page.get_by_text("Lead converted").is_visible()
    assert Lead.objects.get(pk=lead.pk).status == "converted"
    assert Opportunity.objects.get(lead=lead).amount == Decimal("5000.00")

    # The customer 360 in Simplified Chinese: the same figures, translated headings.
    page.goto(reverse("customers:detail", args=[customer.pk]))
    use_language(page, "zh-hans")
    assert page.url.endswith(reverse("customers:detail", args=[customer.pk]))
    assert page.get_by_role("heading", name="记录一条活动").is_visible()  # "Log an activity"
    assert page.get_by_test_id("figure-share").inner_text().startswith("25.00")
    page.locator("#customer-timeline >> text=Called about the renewal").wait_for()
    page.screenshot(path=str(screenshot_dir / "customer-360-zh-hans.png"), full_page=True)


def test_a_rep_drags_a_deal_to_the_next_stage_on_the_board(page, screenshot_dir):
    rep = UserFactory(username="rita", role="Sales rep")
    pipeline = stages()
    customer = CustomerFactory(name="Globex", owner=rep)
    deal = OpportunityFactory(
        customer=customer,
        owner=rep,
        stage=pipeline["qualify"],
        name="Globex expansion",
        amount=Decimal("4000.00"),
        probability=Decimal("0.2"),
        expected_close_date=timezone.localdate() + dt.timedelta(days=14),
    )
    OpportunityFactory(
        customer=customer,
        owner=rep,
        stage=pipeline["propose"],
        name="Globex support plan",
        amount=Decimal("1500.00"),
        probability=Decimal("0.6"),
    )
    OpportunityFactory(
        customer=customer,
        owner=rep,
        stage=pipeline["won"],
        name="Globex pilot",
        amount=Decimal("900.00"),
        probability=Decimal("1"),
        outcome="won",
        closed_at=timezone.now(),
    )

    log_in(page, "rita")
    page.goto(reverse("sales:pipeline"))
    page.screenshot(path=str(screenshot_dir / "pipeline-board.png"), full_page=True)

    page.drag_and_drop(
        f"[data-testid=deal-{deal.pk}]", "[data-testid=stage-propose] .pipeline-dropzone"
    )
    page.wait_for_load_state("networkidle")
    page.locator(f"[data-testid=stage-propose] [data-testid=deal-{deal.pk}]").wait_for()

    deal.refresh_from_db()
    assert deal.stage_id == pipeline["propose"].pk
    change = OpportunityStageChange.objects.get(opportunity=deal)
    assert change.from_stage_id == pipeline["qualify"].pk
    # Proposal column: 4000 × 0.6 + 1500 × 0.6 → 3,300.00.
    assert page.get_by_test_id("weighted-propose").inner_text() == "3,300.00"

    # The board in Simplified Chinese.
    use_language(page, "zh-hans")
    assert page.url.endswith(reverse("sales:pipeline"))
    assert page.locator("h1").inner_text() == "销售管道"  # "Pipeline"
    assert page.locator(f"[data-testid=stage-propose] [data-testid=deal-{deal.pk}]").is_visible()
    page.screenshot(path=str(screenshot_dir / "pipeline-board-zh-hans.png"), full_page=True)


def test_a_rep_works_through_my_day_and_enters_an_order(page, screenshot_dir):
    rep = UserFactory(username="rita", role="Sales rep")
    pipeline = stages()
    now = timezone.now()
    customer = CustomerFactory(
        name="Initech",
        owner=rep,
        rfm_segment="at_risk",
        health_score=Decimal("38"),
        health_band="red",
    )
    CustomerFactory(name="Umbrella", owner=rep, health_score=Decimal("91"), health_band="green")
    Activity.objects.create(
        kind="task",
        subject="Send the revised offer",
        customer=customer,
        owner=rep,
        due_at=now - dt.timedelta(days=1),
    )
    Activity.objects.create(
        kind="meeting",
        subject="Quarterly review",
        customer=customer,
        owner=rep,
        due_at=now + dt.timedelta(days=2),
    )
    LeadFactory(owner=rep, name="Katherine Johnson", company="Langley Labs")
    OpportunityFactory(
        customer=customer,
        owner=rep,
        stage=pipeline["propose"],
        name="Initech licences",
        expected_close_date=timezone.localdate() + dt.timedelta(days=10),
    )
    product = ProductFactory(name="Pulse seat", unit_price=Decimal("49.00"))

    log_in(page, "rita")
    page.goto(reverse("sales:my_day"))
    assert "Send the revised offer" in page.get_by_test_id("my-day-overdue").inner_text()
    assert "Initech" in page.get_by_test_id("my-day-at-risk").inner_text()
    assert "Umbrella" not in page.get_by_test_id("my-day-at-risk").inner_text()
    page.screenshot(path=str(screenshot_dir / "my-day.png"), full_page=True)
    page.get_by_test_id("my-day-overdue").get_by_role("button", name="Done").click()
    page.wait_for_load_state("networkidle")
    assert "Send the revised offer" not in page.get_by_test_id("my-day-overdue").inner_text()

    page.goto(reverse("sales:lead_list"))
    page.screenshot(path=str(screenshot_dir / "leads.png"), full_page=True)

    page.goto(reverse("customers:list") + "?health_band=red")
    assert page.get_by_role("link", name="Initech").is_visible()
    assert page.get_by_role("link", name="Umbrella").count() == 0
    page.screenshot(path=str(screenshot_dir / "customer-list-filtered.png"), full_page=True)

    page.goto(reverse("customers:detail", args=[customer.pk]))
    page.get_by_test_id("new-order").click()
    page.select_option("#id_lines-0-product", str(product.pk))
    page.fill("#id_lines-0-quantity", "4")
    page.screenshot(path=str(screenshot_dir / "order-entry.png"), full_page=True)
    page.get_by_test_id("save-order").click()
    page.wait_for_load_state("networkidle")

    order = customer.orders.get()
    # 4 × 49.00 list price → 196.00.
    assert order.total == Decimal("196.00")
    assert page.url.endswith(reverse("customers:detail", args=[customer.pk]))
    assert page.locator("#customer-timeline [data-kind=order]").count() == 1

"""End to end in Chromium: a rep creates a deal from a pipeline column's "+", wins it and enters
its order; an agent opens a ticket for a phone call, replies with a canned response and merges a
duplicate ticket. Screenshots of each page in English and Simplified Chinese."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Team
from sales.models import Opportunity, PipelineStage
from support.models import CannedResponse, Ticket, TicketMessage
from support.services import ticket_create
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import ContactFactory, CustomerFactory, UserFactory
from tests.sales.factories import PipelineStageFactory, ProductFactory

# serialized_rollback: the live server needs committed rows, and the rows of the data migrations
# (role groups, close reasons) must be there again for the next transactional test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def shoot(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)


def test_a_rep_creates_a_deal_from_the_pipeline_wins_it_and_enters_the_order(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    team = Team.objects.create(name="North")
    team.members.add(rep)
    PipelineStageFactory(code="qualify", name="Qualify", position=1, probability=Decimal("0.2"))
    proposal = PipelineStageFactory(
        code="propose", name="Proposal", position=2, probability=Decimal("0.6")
    )
    PipelineStageFactory(code="won", name="Won", position=3, probability=Decimal("1"), is_won=True)
    customer = CustomerFactory(name="Globex Corporation", owner=rep, team=team)
    product = ProductFactory(name="Widget Pro", unit_price=Decimal("250.00"))

    log_in(page, "rita")
    page.goto(reverse("sales:pipeline"))
    page.get_by_test_id("new-deal-propose").click()
    page.fill("#find-customer", "globex")
    page.click("[data-testid=customer-search] button[type=submit]")
    shoot(page, screenshot_dir, "deal-new-customer-search")
    page.get_by_role("link", name="Globex Corporation").click()

    # The column's stage is pre-selected; the rep fills in the deal.
    assert page.input_value("#id_stage") == str(proposal.pk)
    page.fill("#id_name", "Globex rollout")
    page.fill("#id_amount", "-10")
    page.get_by_test_id("save-deal").click()
    assert page.get_by_test_id("error-amount").inner_text() == "The amount cannot be negative."
    assert not Opportunity.objects.exists()
    page.fill("#id_amount", "1000")
    page.fill("#id_expected_close_date", "2027-01-29")
    shoot(page, screenshot_dir, "deal-new")
    page.get_by_test_id("save-deal").click()
    page.wait_for_load_state("networkidle")

    deal = Opportunity.objects.get()
    assert (deal.stage_id, deal.amount, deal.customer_id) == (
        proposal.pk,
        Decimal("1000.00"),
        customer.pk,
    )
    assert page.url.endswith(reverse("sales:opportunity_detail", args=[deal.pk]))

    # Edit the next step, then win it.
    page.get_by_test_id("edit-deal").click()
    page.fill("#id_next_step", "Sign the contract on Friday")
    shoot(page, screenshot_dir, "deal-edit")
    page.get_by_test_id("save-deal").click()
    assert page.get_by_test_id("next-step").inner_text() == "Sign the contract on Friday"
    page.get_by_test_id("deal-won").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("deal-outcome").inner_text() == "Won"
    deal.refresh_from_db()
    assert deal.outcome == Opportunity.Outcome.WON
    shoot(page, screenshot_dir, "deal-won")

    # The won deal offers its order.
    page.get_by_test_id("deal-enter-order").click()
    page.select_option("#id_lines-0-product", str(product.pk))
    page.fill("#id_lines-0-quantity", "4")
    page.get_by_test_id("save-order").click()
    page.wait_for_load_state("networkidle")
    order = customer.orders.get()
    assert order.total == Decimal("1000.00")  # 4 × 250.00 list price
    page.get_by_test_id("order-link").first.click()
    assert page.get_by_test_id("order-total").inner_text().startswith("1,000.00")
    shoot(page, screenshot_dir, "order-page")

    # The same pages in Simplified Chinese.
    use_language(page, "zh-hans")
    assert page.get_by_test_id("order-status").inner_text() == "已完成"  # "Completed"
    shoot(page, screenshot_dir, "order-page-zh-hans")
    page.goto(reverse("sales:deal_edit", args=[deal.pk]))
    shoot(page, screenshot_dir, "deal-edit-zh-hans")
    page.goto(
        reverse("sales:deal_create")
        + f"?customer={customer.pk}&stage={PipelineStage.objects.get(code='qualify').pk}"
    )
    assert page.get_by_test_id("save-deal").inner_text() == "创建商机"  # "Create deal"
    shoot(page, screenshot_dir, "deal-new-zh-hans")
    page.goto(reverse("sales:opportunity_detail", args=[deal.pk]))
    shoot(page, screenshot_dir, "deal-won-zh-hans")


def test_an_agent_opens_a_phone_ticket_replies_with_a_canned_response_and_merges_a_duplicate(
    page, screenshot_dir
):
    agent = UserFactory(username="alex", first_name="Alex", last_name="Agent", role="Support agent")
    team = Team.objects.create(name="Helpdesk")
    team.members.add(agent)
    customer = CustomerFactory(name="Initech", team=team)
    contact = ContactFactory(customer=customer, first_name="Peter", last_name="Gibbons")
    CannedResponse.objects.create(
        name="Looking into it",
        body="Hello {customer_name}, ticket {ticket_number} is with me. {agent_name}",
    )
    duplicate = ticket_create(
        customer=customer, subject="Printer jam (e-mail)", body="The printer jams.", team=team
    )

    log_in(page, "alex")
    page.goto(reverse("support:index"))
    page.get_by_test_id("new-ticket").click()
    page.fill("#find-customer", "initech")
    page.click("[data-testid=customer-search] button[type=submit]")
    page.get_by_role("link", name="Initech").click()

    page.fill("#id_subject", "Printer jam")
    page.select_option("#id_contact", str(contact.pk))
    page.select_option("#id_category", Ticket.Category.PROBLEM)
    page.select_option("#id_priority", "high")
    page.fill("#id_body", "Peter called: the printer on floor 3 jams on every page.")
    assert page.input_value("#id_channel") == Ticket.Channel.PHONE
    shoot(page, screenshot_dir, "ticket-new")
    page.get_by_test_id("save-ticket").click()
    page.wait_for_load_state("networkidle")
    ticket = Ticket.objects.exclude(pk=duplicate.pk).get()
    assert (ticket.channel, ticket.priority, ticket.assignee_id, ticket.contact_id) == (
        "phone",
        "high",
        agent.pk,
        contact.pk,
    )

    # The canned response fills the reply box with the contact's name, the number, the agent.
    page.select_option("[data-testid=canned-select]", label="Looking into it")
    expected = f"Hello Peter, ticket #{ticket.pk} is with me. Alex Agent"
    assert page.input_value("[data-testid=message-body]") == expected
    page.click("[data-testid=send-reply]")
    # The agent's opening message is a reply too: wait for the second one, swapped in by htmx.
    page.locator("[data-message-kind=reply]").nth(1).wait_for()
    agent_messages = ticket.messages.filter(author_kind=TicketMessage.AuthorKind.AGENT)
    assert expected in [message.body for message in agent_messages]  # bodies are encrypted
    shoot(page, screenshot_dir, "ticket-replied")

    # Merge the e-mailed duplicate into the phone ticket after comparing both.
    page.get_by_test_id("merge-ticket").click()
    page.get_by_test_id("merge-candidates").get_by_role("link").first.click()
    assert "The printer jams." in page.get_by_test_id("merge-compare").inner_text()
    shoot(page, screenshot_dir, "ticket-merge")
    page.get_by_test_id("confirm-merge").click()
    page.wait_for_load_state("networkidle")
    duplicate.refresh_from_db()
    assert (duplicate.merged_into_id, duplicate.status) == (ticket.pk, Ticket.Status.CLOSED)
    assert page.url.endswith(reverse("support:ticket_detail", args=[ticket.pk]))

    # The same pages in Simplified Chinese.
    use_language(page, "zh-hans")
    shoot(page, screenshot_dir, "ticket-replied-zh-hans")
    page.goto(reverse("support:ticket_create") + f"?customer={customer.pk}")
    assert page.get_by_test_id("save-ticket").inner_text() == "创建工单"  # "Open ticket"
    shoot(page, screenshot_dir, "ticket-new-zh-hans")
    page.goto(reverse("support:ticket_edit", args=[ticket.pk]))
    shoot(page, screenshot_dir, "ticket-edit-zh-hans")
    page.goto(reverse("support:ticket_merge", args=[ticket.pk]) + f"?duplicate={duplicate.pk}")
    shoot(page, screenshot_dir, "ticket-merge-zh-hans")

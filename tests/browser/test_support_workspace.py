"""End to end in Chromium: an agent works a ticket from the queue to solved."""

import pytest
from django.urls import reverse

from crm.notifications import notification_create
from support.models import CannedResponse, Ticket
from support.services import ticket_create
from tests.browser.conftest import log_in
from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory, UserFactory
from tests.support.factories import BusinessScheduleFactory, SLAPolicyFactory
from tests.surveys.factories import SurveyResponseFactory

# serialized_rollback: the live server needs committed rows, and the role groups created by the
# data migration must be there again for the next transactional test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def waiting_ticket() -> Ticket:
    """A new ticket in Agnes's team under a 60/600-minute policy (a schedule without hours runs
    around the clock), from a customer with a segment, a health score and an NPS answer."""
    agent = UserFactory(username="agnes", first_name="Agnes", role="Support agent")
    team = TeamFactory(name="Helpdesk")
    team.members.add(agent)
    SLAPolicyFactory(
        name="Standard",
        schedule=BusinessScheduleFactory(name="Around the clock"),
        first_response_minutes=60,
        resolution_minutes=600,
        warning_minutes=30,
    )
    customer = CustomerFactory(
        name="Acme Widgets",
        segment=SegmentFactory(name="Enterprise"),
        health_score=58,
        health_band="yellow",
    )
    SurveyResponseFactory(customer=customer, score=6, comment="Support is slow lately.")
    CannedResponse.objects.create(name="Apology", body="Dear {customer_name}, sorry about that.")
    return ticket_create(
        customer=customer,
        subject="Invoice PDF is empty",
        body="The invoice I downloaded this morning has no pages.",
        team=team,
    )


def test_an_agent_replies_solves_and_sees_the_sla_clock_stop(page, waiting_ticket, screenshot_dir):
    log_in(page, "agnes")

    # The queue: the ticket is in "My team" with a running SLA badge.
    page.goto(f"{reverse('support:index')}?view=team")
    row = page.locator(f"tr[data-ticket='{waiting_ticket.pk}']")
    assert row.locator("[data-testid=sla-badge]").get_attribute("data-sla-state") == "on_track"
    page.screenshot(path=str(screenshot_dir / "support-queue.png"), full_page=True)
    row.get_by_role("link", name="Invoice PDF is empty").click()
    page.wait_for_load_state("networkidle")

    first_response = page.locator("[data-testid=sla-first_response]")
    resolution = page.locator("[data-testid=sla-resolution]")
    assert first_response.get_attribute("data-state") == "running"
    assert resolution.get_attribute("data-state") == "running"
    assert page.locator("[data-testid=context-segment]").inner_text() == "Enterprise"

    # An internal note first: it is marked as such and does not stop the first-response clock.
    page.fill("[data-testid=message-body]", "Probably the PDF renderer again.")
    page.click("[data-testid=add-note]")
    page.locator("[data-message-kind=note]").wait_for()
    assert page.locator("[data-testid=sla-first_response]").get_attribute("data-state") == "running"

    # A canned response fills the reply box with its placeholders resolved.
    page.select_option("[data-testid=canned-select]", label="Apology")
    assert page.input_value("[data-testid=message-body]") == "Dear Acme Widgets, sorry about that."

    # The public reply (htmx, in place): the first-response clock stops, met.
    page.fill("[data-testid=message-body]", "Sorry about that, a fixed invoice is on its way.")
    page.click("[data-testid=send-reply]")
    page.locator("[data-message-kind=reply]").wait_for()
    page.locator("[data-testid=sla-first_response][data-state=met]").wait_for()
    assert page.locator("[data-testid=ticket-status]").inner_text() == "Open"
    assert page.locator("[data-testid=sla-resolution]").get_attribute("data-state") == "running"

    # Solve: the resolution clock stops too.
    page.click("[data-testid=status-solved]")
    page.locator("[data-testid=sla-resolution][data-state=met]").wait_for()
    assert page.locator("[data-testid=sla-resolution-flag]").inner_text() == "Stopped"
    assert page.locator("[data-testid=ticket-status]").inner_text() == "Solved"
    assert page.locator("[data-testid=ticket-notice]").is_visible()
    page.screenshot(path=str(screenshot_dir / "support-ticket.png"), full_page=True)

    waiting_ticket.refresh_from_db()
    assert waiting_ticket.status == Ticket.Status.SOLVED
    assert waiting_ticket.sla_first_response_met is True
    assert waiting_ticket.sla_resolution_met is True
    assert list(waiting_ticket.messages.values_list("is_public", flat=True)) == [True, False, True]


def test_the_ticket_page_in_chinese(page, waiting_ticket, screenshot_dir):
    log_in(page, "agnes")
    page.goto(reverse("support:ticket_detail", kwargs={"pk": waiting_ticket.pk}))
    page.select_option("[data-testid=language-form] select[name=language]", "zh-hans")
    page.click("[data-testid=language-form] button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="对话").is_visible()  # "Conversation"
    assert page.locator("[data-testid=sla-resolution]").get_attribute("data-state") == "running"
    page.screenshot(path=str(screenshot_dir / "support-ticket-zh-hans.png"), full_page=True)


def test_the_navbar_search_finds_the_ticket_as_you_type(page, waiting_ticket, screenshot_dir):
    log_in(page, "agnes")

    page.fill("#global-search-input", "invoice pdf")
    hit = page.locator("#global-search-results [data-testid=search-hit]").first
    hit.wait_for()
    page.screenshot(path=str(screenshot_dir / "global-search.png"))
    hit.click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(reverse("support:ticket_detail", kwargs={"pk": waiting_ticket.pk}))


def test_the_bell_leads_to_the_assigned_ticket(page, waiting_ticket, screenshot_dir):
    agnes = UserFactory(username="agnes")
    notification_create(
        user=agnes,
        kind="assignment",
        title=f"Ticket #{waiting_ticket.pk} was assigned to you",
        body=waiting_ticket.subject,
        link=reverse("support:ticket_detail", kwargs={"pk": waiting_ticket.pk}),
        send_email=False,
    )
    log_in(page, "agnes")

    assert page.locator("[data-testid=unread-count]").inner_text() == "1"
    page.click("[data-testid=notification-bell]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "notifications.png"), full_page=True)
    page.click("[data-testid=notification-open]")
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(reverse("support:ticket_detail", kwargs={"pk": waiting_ticket.pk}))
    assert page.locator("[data-testid=unread-count]").count() == 0


def test_an_admin_finds_the_settings_pages(page, screenshot_dir):
    UserFactory(username="ada", role="Admin")
    log_in(page, "ada")

    page.click("[data-testid=nav-administration]")
    page.get_by_role("link", name="Overview of settings").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "administration.png"), full_page=True)
    page.get_by_role("link", name="SLA policies").click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(reverse("admin:support_slapolicy_changelist"))

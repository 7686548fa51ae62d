"""End to end in Chromium: an agent attaches a PDF to a ticket and downloads it again; a rep
reads a customer's History tab after an edit. Screenshots in English and Chinese."""

from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from attachments.models import Attachment
from customers.services import customer_update
from support.services import ticket_create
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def wait_for_tab(page, pane: str) -> None:
    """Bootstrap fades a tab in; screenshots wait until it is fully shown."""
    page.wait_for_function(
        """(pane) => {
            const el = document.getElementById(pane);
            return el.classList.contains('show') && getComputedStyle(el).opacity === '1';
        }""",
        arg=pane,
    )


def test_an_agent_attaches_a_pdf_to_a_ticket_and_downloads_it(page, tmp_path, screenshot_dir):
    agent = UserFactory(username="agnes", first_name="Agnes", role="Support agent")
    team = TeamFactory(name="Helpdesk")
    team.members.add(agent)
    customer = CustomerFactory(name="Acme Widgets", phone="+49 30 1234-567", team=team)
    ticket = ticket_create(
        customer=customer,
        subject="Phone call: invoice",
        body="Called about the invoice.",
        team=team,
    )
    invoice = tmp_path / "invoice-2026-12.pdf"
    invoice.write_bytes(PDF)
    log_in(page, "agnes")

    page.goto(reverse("support:ticket_detail", args=[ticket.pk]))
    page.set_input_files("[data-testid=attachment-form] input[type=file]", str(invoice))
    page.click("[data-testid=attachment-submit]")
    page.wait_for_load_state("networkidle")

    listed = page.locator("[data-testid=attachment-download]")
    assert listed.count() == 1
    assert listed.inner_text() == "invoice-2026-12.pdf"
    assert Attachment.objects.get().uploaded_by_id == agent.pk
    # The customer's phone is a tel: link in the ticket's context card.
    assert page.locator("a[href='tel:+49301234567']").count() == 1
    page.screenshot(path=str(screenshot_dir / "ticket-attachments-en.png"), full_page=True)

    with page.expect_download() as download_info:
        listed.click()
    download = download_info.value
    assert download.suggested_filename == "invoice-2026-12.pdf"
    assert Path(download.path()).read_bytes() == PDF

    use_language(page, "zh-hans")
    assert page.locator("[data-testid=tab-attachments]").inner_text().startswith("文件")
    page.screenshot(path=str(screenshot_dir / "ticket-attachments-zh-hans.png"), full_page=True)


def test_a_rep_reads_a_customers_history_after_an_edit(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role="Sales rep")
    team = TeamFactory(name="North")
    team.members.add(rep)
    customer = CustomerFactory(name="Acme", team=team)
    customer_update(customer=customer, actor=rep, name="Acme GmbH")
    log_in(page, "rita")

    page.goto(reverse("customers:detail", args=[customer.pk]))
    page.click("[data-testid=tab-history]")
    wait_for_tab(page, "history")
    history = page.locator("#history")
    if connection.vendor == "postgresql":
        newest = page.locator("[data-testid=history-entry]").first
        assert "Rita Rep" in newest.inner_text()
        assert (
            newest.locator("[data-testid=history-change]").first.inner_text() == "Acme → Acme GmbH"
        )
    else:
        assert "SQLite" in history.inner_text()
    page.screenshot(path=str(screenshot_dir / "customer-history-en.png"), full_page=True)

    use_language(page, "zh-hans")
    page.click("[data-testid=tab-history]")
    wait_for_tab(page, "history")
    if connection.vendor == "postgresql":
        page.click("[data-testid=history-all]")
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-testid=history-title]").inner_text() == "Acme GmbH 的历史"
    page.screenshot(path=str(screenshot_dir / "customer-history-zh-hans.png"), full_page=True)

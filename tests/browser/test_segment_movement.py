"""End to end in Chromium: a manager opens segment movement, picks two quarters, reads where the
high-frequency customers went and drills into a cell; in English and in Chinese."""

import pytest
from django.urls import reverse

from customers.models import Customer, Team
from kpis import post_compute
from kpis.engine import compute_range
from sales.models import RetentionCase
from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.customers.factories import UserFactory
from tests.kpis.test_segment_history import NOW, Q1, SEGMENT_KPIS, YEAR_END, build_company

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def company(monkeypatch):
    """The four quarters of 2025 of test_segment_history, in Maria's team, computed."""
    maria = UserFactory(username="maria", first_name="Maria", role="Manager")
    team = Team.objects.create(name="North", manager=maria)
    build_company()
    Customer.objects.update(team=team)
    # Health, index and alerts are not what this page reads.
    monkeypatch.setattr(post_compute, "after_period_computed", lambda **kwargs: None)
    compute_range(
        granularity="quarter", start=Q1, end=YEAR_END, kpi_keys=["revenue", *SEGMENT_KPIS], now=NOW
    )


def open_q1_to_q2(page) -> None:
    page.goto(reverse("kpis:segment_movement"))
    page.select_option("#movement-from", "2025-01-01")
    page.select_option("#movement-to", "2025-04-01")
    page.click("[data-testid=movement-filters] button[type=submit]")
    page.wait_for_load_state("networkidle")
    wait_for_charts(page)


def column_headers(page) -> list[str]:
    """The movement table's column headers, to find a column by its segment."""
    headers = page.eval_on_selector_all(
        "[data-testid=movement-table] thead th", "(hs) => hs.map((h) => h.innerText.trim())"
    )
    return headers


def test_manager_reads_the_movement_and_drills_into_a_cell(page, company, screenshot_dir):
    log_in(page, "maria")
    open_q1_to_q2(page)

    assert "Q1 2025" in page.inner_text("h1 + p")
    headers = column_headers(page)
    cell = (
        "[data-testid=movement-row-high_frequency] "
        f"td:nth-child({headers.index('Dormant') + 1}) a[data-testid=movement-cell]"
    )
    # 3 high-frequency in Q1 → 2 still high-frequency, 1 dormant in Q2
    assert page.inner_text(cell) == "1 customer"
    stayed = (
        "[data-testid=movement-row-high_frequency] "
        f"td:nth-child({headers.index('High-frequency') + 1}) a[data-testid=movement-cell]"
    )
    assert page.inner_text(stayed) == "2 customers"
    page.screenshot(path=str(screenshot_dir / "segment-movement-en.png"), full_page=True)

    page.click(cell)
    page.wait_for_load_state("networkidle")
    assert page.inner_text("[data-testid=record-count]") == "1 customer"
    assert page.inner_text("[data-testid=movement-customers] tbody").startswith("H3")
    page.screenshot(path=str(screenshot_dir / "segment-movement-cell-en.png"), full_page=True)

    # the cell's action: a retention case for H3, through the bulk-action engine
    page.fill("#bulk-open_retention_case-reason", "Back to buying every fortnight?")
    page.screenshot(path=str(screenshot_dir / "segment-movement-cell-cases-en.png"), full_page=True)
    page.click("[data-testid=movement-open-cases-submit]")
    page.wait_for_load_state("networkidle")
    assert "1 record changed." in page.inner_text("[data-testid=bulk-result]")
    assert RetentionCase.objects.get().customer.name == "H3"

    use_language(page, "zh-hans")
    open_q1_to_q2(page)
    assert page.inner_text("h1") == "细分迁移"
    headers = column_headers(page)
    cell = (
        "[data-testid=movement-row-high_frequency] "
        f"td:nth-child({headers.index('休眠') + 1}) a[data-testid=movement-cell]"
    )
    assert page.inner_text(cell) == "1 个客户"
    page.screenshot(path=str(screenshot_dir / "segment-movement-zh.png"), full_page=True)
    page.click(cell)
    page.wait_for_load_state("networkidle")
    assert page.inner_text("[data-testid=movement-customers] tbody").startswith("H3")
    assert page.is_visible("[data-testid=movement-open-cases-submit]")
    page.screenshot(path=str(screenshot_dir / "segment-movement-cell-zh.png"), full_page=True)

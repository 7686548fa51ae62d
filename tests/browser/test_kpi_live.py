"""End to end in Chromium: a manager keeps the overview open; a KPI run lands; the card's figure
changes without a reload and a badge says when; in English and in Chinese (issue 16 §3)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.engine import compute_period
from kpis.periods import last_closed_period
from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CARD = "#kpi-customers_new"


def acquire_and_compute(name: str) -> None:
    """One more customer acquired in the last closed month, then that month's KPI run."""
    start, _end = last_closed_period("month")
    noon = timezone.make_aware(dt.datetime.combine(start, dt.time(12)))
    CustomerFactory(name=name, acquired_at=noon)
    compute_period(granularity="month", period_start=start, kpi_keys=["customers_new"])


def wait_for_card_value(page, value: str) -> None:
    page.wait_for_function(
        "value => document.querySelector('#kpi-customers_new [data-testid=kpi-value]')"
        ".textContent.trim() === value",
        arg=value,
        timeout=30_000,
    )


def test_a_new_run_swaps_the_figures_in_without_a_reload(page, settings, screenshot_dir):
    settings.KPI_LIVE_POLL_SECONDS = 1
    UserFactory(username="maria", first_name="Maria", role="Manager")
    acquire_and_compute("First")
    log_in(page, "maria")
    page.goto(reverse("kpis:overview"))
    wait_for_charts(page)
    assert page.inner_text(f"{CARD} [data-testid=kpi-value]") == "1"
    assert page.locator("[data-testid=freshness-updated]").is_hidden()
    # A reload would drop this marker: it proves the figures change in place.
    page.evaluate("() => { window.__sameDocument = true; }")

    acquire_and_compute("Second")

    # 1 customer acquired in the month, then 2 after the second run: 1 + 1 → 2.
    wait_for_card_value(page, "2")
    assert page.evaluate("() => window.__sameDocument") is True
    badge = page.locator("[data-testid=freshness-updated]")
    assert badge.is_visible()
    assert badge.inner_text().startswith("figures updated at ")
    wait_for_charts(page)
    assert page.inner_text("[data-testid=freshness-text]").startswith("computed ")
    page.screenshot(path=str(screenshot_dir / "overview-live-en.png"), full_page=True)

    use_language(page, "zh-hans")
    page.goto(reverse("kpis:overview"))
    wait_for_charts(page)
    page.evaluate("() => { window.__sameDocument = true; }")

    acquire_and_compute("Third")

    wait_for_card_value(page, "3")
    assert page.evaluate("() => window.__sameDocument") is True
    assert "数据已于" in page.inner_text("[data-testid=freshness-updated]")
    wait_for_charts(page)
    page.screenshot(path=str(screenshot_dir / "overview-live-zh.png"), full_page=True)

"""End to end in Chromium: a manager opens the overview on the last closed month, sees the open
month "so far" and how fresh the figures are, recomputes now and follows the progress bar to the
end; in English and in Chinese."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from kpis.engine import compute_period
from kpis.periods import current_period, last_closed_period, period_label, previous_period
from kpis.recompute import THROTTLE_KEY
from kpis.tasks import beat_schedule_install
from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def recompute_now(page) -> None:
    """Click "recompute now". Without a broker the KPI runs happen inside the POST, which takes
    longer than a click's default wait on a busy machine."""
    with page.expect_navigation(timeout=180_000):
        page.click("[data-testid=recompute-now]")
    page.wait_for_load_state("networkidle")


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


@pytest.fixture
def months():
    """New customers in three months: 1 the month before last, 2 in the last closed month,
    1 so far in the open month; each month computed, the open one with its like-for-like."""
    cache.delete(THROTTLE_KEY)
    beat_schedule_install()
    UserFactory(username="maria", first_name="Maria", role="Manager")
    open_start, _open_end = current_period("month")
    closed_start, _closed_end = last_closed_period("month")
    before_start, _before_end = previous_period("month", closed_start)
    CustomerFactory(name="Before", acquired_at=at_noon(before_start))
    for day in (closed_start, closed_start + dt.timedelta(days=1)):
        CustomerFactory(name=f"Closed {day}", acquired_at=at_noon(day))
    CustomerFactory(name="Open", acquired_at=timezone.now() - dt.timedelta(minutes=1))
    for start in (before_start, closed_start, open_start):
        compute_period(granularity="month", period_start=start, kpi_keys=["customers_new"])
    yield {"open": open_start, "closed": closed_start}
    cache.delete(THROTTLE_KEY)


def test_manager_reads_the_closed_month_and_recomputes_now(page, months, screenshot_dir):
    card = "#kpi-customers_new"
    log_in(page, "maria")
    page.goto(reverse("kpis:overview"))
    wait_for_charts(page)

    # The last closed month, compared with the month before: 2 against 1.
    assert page.inner_text(f"{card} [data-testid=kpi-period]") == period_label(
        "month", months["closed"]
    )
    assert page.inner_text(f"{card} [data-testid=kpi-value]") == "2"
    assert page.inner_text(f"{card} [data-testid=kpi-change]").startswith("+1")
    so_far = page.inner_text(f"{card} [data-testid=kpi-so-far]")
    assert period_label("month", months["open"]) + " so far (" in so_far
    freshness = page.inner_text("[data-testid=freshness-text]")
    assert freshness.startswith("computed ")
    assert " · next run in " in freshness
    page.screenshot(path=str(screenshot_dir / "overview-freshness-en.png"), full_page=True)

    recompute_now(page)
    assert "recompute=" in page.url
    page.wait_for_function(
        "() => document.querySelector('[data-testid=recompute-progress]')"
        ".dataset.state === 'finished'"
    )
    assert page.inner_text("[data-testid=recompute-bar]") == "100 %"
    assert page.inner_text("[data-testid=recompute-text]").startswith("Recomputed")
    page.screenshot(path=str(screenshot_dir / "overview-recompute-en.png"), full_page=True)

    page.click("[data-testid=recompute-reload]")
    page.wait_for_load_state("networkidle")
    assert "recompute=" not in page.url
    assert page.inner_text("[data-testid=freshness-text]").startswith("computed ")

    # A second click within the throttle is refused with a message, nothing queued.
    page.click("[data-testid=recompute-now]")
    page.wait_for_load_state("networkidle")
    assert "recompute=" not in page.url
    assert "try again in" in page.inner_text("body")

    use_language(page, "zh-hans")
    page.goto(reverse("kpis:overview"))
    wait_for_charts(page)
    assert "至今" in page.inner_text(f"{card} [data-testid=kpi-so-far]")
    assert "下次运行" in page.inner_text("[data-testid=freshness-text]")
    page.screenshot(path=str(screenshot_dir / "overview-freshness-zh.png"), full_page=True)
    cache.delete(THROTTLE_KEY)  # the throttle's time has passed
    recompute_now(page)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=recompute-progress]')"
        ".dataset.state === 'finished'"
    )
    assert page.inner_text("[data-testid=recompute-text]").startswith("已重新计算")
    page.screenshot(path=str(screenshot_dir / "overview-recompute-zh.png"), full_page=True)

"""End to end in Chromium: a rep sets a deal's forecast category on the deal page, then reads
the forecast page (table, chart, current period by category); screenshots in English and
Chinese."""

import pytest
import time_machine
from django.urls import reverse

from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.sales.forecast_pipeline import build_forecast_world, local

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_calls_a_deal_and_reads_the_forecast(page, screenshot_dir):
    world = build_forecast_world()
    with time_machine.travel(local(2026, 4, 15), tick=True):
        log_in(page, "bo")
        page.goto(reverse("sales:opportunity_detail", args=[world.deals["D4"].pk]))
        page.select_option("#forecast-category-select", "best_case")
        page.click("[data-testid=forecast-category-form] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.get_by_test_id("forecast-category").inner_text() == "Best case"

        page.click("[data-testid=sales-nav] >> text=Forecast")
        page.wait_for_load_state("networkidle")
        wait_for_charts(page)
        assert page.url.endswith(reverse("sales:forecast"))
        january = page.get_by_test_id("period-2026-01-01").inner_text()
        # Bo's January: forecast 3,000 against 6,000 won → 50.0 %, bias −50.0 %
        assert "3,000.00" in january
        assert "6,000.00" in january
        assert "50.0 %" in january
        assert "no expected close date" in page.get_by_test_id("forecast-left-out").inner_text()
        page.screenshot(path=str(screenshot_dir / "sales-forecast.png"), full_page=True)

        use_language(page, "zh-hans")
        wait_for_charts(page)
        assert page.get_by_test_id("period-2026-01-01").is_visible()
        page.screenshot(path=str(screenshot_dir / "sales-forecast-zh-hans.png"), full_page=True)

"""End to end in Chromium: logging in, the manager's KPI charts, a rep's landing page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import charts
from kpis.models import Granularity, KpiSnapshot
from tests.browser.conftest import log_in
from tests.customers.factories import CustomerFactory, UserFactory

# serialized_rollback: the live server needs committed rows, and the role groups created by the
# data migration must be there again for the next transactional test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MONTHS = 12


def store_monthly_snapshots() -> None:
    first = charts.window_start(Granularity.MONTH, MONTHS)
    rows = []
    for step in range(MONTHS):
        start = charts.shift_period(Granularity.MONTH, first, step)
        end = charts.shift_period(Granularity.MONTH, start, 1)
        for key, value in (
            ("revenue", Decimal("10000.50") + 750 * step),
            ("customers_new", Decimal(5 + step % 4)),
            # One n/a month in NPS: the chart must show a gap, not a zero.
            ("nps", None if step == 3 else Decimal(-10 + 4 * step)),
        ):
            rows.append(
                KpiSnapshot(
                    kpi=key,
                    granularity=Granularity.MONTH,
                    period_start=start,
                    period_end=end,
                    value=value,
                    numerator=value,
                    sample_size=40,
                )
            )
    KpiSnapshot.objects.bulk_create(rows)


def test_a_manager_logs_in_and_sees_the_kpi_charts_drawn(page, screenshot_dir):
    UserFactory(username="maria", role="Manager")
    store_monthly_snapshots()

    log_in(page, "maria")

    assert page.url.endswith(reverse("kpis:overview"))
    page.wait_for_function(
        "() => document.querySelectorAll('canvas.kpi-chart[data-chart-state=ready]').length >= 3"
    )
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas.kpi-chart')).map((canvas) => {
            const chart = Chart.getChart(canvas);
            if (!chart) return {kpi: canvas.dataset.kpi, points: 0, elements: 0};
            const data = chart.data.datasets[0].data;
            return {
                kpi: canvas.dataset.kpi,
                type: chart.config.type,
                labels: chart.data.labels.length,
                points: data.filter((v) => v !== null).length,
                gaps: data.filter((v) => v === null).length,
                elements: chart.getDatasetMeta(0).data.length,
            };
        })"""
    )
    by_kpi = {chart["kpi"]: chart for chart in drawn}
    for key in ("revenue", "customers_new", "nps"):
        assert by_kpi[key]["labels"] == MONTHS
        assert by_kpi[key]["elements"] == MONTHS
    assert by_kpi["revenue"]["points"] == MONTHS
    assert by_kpi["revenue"]["type"] == "bar"
    # 12 months with one n/a → 11 points and a gap.
    assert (by_kpi["nps"]["points"], by_kpi["nps"]["gaps"]) == (11, 1)
    assert by_kpi["nps"]["type"] == "line"
    assert page.locator("#kpi-revenue [data-testid=kpi-value]").inner_text() != "n/a"
    page.screenshot(path=str(screenshot_dir / "kpi-overview.png"), full_page=True)


def test_a_rep_lands_on_my_day_and_sees_their_own_kpis_only(page, screenshot_dir):
    rep = UserFactory(username="rita", role="Sales rep")
    CustomerFactory(name="Acme Widgets", owner=rep)
    CustomerFactory(name="Not Rita's", owner=UserFactory())
    store_monthly_snapshots()
    # The KPI pages open on the last closed month: her figure is stored for it.
    latest = charts.shift_period(Granularity.MONTH, charts.window_start(Granularity.MONTH, 1), -1)
    KpiSnapshot.objects.create(
        kpi="revenue",
        granularity=Granularity.MONTH,
        period_start=latest,
        period_end=charts.shift_period(Granularity.MONTH, latest, 1),
        dimension="owner",
        dimension_value=str(rep.pk),
        dimension_label="rita",
        value=Decimal("1234.00"),
        numerator=Decimal("1234.00"),
        sample_size=3,
    )

    log_in(page, "rita")

    assert page.url.endswith(reverse("sales:my_day"))
    page.click("[data-testid=main-nav] >> text=KPIs")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => document.querySelector('#kpi-revenue canvas').dataset.chartState === 'ready'"
    )
    # Her own revenue, not the organisation's 18,250.50.
    assert page.locator("#kpi-revenue [data-testid=kpi-value]").inner_text().startswith("1,234.00")
    assert "18,250" not in page.inner_text("main")
    assert page.locator("[data-testid=kpi-scope]").is_visible()
    page.screenshot(path=str(screenshot_dir / "rep-kpi-overview.png"), full_page=True)

    page.goto(reverse("customers:list"))
    assert page.get_by_role("link", name="Acme Widgets").is_visible()
    assert page.get_by_text("Not Rita's").count() == 0
    page.screenshot(path=str(screenshot_dir / "rep-customer-list.png"), full_page=True)

    # Typing filters the list in place (htmx), without pressing Search.
    CustomerFactory(name="Zenith Tools", owner=rep)
    page.fill("#customer-search", "zen")
    page.wait_for_url("**/customers/?*q=zen*")
    page.get_by_role("link", name="Zenith Tools").wait_for()
    assert page.get_by_role("link", name="Acme Widgets").count() == 0

    response = page.goto(reverse("kpis:index"))

    assert response is not None
    assert page.locator("[data-testid=scope-unavailable]").is_visible()


def test_switching_to_chinese_in_the_browser_translates_the_navigation(page):
    UserFactory(username="maria", role="Manager")

    log_in(page, "maria")
    page.select_option("[data-testid=language-form] select[name=language]", "zh-hans")
    page.click("[data-testid=language-form] button[type=submit]")
    page.wait_for_load_state("networkidle")

    nav = page.locator("[data-testid=main-nav]")
    assert "客户" in nav.inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-hans"

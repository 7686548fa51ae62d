"""End to end in Chromium: a manager annotates a month from the KPI page and sees the note marked
on the trend chart, listed under it and in the period table."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import charts
from kpis.models import Granularity, KpiSnapshot
from reports.models import Annotation, DigestSubscription
from tests.browser.conftest import log_in
from tests.customers.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TREND = "[data-testid=chart-trend] canvas"


@pytest.fixture
def revenue_history() -> dt.date:
    """Six months of company revenue ending with the current month; returns last month."""
    first = charts.window_start(Granularity.MONTH, 6)
    starts = [charts.shift_period(Granularity.MONTH, first, step) for step in range(6)]
    KpiSnapshot.objects.bulk_create(
        KpiSnapshot(
            kpi="revenue",
            granularity=Granularity.MONTH,
            period_start=start,
            period_end=charts.shift_period(Granularity.MONTH, start, 1),
            value=Decimal(1000 + 150 * step),
            numerator=Decimal(1000 + 150 * step),
            sample_size=10 + step,
        )
        for step, start in enumerate(starts)
    )
    return starts[-2]


def test_manager_annotates_a_month_and_sees_it_on_the_chart_and_in_the_table(
    page, revenue_history, screenshot_dir
):
    month = revenue_history
    UserFactory(username="olga", first_name="Olga", role="Manager")
    log_in(page, "olga")
    kpi_page = reverse("kpis:kpi_detail", kwargs={"key": "revenue"})
    page.goto(f"{kpi_page}?granularity=month&period={month.isoformat()}")
    page.wait_for_function(
        f"() => document.querySelector('{TREND}').dataset.chartState === 'ready'"
    )
    # No note yet: no marker drawn and the list under the chart stays hidden.
    assert page.get_attribute(TREND, "data-annotation-markers") is None
    assert page.locator("[data-testid=chart-annotations]").is_hidden()

    page.click("[data-testid=annotate-period]")
    page.wait_for_load_state("networkidle")
    assert page.url.split("?")[0].endswith(reverse("reports:annotations"))
    assert page.input_value("input[name=period_start]") == month.isoformat()
    assert page.input_value("select[name=kpi]") == "revenue"

    # An empty text is refused with the service's message; nothing is saved.
    page.select_option("select[name=kind]", "campaign")
    page.click("[data-testid=annotation-save]")
    page.wait_for_load_state("networkidle")
    assert "An annotation needs a text." in page.inner_text("[data-testid=error-text]")
    assert not Annotation.objects.exists()
    page.screenshot(path=str(screenshot_dir / "manager-annotation-refused.png"), full_page=True)

    page.fill("textarea[name=text]", "Spring campaign <newsletter>")
    page.click("[data-testid=annotation-save]")
    page.wait_for_load_state("networkidle")
    note = Annotation.objects.get()
    assert (note.kpi, note.starts_on, note.kind) == ("revenue", month, "campaign")

    # Back on the KPI page at the same period; the chart marks the note, numbered as listed.
    assert page.url.endswith(f"{kpi_page}?granularity=month&period={month.isoformat()}")
    page.wait_for_function(
        f"() => document.querySelector('{TREND}').dataset.annotationMarkers === '1'"
    )
    assert page.get_attribute(TREND, "data-annotation-ids") == str(note.pk)
    listed = page.locator("[data-testid=chart-annotations] li")
    assert listed.count() == 1
    assert listed.get_attribute("data-annotation-id") == str(note.pk)
    assert "Spring campaign <newsletter>" in listed.inner_text()
    assert "Campaign" in listed.inner_text()
    row = page.locator("[data-testid=table-periods] tbody tr", has_text=month.isoformat())
    assert row.locator("td").last.inner_text() == "Campaign: Spring campaign <newsletter>"

    # The marker is drawn on the canvas: the plugin's band tints the annotated month.
    tinted = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid=chart-trend] canvas');
            const chart = Chart.getChart(canvas);
            // The trend ends at the page's period: the annotated month is the last bar.
            const x = chart.scales.x.getPixelForValue(chart.data.labels.length - 1);
            const step = chart.scales.x.getPixelForValue(1) - chart.scales.x.getPixelForValue(0);
            const ratio = canvas.width / canvas.getBoundingClientRect().width;
            const y = chart.chartArea.top + 40;
            const ctx = canvas.getContext('2d');
            const inside = ctx.getImageData((x - step * 0.45) * ratio, y * ratio, 1, 1).data;
            const outside = ctx.getImageData((x - step * 1.45) * ratio, y * ratio, 1, 1).data;
            return [Array.from(inside), Array.from(outside)];
        }"""
    )
    inside, outside = tinted
    assert inside != outside
    page.hover(TREND, position={"x": 10, "y": 10})
    page.screenshot(path=str(screenshot_dir / "manager-kpi-annotation.png"), full_page=True)


def test_a_rep_subscribes_to_a_weekly_digest_of_their_own_figures(page, screenshot_dir):
    rep = UserFactory(username="ann", first_name="Ann", role="Sales rep")
    log_in(page, "ann")
    page.goto(reverse("reports:digests"))
    # A rep's KPI scope is their own figures: no team or company figures on offer.
    scopes = page.eval_on_selector_all("select[name=scope] option", "(os) => os.map(o => o.value)")
    assert scopes == ["own"]

    page.select_option("select[name=frequency]", "weekly")
    page.select_option("select[name=scope]", "own")
    page.check("input[name=stages][value=pipeline]")
    page.click("[data-testid=digest-save]")
    page.wait_for_load_state("networkidle")

    subscription = DigestSubscription.objects.get(user=rep)
    assert (subscription.frequency, subscription.scope, subscription.stages) == (
        "weekly",
        "own",
        ["pipeline"],
    )
    assert page.locator(f"[data-subscription-id='{subscription.pk}']").is_visible()
    page.screenshot(path=str(screenshot_dir / "rep-digest-subscriptions.png"), full_page=True)

"""End to end in Chromium: an admin drafts index weights that double retention's weight, previews
them by month and by quarter (computing the quarters that have no snapshots), activates them
restating history, and the index chart shows the 24 months under the new version with the change
marked; screenshots of every weights page in English and Chinese."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import charts
from kpis.index import compute_index
from kpis.models import Granularity, IndexSnapshot, IndicatorWeight, KpiSnapshot, WeightVersion
from kpis.periods import period_bounds
from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.customers.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MONTHS = 24
STORED_QUARTERS = 10  # of the 12 the quarter preview shows: 2 are computed from the page


def store_kpis(granularity: str, starts: list[dt.date], version: WeightVersion) -> None:
    """Every indicator of `version` halfway between its bounds (90 % of a target), so each
    period's index is published with full coverage; churn moves a little from period to period."""
    rows = list(IndicatorWeight.objects.filter(version=version))
    snapshots = []
    for step, start in enumerate(starts):
        for row in rows:
            if row.target is not None:
                value = row.target * Decimal("0.9")
            else:
                assert row.best is not None
                assert row.worst is not None
                value = (row.best + row.worst) / 2
            if row.kpi == "churn_rate":
                value += Decimal("0.002") * (step % 5)
            snapshots.append(
                KpiSnapshot(
                    kpi=row.kpi,
                    granularity=granularity,
                    period_start=start,
                    period_end=period_bounds(granularity, start)[1],
                    value=value,
                    sample_size=200,
                )
            )
    KpiSnapshot.objects.bulk_create(snapshots)
    for start in starts:
        compute_index(granularity=granularity, period_start=start, version=version)


@pytest.fixture
def history() -> list[dt.date]:
    """24 months ending with the open one and 10 closed quarters, all with an index."""
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    first = charts.window_start(Granularity.MONTH, MONTHS)
    months = [charts.shift_period(Granularity.MONTH, first, n) for n in range(MONTHS)]
    last_closed_quarter = charts.shift_period(
        Granularity.QUARTER, charts.window_start(Granularity.QUARTER, 1), -1
    )
    quarters = [
        charts.shift_period(Granularity.QUARTER, last_closed_quarter, -n)
        for n in range(STORED_QUARTERS)
    ]
    store_kpis(Granularity.MONTH, months, active)
    store_kpis(Granularity.QUARTER, sorted(quarters), active)
    return months


def shot(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)


def test_admin_drafts_previews_and_restates_the_index_under_new_weights(
    page, history, screenshot_dir
):
    UserFactory(username="ada", first_name="Ada", role="Admin")
    old = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    log_in(page, "ada")

    # The Administration menu leads to the weights page.
    page.click("[data-testid=nav-administration]")
    page.click("[data-testid=nav-weights]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(reverse("kpis:weights"))
    page.click("[data-testid=weights-create-draft]")
    page.wait_for_load_state("networkidle")
    draft = WeightVersion.objects.get(status=WeightVersion.Status.DRAFT)

    # Shares follow the typing: retention 25 of 100 → 50 of 125 = 40.0 %.
    assert page.inner_text("[data-testid=share-group-retention]") == "25.0 %"
    page.fill("input[name=group_retention_weight]", "50")
    assert page.inner_text("[data-testid=share-group-retention]") == "40.0 %"
    # Churn: 60 of retention's 100 → 60.0 % of the group, 40 % × 60 % = 24.0 % of the index.
    assert page.inner_text("[data-testid=share-churn_rate]") == "60.0 %"
    assert page.inner_text("[data-testid=index-share-churn_rate]") == "24.0 %"
    assert "1 ranks first" in page.inner_text("[data-testid=priority-help]")
    assert page.input_value("input[name=ind_churn_rate_best]") == "1"  # 0.01 shown as 1 %
    page.click("[data-testid=weights-save]")
    page.wait_for_load_state("networkidle")
    assert draft.groups.get(group="retention").weight == Decimal(50)
    shot(page, screenshot_dir, "weights-draft")

    # Month preview: 12 closed months side by side, every one stored.
    page.click("[data-testid=weights-preview-month]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=preview-row]").count() == 12
    assert page.locator("[data-testid=preview-missing]").count() == 0
    assert "n/a" not in page.inner_text("[data-testid=preview-table] tbody")
    shot(page, screenshot_dir, "weights-preview-month")

    # Quarter preview: two quarters have no snapshots; the page computes them with progress.
    page.click("[data-testid=preview-granularity-quarter]")
    page.wait_for_load_state("networkidle")
    assert "2 of these periods have no KPI snapshots yet" in page.inner_text(
        "[data-testid=preview-missing]"
    )
    shot(page, screenshot_dir, "weights-preview-quarter-missing")
    page.click("[data-testid=preview-compute]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=weights-job]').dataset.jobState === 'done'"
    )
    assert page.inner_text("[data-testid=weights-job-bar]") == "100 %"
    shot(page, screenshot_dir, "weights-preview-progress")
    page.click("[data-testid=weights-job-reload]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=preview-row]").count() == 12
    assert page.locator("[data-testid=preview-missing]").count() == 0

    # Every new page in Chinese.
    use_language(page, "zh-hans")
    for name, url in (
        ("weights-home", reverse("kpis:weights")),
        ("weights-draft", reverse("kpis:weights_version", args=[draft.pk])),
        ("weights-preview-month", reverse("kpis:weights_preview", args=[draft.pk])),
        ("weights-activate", reverse("kpis:weights_activate", args=[draft.pk])),
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        shot(page, screenshot_dir, f"{name}-zh-hans")
    use_language(page, "en")

    # Activation states what changes and restates history.
    page.goto(reverse("kpis:weights_version", args=[draft.pk]))
    page.click("[data-testid=weights-activate]")
    page.wait_for_load_state("networkidle")
    assert "Retention: share of the index 25.0 % → 40.0 %." in page.inner_text(
        "[data-testid=activate-changes]"
    )
    shot(page, screenshot_dir, "weights-activate")
    page.check("[data-testid=mode-restate]")
    page.click("[data-testid=activate-confirm]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=weights-job]').dataset.jobState === 'done'"
    )
    shot(page, screenshot_dir, "weights-home")
    draft.refresh_from_db()
    assert draft.status == WeightVersion.Status.ACTIVE

    # The index chart: 24 months under the new version, the old version's line kept apart,
    # the change marked and listed under the chart.
    page.goto(reverse("kpis:index") + "?granularity=month")
    wait_for_charts(page)
    datasets = page.evaluate(
        """() => Chart.getChart(document.querySelector('[data-testid=chart-index] canvas'))
            .data.datasets.map((d) => [
              d.versionId || null, d.data.filter((v) => v !== null).length
            ])"""
    )
    by_version = {version: points for version, points in datasets if version}
    assert by_version == {draft.pk: MONTHS, old.pk: MONTHS}
    assert datasets[0][0] == draft.pk
    canvas = "[data-testid=chart-index] canvas"
    assert page.get_attribute(canvas, "data-annotation-markers") == "1"
    assert "restated" in page.inner_text("[data-testid=chart-annotations-index]")
    assert (
        IndexSnapshot.objects.filter(
            version=draft, granularity=Granularity.MONTH, published=True
        ).count()
        == MONTHS
    )
    shot(page, screenshot_dir, "weights-index-chart")

"""End to end in Chromium: a manager filters the overview by team, opens churn, drills into a
month and sees as many customers as the stored numerator."""

import datetime as dt

import pytest
from django.urls import reverse

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from tests.browser.conftest import log_in, use_language, wait_for_charts
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def month_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def churned_team(settings):
    """Team North: 3 customers active at the start of last month, 2 of whom lapse in it.

    With d = 90 days, a customer whose only order was 100 days before last month's end has
    churned by then; one who ordered 20 days before last month's start is still active.
    """
    from django.utils import timezone

    north = TeamFactory(name="North")
    south = TeamFactory(name="South")
    manager = UserFactory(username="maria", first_name="Maria", role="Manager")
    north.members.add(manager)
    south.members.add(manager)
    today = timezone.localdate()
    month = month_before(today.replace(day=1), 1)
    start = timezone.make_aware(dt.datetime.combine(month, dt.time(12)))
    lapsing = [start - dt.timedelta(days=85), start - dt.timedelta(days=80)]
    staying = start - dt.timedelta(days=20)
    for index, when in enumerate([*lapsing, staying]):
        person = CustomerFactory(name=f"North customer {index}", team=north, acquired_at=when)
        OrderFactory(customer=person, ordered_at=when)
    other = CustomerFactory(name="South customer", team=south, acquired_at=staying)
    OrderFactory(customer=other, ordered_at=staying)
    for step in range(3, 0, -1):
        compute_period(
            granularity="month",
            period_start=month_before(today.replace(day=1), step),
            kpi_keys=["churn_rate", "active_customers", "customers_new", "orders"],
        )
    return {"north": north, "month": month, "manager": manager}


def test_manager_filters_by_team_opens_churn_and_drills_into_a_month(
    page, churned_team, screenshot_dir
):
    north, month = churned_team["north"], churned_team["month"]
    stored = KpiSnapshot.objects.get(
        kpi="churn_rate",
        granularity="month",
        period_start=month,
        dimension="team",
        dimension_value=str(north.pk),
    )
    # 2 of the 3 customers active at the month's start lapse in it → 2 / 3.
    assert (stored.numerator, stored.denominator) == (2, 3)

    log_in(page, "maria")
    assert page.url.endswith(reverse("kpis:overview"))
    page.select_option("select[name=team]", str(north.pk))
    page.click("[data-testid=kpi-filters] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert f"team={north.pk}" in page.url
    page.wait_for_function(
        "() => document.querySelectorAll('canvas.kpi-chart[data-chart-state=ready]').length >= 1"
    )
    assert "North" in page.inner_text("[data-testid=active-filter]")
    page.screenshot(path=str(screenshot_dir / "manager-overview-team.png"), full_page=True)

    page.click("#kpi-churn_rate [data-testid=kpi-link]")
    page.wait_for_load_state("networkidle")
    assert "/kpis/kpi/churn_rate/" in page.url
    assert f"team={north.pk}" in page.url
    page.wait_for_function(
        "() => document.querySelector('[data-testid=chart-trend] canvas')"
        ".dataset.chartState === 'ready'"
    )

    period_row = page.locator("[data-testid=table-periods] tr", has_text=month.isoformat())
    period_row.get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    assert f"period={month.isoformat()}" in page.url

    numerator = page.inner_text("[data-testid=stored-numerator]")
    count = page.inner_text("[data-testid=record-count]")
    assert numerator == "2"
    assert count.startswith("2 records")
    assert page.locator("[data-testid=records] tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir / "manager-kpi-drilldown.png"), full_page=True)
    drilldown_url = page.url

    kpi_page_url = reverse("kpis:kpi_detail", kwargs={"key": "churn_rate"}) + f"?team={north.pk}"
    page.goto(kpi_page_url)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=chart-trend] canvas')"
        ".dataset.chartState === 'ready'"
    )
    page.screenshot(path=str(screenshot_dir / "manager-kpi-page.png"), full_page=True)

    # The same three pages in Simplified Chinese.
    use_language(page, "zh-hans")
    page.goto(reverse("kpis:overview") + f"?team={north.pk}")
    wait_for_charts(page)
    assert page.locator("h1").inner_text() == "关键指标总览"  # "KPI overview"
    page.screenshot(path=str(screenshot_dir / "manager-overview-team-zh-hans.png"), full_page=True)

    page.goto(kpi_page_url)
    wait_for_charts(page)
    formula = page.locator("[data-testid=kpi-formula]")
    assert "计算方法" in formula.inner_text()  # "How it is computed"
    page.screenshot(path=str(screenshot_dir / "manager-kpi-page-zh-hans.png"), full_page=True)

    page.goto(drilldown_url)
    assert page.inner_text("[data-testid=part-numerator]") == "分子"  # "Numerator"
    assert page.inner_text("[data-testid=stored-numerator]") == "2"
    assert page.locator("[data-testid=records] tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir / "manager-kpi-drilldown-zh-hans.png"), full_page=True)


def test_every_workspace_page_draws_its_charts(page, screenshot_dir):
    """Each analytics page loads, and every chart reaches `ready` (or `empty`), never `error`."""
    from decimal import Decimal

    from kpis import charts
    from kpis.definitions import registry
    from kpis.models import Granularity, IndexContribution, IndexSnapshot, WeightVersion

    UserFactory(username="maria", role="Manager")
    team = TeamFactory(name="North")
    starts = [
        charts.shift_period(Granularity.MONTH, charts.window_start(Granularity.MONTH, 12), step)
        for step in range(12)
    ]
    rows = []
    for definition in registry.all():
        for step, start in enumerate(starts):
            for dimension, value in (("all", ""), ("team", str(team.pk))):
                rows.append(
                    KpiSnapshot(
                        kpi=definition.key,
                        granularity="month",
                        period_start=start,
                        period_end=charts.shift_period(Granularity.MONTH, start, 1),
                        dimension=dimension,
                        dimension_value=value,
                        dimension_label="North" if value else "",
                        value=Decimal(step + 1) / 20,
                        numerator=Decimal(step + 1),
                        denominator=Decimal(20),
                        sample_size=20,
                        details={
                            "promoters": 10 + step,
                            "passives": 5,
                            "detractors": 8 - step % 4,
                            "median": 30.0 + step,
                            "p90": 90.0 + step,
                            "weighted": "1500.00",
                        },
                    )
                )
    KpiSnapshot.objects.bulk_create(rows)
    version = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    for step, start in enumerate(starts[-2:]):
        snapshot = IndexSnapshot.objects.create(
            granularity="month",
            period_start=start,
            period_end=charts.shift_period(Granularity.MONTH, start, 1),
            version=version,
            value=Decimal(60 + 8 * step),
            coverage=Decimal("0.9"),
            band="yellow",
            published=True,
        )
        for kpi, group, points in (("churn_rate", "retention", 30), ("csat", "maintenance", 30)):
            IndexContribution.objects.create(
                snapshot=snapshot,
                kpi=kpi,
                group=group,
                weight=Decimal(1),
                normalised_score=Decimal(2 * points),
                effective_share=Decimal("0.5"),
                contribution=Decimal(points + 4 * step),
            )

    log_in(page, "maria")
    for name in ("nps", "support", "pipeline", "cohorts", "index", "leaderboard", "targets"):
        page.goto(reverse(f"kpis:{name}"))
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('canvas.kpi-chart'))
                .every((c) => ['ready', 'empty', 'error'].includes(c.dataset.chartState))"""
        )
        states = page.eval_on_selector_all(
            "canvas.kpi-chart", "(cs) => cs.map((c) => c.dataset.chartState)"
        )
        assert "error" not in states, name
        page.screenshot(path=str(screenshot_dir / f"manager-{name}.png"), full_page=True)
        if name == "leaderboard":
            assert page.locator("[data-testid=table-leaderboard] tbody tr").count() == 1

"""End to end in Chromium: a manager sets "churn −5 % next quarter" in one form and reads the live
sentence and the progress; a manager makes a "misses its target" rule, a KPI computation fires
it, and the e-mail (locmem outbox) names the KPI in units and links to the right KPI page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from kpis.alerts import DEFAULT_ALERT_RULES
from kpis.engine import compute_period
from kpis.models import Alert, AlertRule, KpiSnapshot, Target
from kpis.periods import local_today, period_bounds, period_label
from kpis.targets import period_end_of, period_shift
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import UserFactory
from tests.kpis.conftest import buyer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def quarter_snapshot(start: dt.date, value: str) -> None:
    KpiSnapshot.objects.create(
        kpi="churn_rate",
        granularity="quarter",
        period_start=start,
        period_end=period_end_of("quarter", start),
        value=Decimal(value),
        sample_size=200,
        provisional=start == period_bounds("quarter", local_today())[0],
    )


def test_manager_sets_churn_minus_5_percent_next_quarter_and_reads_sentence_and_progress(
    page, screenshot_dir
):
    this_quarter = period_bounds("quarter", local_today())[0]
    last_quarter = period_shift("quarter", this_quarter, -1)
    next_quarter = period_shift("quarter", this_quarter, 1)
    quarter_snapshot(period_shift("quarter", this_quarter, -2), "0.30")
    quarter_snapshot(last_quarter, "0.26")
    quarter_snapshot(this_quarter, "0.25")  # so far
    # Last quarter's target (closed: met or missed) and this quarter's (open: so far).
    Target.objects.create(
        kpi="churn_rate", granularity="quarter", period_start=last_quarter, kind="absolute",
        amount=Decimal("0.25"),
    )  # fmt: skip
    Target.objects.create(
        kpi="churn_rate", granularity="quarter", period_start=this_quarter, kind="absolute",
        amount=Decimal("0.24"),
    )  # fmt: skip
    UserFactory(username="olga", first_name="Olga", role="Manager")
    log_in(page, "olga")

    page.click("[data-testid=kpi-subnav] [data-testid=nav-targets]")
    page.wait_for_load_state("networkidle")
    # The page opens on the granularity that has targets.
    assert "active" in page.get_attribute("[data-testid=granularity-quarter]", "class")

    page.select_option("select[name=kpi]", "churn_rate")
    page.select_option("select[name=scope]", "all:")
    page.click("[data-testid=shortcut-next-quarter]")
    page.select_option("select[name=kind]", "relative_change_pct")
    page.fill("input[name=amount]", "-5")
    quarter = period_label("quarter", next_quarter)
    sentence = f"Churn rate 25.0 % ({period_label('quarter', this_quarter)}) → 23.8 % (−5 % relative) for {quarter}"  # noqa: E501
    page.wait_for_function(
        "(expected) => document.querySelector('[data-testid=target-sentence]')"
        ".textContent.trim() === expected",
        arg=sentence,
    )
    assert page.input_value("select[name=granularity]") == "quarter"
    assert page.input_value("input[name=period_start]") == next_quarter.isoformat()
    page.screenshot(path=str(screenshot_dir / "targets-form-sentence.png"), full_page=True)

    page.click("[data-testid=target-save]")
    page.wait_for_load_state("networkidle")

    target = Target.objects.get(period_start=next_quarter)
    assert (target.kind, target.amount) == ("relative_change_pct", Decimal("-5"))
    rows = page.locator("[data-testid=target-row]")
    assert rows.count() == 3
    texts = page.inner_text("[data-testid=target-list]")
    assert sentence in texts
    states = page.eval_on_selector_all(
        "[data-testid=target-row-status]", "(cells) => cells.map((c) => c.dataset.state)"
    )
    # Newest first: next quarter not started, this quarter so far, last quarter missed.
    assert states == ["upcoming", "open", "missed"]
    assert "Missed by 1.0 pp: 26.0 % against 25.0 %." in texts
    assert "So far 25.0 % against 24.0 %" in texts
    assert "of the period elapsed" in texts
    assert "−667" not in texts
    page.screenshot(path=str(screenshot_dir / "targets-list.png"), full_page=True)

    use_language(page, "zh-hans")
    page.screenshot(path=str(screenshot_dir / "targets-list-zh.png"), full_page=True)
    page.click("[data-testid=target-edit] >> nth=0")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "targets-edit-zh.png"), full_page=True)
    use_language(page, "en")
    page.screenshot(path=str(screenshot_dir / "targets-edit.png"), full_page=True)


def test_misses_target_rule_fires_on_compute_and_the_email_links_to_the_kpi_page(
    page, live_server, screenshot_dir, settings
):
    settings.SITE_URL = live_server.url
    AlertRule.objects.filter(name__in=[name for name, _k, _f in DEFAULT_ALERT_RULES]).delete()
    month = period_shift("month", period_bounds("month", local_today())[0], -1)  # last month
    start = dt.datetime.combine(month, dt.time(12), tzinfo=dt.UTC)
    # Active at the month's start: a ordered 30 days before and again inside the month;
    # b's only order 70 days before lapses (90 days of inactivity) inside it → churn 1 of 2.
    buyer(start - dt.timedelta(days=30), start + dt.timedelta(days=10))
    buyer(start - dt.timedelta(days=70))
    Target.objects.create(
        kpi="churn_rate", granularity="month", period_start=month, kind="absolute",
        amount=Decimal("0.2"),
    )  # fmt: skip
    UserFactory(username="mia", first_name="Mia", email="mia@example.com", role="Manager")
    log_in(page, "mia")

    page.goto(reverse("kpis:alert_rules"))
    # The fresh-install rules were removed above; the form explains priority.
    assert "notifies at once" in page.inner_text("[data-testid=priority-note]")
    page.fill("input[name=name]", "Churn misses its target")
    page.select_option("select[name=kpi]", "churn_rate")
    page.select_option("select[name=scope]", "all:")
    page.select_option("select[name=granularity]", "month")
    page.select_option("select[name=condition]", "misses_target")
    assert page.locator("[data-threshold-row]").is_hidden()
    page.check("input[name=recipient_roles][value=Manager]")
    page.screenshot(path=str(screenshot_dir / "alert-rules-form.png"), full_page=True)
    page.click("[data-testid=rule-save]")
    page.wait_for_load_state("networkidle")
    rule = AlertRule.objects.get(name="Churn misses its target")
    assert rule.misses_target
    assert "missing its target" in page.inner_text("[data-testid=rule-list]")
    page.screenshot(path=str(screenshot_dir / "alert-rules-list.png"), full_page=True)
    use_language(page, "zh-hans")
    page.screenshot(path=str(screenshot_dir / "alert-rules-list-zh.png"), full_page=True)
    use_language(page, "en")

    compute_period(granularity="month", period_start=month, kpi_keys=["churn_rate"])

    alert = Alert.objects.get(rule=rule)
    assert alert.value == Decimal("0.5")  # 1 of 2 active customers churned
    (email,) = mail.outbox
    assert email.to == ["mia@example.com"]
    label = period_label("month", month)
    assert email.subject == f"[Pulse CRM] Churn rate alert: Churn misses its target ({label})"
    assert f"Churn rate was 50.0 % in {label} for the company." in email.body
    assert "Why it fired: above its target of 20.0 %." in email.body
    link = next(line for line in email.body.splitlines() if line.startswith("http"))
    assert link == (
        f"{live_server.url}/kpis/kpi/churn_rate/?granularity=month&period={month.isoformat()}"
    )

    page.goto(link)
    page.wait_for_load_state("networkidle")
    assert page.url == link
    assert page.inner_text("h1").strip().startswith("Churn rate")
    assert page.input_value("select[name=granularity]") == "month"
    assert page.input_value("input[name=period]") == month.isoformat()
    assert "50.0 %" in page.inner_text("main")
    page.screenshot(path=str(screenshot_dir / "alert-email-link-kpi-page.png"), full_page=True)

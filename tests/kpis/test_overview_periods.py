"""What the overview and the KPI pages show for a period: the last closed period by default, an
open period "so far" compared like-for-like, how fresh the figures are, "recompute now", and a
filter a KPI is not broken down by."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from crm.templatetags.pulse import humanise_duration, kpi_change, kpi_value
from kpis.definitions import registry
from kpis.engine import compute_period, like_for_like_comparable
from kpis.models import AlertRule, KpiRun, KpiSnapshot
from kpis.periods import last_closed_period, like_for_like_window
from kpis.recompute import THROTTLE_KEY
from kpis.selectors import (
    COMPARE_LIKE_FOR_LIKE,
    COMPARE_NONE,
    COMPARE_PREVIOUS,
    kpi_figure,
    kpi_freshness,
)
from kpis.tasks import beat_schedule_install
from tests.customers.factories import UserFactory
from tests.kpis.conftest import customer, local

OVERVIEW = reverse("kpis:overview")
RECOMPUTE = reverse("kpis:recompute")
# Four days into March 2026 (31 days): noon on the 4th, organisation time.
MARCH_4_NOON = local(2026, 3, 4, 12)


def stored(key, start, end, value, **fields):
    return KpiSnapshot.objects.create(
        kpi=key,
        granularity="month",
        period_start=start,
        period_end=end,
        value=None if value is None else Decimal(value),
        numerator=None if value is None else Decimal(value),
        sample_size=int(Decimal(value or 0)),
        **fields,
    )


@pytest.fixture(autouse=True)
def _no_recompute_throttle():
    """The throttle lives in the cache (Redis when set), which outlives a test's database."""
    cache.delete(THROTTLE_KEY)
    yield
    cache.delete(THROTTLE_KEY)


# --- the like-for-like window (no database) ---------------------------------------------------


def test_an_open_month_is_compared_with_the_same_elapsed_time_of_the_previous_month():
    window = like_for_like_window("month", dt.date(2026, 3, 1), dt.date(2026, 4, 1), MARCH_4_NOON)

    assert window is not None
    # 3 days 12 hours into March → the first 3 days 12 hours of February: up to 4 Feb, noon.
    assert window.period_start == dt.date(2026, 2, 1)
    assert window.start == local(2026, 2, 1, 0)
    assert window.until == local(2026, 2, 4, 12)
    assert window.last_day == dt.date(2026, 2, 5)  # the date-based end covers 4 February
    # "so far (4 of 31 days)": the 4th has begun.
    assert (window.elapsed_days, window.period_days) == (4, 31)


def test_a_shorter_previous_month_is_compared_whole_at_most():
    # 29 days 12 hours into March; February 2026 has 28 days → all of February.
    window = like_for_like_window(
        "month", dt.date(2026, 3, 1), dt.date(2026, 4, 1), local(2026, 3, 30, 12)
    )

    assert window is not None
    assert window.until == local(2026, 3, 1, 0)
    assert window.last_day == dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("granularity", "start", "end", "now"),
    [
        # A day is not cut into hours.
        ("day", dt.date(2026, 3, 4), dt.date(2026, 3, 5), MARCH_4_NOON),
        # February has closed by 4 March: compared with January whole, not like-for-like.
        ("month", dt.date(2026, 2, 1), dt.date(2026, 3, 1), MARCH_4_NOON),
    ],
)
def test_closed_periods_and_days_have_no_like_for_like_window(granularity, start, end, now):
    assert like_for_like_window(granularity, start, end, now) is None


def test_cohort_kpis_are_not_compared_before_their_cohort_closes():
    assert not like_for_like_comparable(registry.get("lead_conversion_rate"))
    assert like_for_like_comparable(registry.get("customers_new"))


# --- the like-for-like figure stored by the run ------------------------------------------------


@pytest.mark.django_db
def test_the_run_of_an_open_month_stores_the_previous_months_same_days(post_compute_calls):
    # February: 3 new customers before 4 Feb noon, 2 after it → like-for-like 3, whole month 5.
    for when in (local(2026, 2, 1, 9), local(2026, 2, 3, 18), local(2026, 2, 4, 11)):
        customer(when)
    for when in (local(2026, 2, 4, 13), local(2026, 2, 20, 10)):
        customer(when)
    # March so far: 2 new customers.
    for when in (local(2026, 3, 2, 10), local(2026, 3, 4, 9)):
        customer(when)

    compute_period(
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        kpi_keys=["customers_new", "lead_conversion_rate"],
        now=MARCH_4_NOON,
    )
    compute_period(
        granularity="month",
        period_start=dt.date(2026, 2, 1),
        kpi_keys=["customers_new"],
        now=MARCH_4_NOON,
    )

    march = KpiSnapshot.objects.get(
        kpi="customers_new", period_start=dt.date(2026, 3, 1), dimension="all"
    )
    february = KpiSnapshot.objects.get(
        kpi="customers_new", period_start=dt.date(2026, 2, 1), dimension="all"
    )
    assert march.value == 2
    assert february.value == 5
    assert march.details["like_for_like"]["comparable"] is True
    assert Decimal(march.details["like_for_like"]["value"]) == 3
    # A closed period stores no like-for-like figure.
    assert "like_for_like" not in february.details
    cohort = KpiSnapshot.objects.get(
        kpi="lead_conversion_rate", period_start=dt.date(2026, 3, 1), dimension="all"
    )
    assert cohort.details["like_for_like"]["comparable"] is False

    figure = kpi_figure(
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        snapshot=march,
        previous=february,
        now=MARCH_4_NOON,
    )
    # 2 so far against 3 in the same 3.5 days of February → −1 (−33.3 %), not 2 − 5 = −3 (−60 %).
    assert figure.is_open
    assert figure.comparison == COMPARE_LIKE_FOR_LIKE
    assert figure.baseline == 3
    assert figure.change == -1
    assert figure.relative_change is not None
    assert figure.relative_change.quantize(Decimal("0.001")) == Decimal("-0.333")
    assert (figure.elapsed_days, figure.period_days) == (4, 31)
    # Provisional: shown without an alarming colour.
    assert figure.calm


@pytest.mark.django_db
def test_an_open_period_without_a_like_for_like_figure_is_not_compared():
    march = stored("customers_new", dt.date(2026, 3, 1), dt.date(2026, 4, 1), "2", provisional=True)
    february = stored("customers_new", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "30")

    figure = kpi_figure(
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        snapshot=march,
        previous=february,
        now=MARCH_4_NOON,
    )

    # Never "2 − 30 = −28 (−93 %)" for four days against a month.
    assert figure.comparison == COMPARE_NONE
    assert figure.change is None


@pytest.mark.django_db
def test_a_closed_period_is_compared_with_the_previous_one():
    february = stored("customers_new", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "5")
    january = stored("customers_new", dt.date(2026, 1, 1), dt.date(2026, 2, 1), "4")

    figure = kpi_figure(
        granularity="month",
        period_start=dt.date(2026, 2, 1),
        snapshot=february,
        previous=january,
        now=MARCH_4_NOON,
    )

    # 5 − 4 = +1, +25 %.
    assert figure.comparison == COMPARE_PREVIOUS
    assert (figure.change, figure.relative_change) == (1, Decimal("0.25"))
    assert not figure.calm


# --- the period a page opens on ----------------------------------------------------------------


@pytest.fixture
def manager(client):
    user = UserFactory(role="Manager")
    client.force_login(user)
    return user


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_the_overview_opens_on_the_last_closed_month_with_the_open_month_so_far(client, manager):
    stored("customers_new", dt.date(2026, 1, 1), dt.date(2026, 2, 1), "4")
    stored("customers_new", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "5")
    stored(
        "customers_new",
        dt.date(2026, 3, 1),
        dt.date(2026, 4, 1),
        "2",
        provisional=True,
        computed_at=MARCH_4_NOON,
        details={
            "like_for_like": {
                "comparable": True,
                "previous_start": "2026-02-01",
                "elapsed_days": 4,
                "period_days": 31,
                "value": "3.000000",
            }
        },
    )

    response = client.get(OVERVIEW)

    assert response.context["shown_start"] == dt.date(2026, 2, 1)
    card = next(c for c in response.context["cards"] if c["series"].key == "customers_new")
    assert card["figure"].snapshot.value == 5
    assert card["figure"].change == 1  # February 5 against January 4
    assert card["so_far"].change == -1  # March's 2 against February's first days' 3
    html = response.content.decode()
    card_html = html.split('id="kpi-customers_new"')[1].split("</section>")[0]
    assert "March 2026 so far (4 of 31 days)" in card_html
    assert "vs the first 4 days of February 2026" in card_html
    # The name on the card, the key in the details below it.
    assert "New customers" in card_html
    assert "<code>customers_new</code>" in card_html


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_the_kpi_page_and_the_period_report_open_on_the_last_closed_month(client, manager):
    stored("customers_new", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "5")
    stored("customers_new", dt.date(2026, 3, 1), dt.date(2026, 4, 1), "2", provisional=True)

    page = client.get(reverse("kpis:kpi_detail", kwargs={"key": "customers_new"}))
    report = client.get(reverse("reports:period"))

    assert page.context["figure"].period_start == dt.date(2026, 2, 1)
    assert page.context["latest"].value == 5
    assert report.status_code == 200
    assert report.context["report"].period_start == dt.date(2026, 2, 1)
    assert "Unknown period" not in report.content.decode()
    assert last_closed_period("quarter", MARCH_4_NOON) == (
        dt.date(2025, 10, 1),
        dt.date(2026, 1, 1),
    )


@pytest.mark.django_db
def test_the_kpi_navigation_links_the_period_report_for_managers_and_reps(client):
    for role, linked in (("Manager", True), ("Sales rep", True), ("Support agent", False)):
        client.force_login(UserFactory(role=role))

        html = client.get(OVERVIEW).content.decode()

        assert ('data-testid="nav-period-report"' in html) is linked, role


# --- a filter a KPI is not broken down by ------------------------------------------------------


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_kpi_not_broken_down_by_the_filter_says_so(client, manager):
    stored("customers_new", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "5")
    stored("revenue", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "900")
    KpiSnapshot.objects.create(
        kpi="revenue",
        granularity="month",
        period_start=dt.date(2026, 2, 1),
        period_end=dt.date(2026, 3, 1),
        dimension="product_line",
        dimension_value="7",
        dimension_label="Hardware",
        value=Decimal("300"),
    )

    response = client.get(OVERVIEW, {"product_line": "7"})

    html = response.content.decode()
    new_customers = html.split('id="kpi-customers_new"')[1].split("</section>")[0]
    assert "Not broken down by product line" in new_customers
    assert "has not stored this KPI" not in new_customers
    revenue = html.split('id="kpi-revenue"')[1].split("</section>")[0]
    assert "Not broken down" not in revenue
    assert "Company-wide: the index is not broken down by product line." in html
    detail = client.get(
        reverse("kpis:kpi_detail", kwargs={"key": "customers_new"}), {"product_line": "7"}
    )
    assert "Not broken down by product line: showing the whole company." in detail.content.decode()


# --- freshness -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_freshness_is_the_last_successful_run_and_the_next_beat_of_the_open_periods(
    client, manager
):
    beat_schedule_install()  # open periods every 15 minutes
    now = local(2026, 3, 4, 12, 3)
    KpiRun.objects.create(
        granularity="month",
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 4, 1),
        status=KpiRun.Status.SUCCEEDED,
        started_at=now - dt.timedelta(minutes=4),
        finished_at=now - dt.timedelta(minutes=3),
    )
    # A failed run of another granularity says nothing about the months.
    KpiRun.objects.create(
        granularity="week",
        period_start=dt.date(2026, 3, 2),
        period_end=dt.date(2026, 3, 9),
        status=KpiRun.Status.FAILED,
        started_at=now - dt.timedelta(minutes=1),
    )

    freshness = kpi_freshness(granularity="month", now=now)

    # Finished 12:00 → 3 min ago; the beat fires at 12:15 → in 12 min.
    assert freshness.computed_seconds_ago == 180
    assert freshness.next_run_seconds == 12 * 60
    assert freshness.failed_at is None
    with time_machine.travel(now, tick=False):
        html = client.get(OVERVIEW).content.decode()
    assert "computed 3 min ago · next run in 12 min" in html
    with time_machine.travel(now, tick=False):
        html = client.get(OVERVIEW, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "3 分钟前计算 · 12 分钟后下次运行" in html


@pytest.mark.parametrize(
    ("seconds", "english", "chinese"),
    [
        (40, "40 s", "40 秒"),
        (3 * 60 + 20, "3 min", "3 分钟"),
        (2 * 3600 + 15 * 60, "2 h 15 min", "2 小时 15 分钟"),
        (3 * 3600, "3 h", "3 小时"),
        (int(3.5 * 86400), "3.5 days", "3.5 天"),
        (86400, "1 day", "1 天"),
    ],
)
def test_durations_are_humanised_in_both_languages(seconds, english, chinese):
    with translation.override("en"):
        assert humanise_duration(seconds) == english
    with translation.override("zh-hans"):
        assert humanise_duration(seconds) == chinese


def test_kpi_values_use_the_minus_sign_and_humanised_durations():
    with translation.override("en"):
        # 135 business minutes of first response → 2 h 15 min, said to be business hours;
        # 3.5 days of resolution → 3.5 days.
        assert kpi_value(Decimal("135"), "minutes") == "2 h 15 min (business hours)"
        assert kpi_value(Decimal("3.5"), "days") == "3.5 days"
        assert kpi_value(Decimal("-12.5"), "money").startswith("\u221212.50")
        # −0.04 rounds to zero: "0.0", not "−0.0".
        assert kpi_value(Decimal("-0.04"), "score") == "0.0"
        assert kpi_change(Decimal("-90"), "minutes") == "\u22121 h 30 min"
        assert "-" not in kpi_value(Decimal("-3"), "count")


# --- recompute now -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_recomputes_and_follows_the_progress_then_is_throttled(
    client, settings, django_capture_on_commit_callbacks
):
    settings.KPI_RECOMPUTE_MIN_SECONDS = 300
    client.force_login(UserFactory(role="Manager"))
    back = OVERVIEW + "?granularity=week"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECOMPUTE, {"granularity": "week", "next": back})

    # Tasks run eagerly here: the open and the last closed week are computed by now.
    assert response.status_code == 302
    assert response.url.startswith(OVERVIEW + "?granularity=week&recompute=")
    token = response.url.rsplit("recompute=", 1)[1]
    runs = KpiRun.objects.filter(granularity="week", kpi_keys=[])
    assert runs.count() == 2
    status = client.get(reverse("kpis:recompute_status", kwargs={"token": token})).json()
    assert (status["state"], status["done"], status["total"], status["percent"]) == (
        "finished",
        2,
        2,
        100,
    )
    page = client.get(response.url).content.decode()
    assert 'data-testid="recompute-progress"' in page

    with django_capture_on_commit_callbacks(execute=True) as queued:
        again = client.post(RECOMPUTE, {"granularity": "week", "next": back}, follow=True)

    # Within 300 s of the first request: refused, nothing queued.
    assert "try again in 5 min" in again.content.decode()
    assert queued == []
    assert runs.count() == 2


@pytest.mark.django_db
def test_recompute_is_for_managers_and_follows_only_known_jobs(client):
    client.force_login(UserFactory(role="Sales rep"))
    assert client.post(RECOMPUTE, {"granularity": "month"}).status_code == 403
    assert client.get(reverse("kpis:recompute_status", kwargs={"token": "abc"})).status_code == 403
    assert KpiRun.objects.count() == 0

    assert 'data-testid="recompute-now"' not in client.get(OVERVIEW).content.decode()

    client.force_login(UserFactory(role="Manager"))
    assert client.get(reverse("kpis:recompute_status", kwargs={"token": "abc"})).status_code == 404
    assert 'data-testid="recompute-now"' in client.get(OVERVIEW).content.decode()


@pytest.mark.django_db
def test_recompute_refuses_an_unknown_granularity_and_an_outside_next(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    from kpis import recompute

    queued = []
    monkeypatch.setattr(
        recompute.compute_kpis_for_period, "delay", lambda *args: queued.append(args)
    )
    client.force_login(UserFactory(role="Manager"))

    bad = client.post(RECOMPUTE, {"granularity": "fortnight"}, follow=True)
    assert "Unknown granularity" in bad.content.decode()
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True):
        outside = client.post(RECOMPUTE, {"granularity": "month", "next": "https://evil.example/"})
    assert outside.url.startswith(OVERVIEW + "?recompute=")
    assert [granularity for granularity, _start in queued] == ["month", "month"]


# --- target and alert threshold lines on a KPI chart -------------------------------------------


@pytest.mark.django_db
@time_machine.travel(MARCH_4_NOON, tick=False)
def test_a_kpi_chart_draws_its_alert_thresholds(client, manager):
    stored("churn_rate", dt.date(2026, 1, 1), dt.date(2026, 2, 1), "0.05")
    stored("churn_rate", dt.date(2026, 2, 1), dt.date(2026, 3, 1), "0.07")
    AlertRule.objects.create(
        name="Churn high", kpi="churn_rate", granularity="month", upper_threshold=Decimal("0.06")
    )
    url = reverse("kpis:kpi_chart", kwargs={"key": "churn_rate"})

    payload = json.loads(client.get(url, {"granularity": "month", "targets": "1"}).content)
    plain = json.loads(client.get(url, {"granularity": "month"}).content)

    lines = [ds for ds in payload["datasets"] if ds.get("threshold")]
    # A stored 0.06 is drawn at 6 % on each of the two periods.
    assert [(ds["threshold"], ds["data"]) for ds in lines] == [("above", [6.0, 6.0])]
    assert lines[0]["label"] == "Alert above 6.0 %"
    assert not any(ds.get("threshold") for ds in plain["datasets"])

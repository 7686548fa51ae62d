"""The "last run" JSON the KPI pages poll to swap in newer figures without a reload."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kpis.engine import compute_period
from kpis.models import KpiRun
from kpis.periods import last_closed_period
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("kpis:last_run")


def compute_closed_month() -> KpiRun:
    start, _end = last_closed_period("month")
    return compute_period(granularity="month", period_start=start, kpi_keys=["customers_new"])


def test_it_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_before_any_run_it_says_so(client):
    client.force_login(UserFactory(role="Sales rep"))

    body = client.get(URL, {"granularity": "month"}).json()

    assert body["computed_at"] is None
    assert body["running"] is False
    assert body["failed"] is False
    assert body["text"].startswith("not computed yet · ")
    assert body["updated_text"] == ""


def test_it_names_the_newest_successful_run_as_the_page_does(client):
    client.force_login(UserFactory(role="Manager"))
    compute_closed_month()
    newest = compute_closed_month()

    body = client.get(URL, {"granularity": "month"}).json()
    page = client.get(reverse("kpis:overview")).content.decode()

    # The page and the JSON carry the same stamp, so the poller swaps only for a newer run.
    assert newest.finished_at is not None
    assert body["computed_at"] == newest.finished_at.isoformat()
    assert f'data-computed-at="{newest.finished_at.isoformat()}"' in page
    assert body["text"].startswith("computed ")
    # The badge names the run's finish in the organisation's time zone, not the browser's.
    local = timezone.localtime(newest.finished_at, ZoneInfo(settings.CRM_TIME_ZONE))
    assert body["updated_text"] == f"figures updated at {local:%H:%M}"
    # A run of another granularity is not this page's run.
    assert client.get(URL, {"granularity": "quarter"}).json()["computed_at"] is None


def test_a_newer_failed_run_is_reported_without_replacing_the_figures(client):
    client.force_login(UserFactory(role="Manager"))
    succeeded = compute_closed_month()
    start, end = last_closed_period("month")
    KpiRun.objects.create(
        granularity="month",
        period_start=start,
        period_end=end,
        status=KpiRun.Status.FAILED,
        started_at=timezone.now() + dt.timedelta(seconds=1),
    )

    body = client.get(URL, {"granularity": "month"}).json()

    assert body["failed"] is True
    assert succeeded.finished_at is not None
    assert body["computed_at"] == succeeded.finished_at.isoformat()


def test_a_bad_granularity_is_a_400_with_the_reason(client):
    client.force_login(UserFactory(role="Manager"))

    response = client.get(URL, {"granularity": "fortnight"})

    assert response.status_code == 400
    assert "fortnight" in response.json()["error"]


def test_the_page_polls_at_the_configured_interval(client, settings):
    settings.KPI_LIVE_POLL_SECONDS = 7
    client.force_login(UserFactory(role="Manager"))

    pages = {
        reverse("kpis:overview"): ("index-card", "kpi-cards"),
        reverse("kpis:kpi_detail", args=["customers_new"]): ("kpi-header", "kpi-charts"),
    }
    for url, regions in pages.items():
        html = client.get(url, {"granularity": "quarter"}).content.decode()
        assert 'data-poll-seconds="7"' in html
        assert f'data-last-run-url="{URL}?granularity=quarter"' in html
        for region in regions:
            assert f'data-live-region="{region}"' in html


def test_its_query_count_does_not_grow_with_the_number_of_runs(
    client, django_assert_max_num_queries
):
    client.force_login(UserFactory(role="Manager"))
    CustomerFactory()
    compute_closed_month()
    # session, user, role; the newest success, newer runs by status, the beat entry; the audit
    # context reset
    with django_assert_max_num_queries(7) as one_run:
        client.get(URL, {"granularity": "month"})
    for _ in range(5):
        compute_closed_month()

    with django_assert_max_num_queries(len(one_run.captured_queries)):
        client.get(URL, {"granularity": "month"})

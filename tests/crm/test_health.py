"""/healthz answers without the database; /readyz checks the database, migrations, Redis, the
worker's heartbeat, beat's tick and the last KPI run, and says 503 naming what failed."""

import datetime as dt
import os

import pytest
import redis
from celery.signals import heartbeat_sent
from django.utils import timezone

from crm.heartbeats import BEAT_TICK_KEY, WORKER_HEARTBEAT_KEY, heartbeat_record
from kpis.models import KpiRun

# Our own Redis database number, so parallel test runs of other branches never share the keys.
REDIS_URL = os.environ.get("HEALTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


def kpi_run(finished_minutes_ago: int, status: str = KpiRun.Status.SUCCEEDED) -> KpiRun:
    finished_at = timezone.now() - dt.timedelta(minutes=finished_minutes_ago)
    return KpiRun.objects.create(
        granularity="month",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 12, 1),
        status=status,
        started_at=finished_at - dt.timedelta(seconds=5),
        finished_at=finished_at,
    )


@pytest.fixture
def with_redis(settings):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.delete(WORKER_HEARTBEAT_KEY, BEAT_TICK_KEY)
    settings.REDIS_URL = REDIS_URL
    yield client
    client.delete(WORKER_HEARTBEAT_KEY, BEAT_TICK_KEY)


def test_healthz_answers_without_the_database(client):
    # No django_db mark: pytest-django makes any database access here an error.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_a_recent_kpi_run_and_no_redis(client, settings):
    settings.REDIS_URL = ""
    kpi_run(finished_minutes_ago=10)

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "kpi_run": True,
        "redis": True,
        "worker": True,
        "beat": True,
    }
    assert body["checks"]["worker"]["detail"].startswith("eager")


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_last_kpi_run_is_too_old(client, settings):
    settings.REDIS_URL = ""
    settings.CRM_READY_KPI_RUN_MAX_AGE_MINUTES = 60
    kpi_run(finished_minutes_ago=90)
    kpi_run(finished_minutes_ago=5, status=KpiRun.Status.FAILED)  # a failure does not count

    response = client.get("/readyz")

    check = response.json()["checks"]["kpi_run"]
    assert response.status_code == 503
    assert check["ok"] is False
    assert 90 * 60 <= check["age_seconds"] < 91 * 60
    assert check["max"] == 3600


@pytest.mark.django_db
def test_readyz_is_unavailable_before_any_kpi_run(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["kpi_run"] == {
        "ok": False,
        "detail": "no successful KPI run yet",
    }


@pytest.mark.django_db
def test_readyz_needs_a_worker_heartbeat_and_a_beat_tick(client, with_redis, settings):
    kpi_run(finished_minutes_ago=1)

    before = client.get("/readyz")
    heartbeat_sent.send(sender=None)  # what a running worker does every two seconds
    heartbeat_record(BEAT_TICK_KEY)  # what beat's scheduler does on every tick
    after = client.get("/readyz")

    assert before.status_code == 503
    assert before.json()["checks"]["worker"] == {"ok": False, "detail": "no heartbeat recorded"}
    assert before.json()["checks"]["beat"]["ok"] is False
    assert before.json()["checks"]["redis"] == {"ok": True}
    assert after.status_code == 200
    assert after.json()["checks"]["worker"]["age_seconds"] < 5


@pytest.mark.django_db
def test_readyz_reports_a_stale_worker(client, with_redis, settings):
    settings.CRM_READY_WORKER_MAX_AGE_SECONDS = 60
    kpi_run(finished_minutes_ago=1)
    with_redis.set(WORKER_HEARTBEAT_KEY, repr(timezone.now().timestamp() - 120))
    heartbeat_record(BEAT_TICK_KEY)

    response = client.get("/readyz")

    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["age_seconds"] >= 120


@pytest.mark.django_db
def test_readyz_reports_redis_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    kpi_run(finished_minutes_ago=1)

    response = client.get("/readyz")

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["redis"]["ok"] is False
    assert "ConnectionError" in checks["redis"]["detail"]
    assert checks["database"] == {"ok": True}


@pytest.mark.django_db
def test_probes_need_no_login_even_with_two_factor_pending(client, settings):
    from tests.customers.factories import UserFactory

    settings.CRM_REQUIRE_2FA_ROLES = ["Manager"]
    settings.REDIS_URL = ""
    kpi_run(finished_minutes_ago=1)
    client.force_login(UserFactory(role="Manager"))

    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200

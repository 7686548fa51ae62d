"""TLS settings for PostgreSQL, Redis and SMTP, read from the environment at start-up."""

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from django_celery_beat.models import PeriodicTask

from crm.tasks import beat_schedule_install

ROOT = Path(__file__).resolve().parents[2]
SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "db": s.DATABASES["default"].get("OPTIONS", {}),
    "broker_ssl": getattr(s, "CELERY_BROKER_USE_SSL", None),
    "backend_ssl": getattr(s, "CELERY_REDIS_BACKEND_USE_SSL", None),
    "cache": s.CACHES["default"].get("OPTIONS"),
    "smtp": [s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_PORT],
}))
"""


def settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "EMAIL_"))
    }
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "crm.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_postgres_tls_from_the_url_or_the_environment():
    url = "postgres://pulse@db.example:5432/pulse?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    from_url = json.loads(settings_with(DATABASE_URL=url).stdout)
    overridden = json.loads(
        settings_with(
            DATABASE_URL="postgres://pulse@db.example:5432/pulse",
            DATABASE_SSLMODE="verify-ca",
            DATABASE_SSLROOTCERT="/etc/other.pem",
        ).stdout
    )

    assert from_url["db"] == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}
    assert overridden["db"] == {"sslmode": "verify-ca", "sslrootcert": "/etc/other.pem"}


def test_rediss_verifies_the_certificate_against_the_given_ca():
    shown = json.loads(
        settings_with(
            REDIS_URL="rediss://cache.example:6380/0", REDIS_SSL_CA_CERTS="/etc/r.pem"
        ).stdout
    )
    expected = {"ssl_cert_reqs": int(ssl.CERT_REQUIRED), "ssl_ca_certs": "/etc/r.pem"}

    assert shown["broker_ssl"] == shown["backend_ssl"] == expected
    # The cache keeps its fail-fast timeouts beside the TLS options.
    assert shown["cache"] == {**expected, "socket_connect_timeout": 1, "socket_timeout": 1}


def test_smtp_starttls_by_default_implicit_tls_on_request_never_both():
    assert json.loads(settings_with().stdout)["smtp"] == [True, False, 587]
    assert json.loads(settings_with(EMAIL_USE_SSL="true").stdout)["smtp"] == [False, True, 465]
    both = settings_with(EMAIL_USE_SSL="true", EMAIL_USE_TLS="true")
    assert both.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive" in both.stderr


@pytest.mark.django_db
def test_stale_import_uploads_are_deleted_hourly_by_beat():
    beat_schedule_install()
    entry = PeriodicTask.objects.get(name="crm: delete expired import uploads")
    assert entry.task == "crm.tasks.import_uploads_expire"
    assert (entry.crontab.minute, entry.crontab.hour) == ("20", "*")
    assert entry.expire_seconds == 55 * 60

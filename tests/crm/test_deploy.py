"""Running in production: `check --deploy` is clean with the documented environment, HTTPS and
HSTS come from the environment, the CSP allows our own scripts only, and no template carries
inline script."""

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from tests.customers.factories import UserFactory

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION_ENV = BASE_DIR / "docs" / "production.env"

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("check", deploy=True, fail_level="WARNING")
print(json.dumps({
    "hsts": settings.SECURE_HSTS_SECONDS,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "proxy_header": list(settings.SECURE_PROXY_SSL_HEADER),
    "proxies": settings.CRM_TRUSTED_PROXY_COUNT,
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
}))
"""


def production_environment() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "crm.settings"}
    for line in PRODUCTION_ENV.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    # The secrets the file leaves to the secret store.
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["CRM_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    env["CRM_BLIND_INDEX_KEY"] = Fernet.generate_key().decode()
    return env


def test_check_deploy_is_clean_with_the_documented_environment():
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "hsts": 31536000,
        "ssl_redirect": True,
        "proxy_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "proxies": 1,
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }


@pytest.mark.django_db
def test_pages_send_a_script_src_self_csp_and_a_permissions_policy(client):
    client.force_login(UserFactory(role="Sales rep"))

    response = client.get("/customers/")

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_https_redirect_spares_the_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/login/").status_code == 301
    assert client.get("/login/")["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_https_is_recognised(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert client.get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_no_template_carries_inline_script():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>")
    handler_attribute = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        if inline_script.search(text) or handler_attribute.search(text):
            offenders.append(str(template.relative_to(BASE_DIR)))

    assert offenders == []


def test_a_malformed_proxy_ssl_header_stops_the_start():
    env = production_environment()
    env["SECURE_PROXY_SSL_HEADER"] = "X-Forwarded-Proto"

    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must look like" in result.stderr

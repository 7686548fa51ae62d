# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment"
"""Keys: malformed or missing keys stop the start with a clear error; a wrong key is reported by
the start-up check and reading fails loudly, never with garbage."""

import os
import subprocess
import sys
from pathlib import Path

import pgtrigger
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from crm.encryption.checks import development_keys_check, stored_values_decrypt_check
from crm.encryption.ciphers import UndecryptableValue
from crm.env import env_encryption_keys, env_secret_key
from customers.models import Customer
from tests.crm.encryption_keys import INDEX_KEY, KEY_A, KEY_B
from tests.customers.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh interpreter, as a process start does."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "DEBUG"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "crm.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_keys_refuses_to_start():
    result = start(DEBUG="false", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "CRM_ENCRYPTION_KEYS and CRM_BLIND_INDEX_KEY must be set when DEBUG is off" in (
        result.stderr
    )


def test_production_with_keys_starts():
    result = start(
        DEBUG="false",
        SECRET_KEY="s" * 50,
        CRM_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}",
        CRM_BLIND_INDEX_KEY=INDEX_KEY,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not-base64!!", "CRM_ENCRYPTION_KEYS (key 1) is not url-safe base64"),
        (f"{KEY_A},c2hvcnQ=", "CRM_ENCRYPTION_KEYS (key 2) must decode to 32 bytes, got 5"),
        (f"{KEY_A},{KEY_A}", "CRM_ENCRYPTION_KEYS lists the same key twice"),
    ],
)
def test_malformed_keys_are_refused_naming_the_variable_not_the_key(monkeypatch, raw, message):
    monkeypatch.setenv("CRM_ENCRYPTION_KEYS", raw)
    with pytest.raises(
        ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as info:
        env_encryption_keys("CRM_ENCRYPTION_KEYS")
    assert KEY_A not in str(info.value)


def test_a_malformed_blind_index_key_is_refused(monkeypatch):
    monkeypatch.setenv("CRM_BLIND_INDEX_KEY", "abc")
    with pytest.raises(ImproperlyConfigured, match="CRM_BLIND_INDEX_KEY"):
        env_secret_key("CRM_BLIND_INDEX_KEY")


def test_the_development_default_says_so(settings):
    settings.CRM_ENCRYPTION_DEVELOPMENT_KEYS = True
    assert [message.id for message in development_keys_check()] == ["crm.W101"]
    settings.CRM_ENCRYPTION_DEVELOPMENT_KEYS = False
    assert development_keys_check() == []


@pytest.mark.django_db
def test_a_wrong_key_fails_the_start_up_check_and_every_read(settings):
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    customer = CustomerFactory(email="ada@example.com")
    call_command("check", databases=["default"])  # the right key: no error

    settings.CRM_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(SystemCheckError, match=r"crm\.E101.*customers_customer\.email"):
        call_command("check", databases=["default"])
    with pytest.raises(UndecryptableValue, match=r"customers_customer\.email cannot be decrypted"):
        Customer.objects.get(pk=customer.pk)


@pytest.mark.django_db
def test_plain_rows_awaiting_their_migration_only_warn_so_migrate_can_encrypt_them(settings):
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    customer = CustomerFactory(email="")
    # A row as written before encryption at rest (and before the audit trail's triggers).
    with pgtrigger.ignore(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET email = %s WHERE id = %s",
            ["ada@example.com", customer.pk],
        )

    messages = stored_values_decrypt_check(databases=["default"])

    assert [(m.id, m.msg) for m in messages] == [
        ("crm.W102", "customers_customer.email holds plain values.")
    ]

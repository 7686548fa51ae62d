import pytest

from crm.celery import app as celery_app


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    """Tests never send real mail, hash passwords cheaply (factories create many users), and
    store attachments (inbound mail's too) in the test's own folder, not the project's media."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "crm.encryption.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments")},
        },
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Two-factor sign-in is off by default here, on purpose: most tests sign in a manager or an
    # admin with force_login and test something else. tests/crm/test_signin.py turns it on.
    settings.CRM_REQUIRE_2FA_ROLES = []


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Unit tests run tasks in-process even when REDIS_URL is set; the worker test opts out."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def no_default_alert_rules(db):
    """Removes the default alert rules a fresh install has (kpis migration 0006), for tests that
    count alerts, evaluations or notifications of their own rules only."""
    from kpis.alerts import DEFAULT_ALERT_RULES
    from kpis.models import AlertRule

    AlertRule.objects.filter(
        name__in=[name for name, _kpi, _fields in DEFAULT_ALERT_RULES]
    ).delete()

"""Pulse CRM settings: one module, every value from the environment with a zero-setup default."""

import base64
import datetime as dt
import hashlib
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from crm.env import (
    env_bool,
    env_encryption_keys,
    env_int,
    env_list,
    env_secret_key,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - development default only
# --- Encryption at rest -------------------------------------------------------------------------
# CRM_ENCRYPTION_KEYS: Fernet keys, newest first (the newest encrypts, all decrypt; see
# `manage.py rotate_encryption_key`). CRM_BLIND_INDEX_KEY: the HMAC key of the exact-match
# indexes beside encrypted e-mails and phones. Without them a development key is derived from
# SECRET_KEY (a system check warns); with DEBUG off they are mandatory.
CRM_ENCRYPTION_KEYS = env_encryption_keys("CRM_ENCRYPTION_KEYS")
CRM_BLIND_INDEX_KEY = env_secret_key("CRM_BLIND_INDEX_KEY")
CRM_ENCRYPTION_DEVELOPMENT_KEYS = not CRM_ENCRYPTION_KEYS or not CRM_BLIND_INDEX_KEY
if CRM_ENCRYPTION_DEVELOPMENT_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "CRM_ENCRYPTION_KEYS and CRM_BLIND_INDEX_KEY must be set when DEBUG is off"
        )
    CRM_ENCRYPTION_KEYS = CRM_ENCRYPTION_KEYS or [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"pulse-crm encryption:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
    CRM_BLIND_INDEX_KEY = (
        CRM_BLIND_INDEX_KEY
        or base64.urlsafe_b64encode(
            hashlib.sha256(f"pulse-crm blind index:{SECRET_KEY}".encode()).digest()
        ).decode()
    )
if CRM_BLIND_INDEX_KEY in CRM_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("CRM_BLIND_INDEX_KEY must differ from every CRM_ENCRYPTION_KEYS key")
# Import uploads (encrypted on disk) older than this are deleted by the beat task.
CRM_IMPORT_UPLOAD_TTL_HOURS = env_int("CRM_IMPORT_UPLOAD_TTL_HOURS", 24)
# --- end encryption at rest ----------------------------------------------------------------------

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "django_celery_beat",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "crm",
    "customers",
    "sales",
    "support",
    "surveys",
    "kpis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, default a SQLite file in the project (zero-setup).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# PostgreSQL over TLS: sslmode/sslrootcert in the DATABASE_URL query string
# (?sslmode=verify-full&sslrootcert=/etc/pulse/db-ca.pem) or as DATABASE_SSLMODE /
# DATABASE_SSLROOTCERT, which win over the URL.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    for option in ("sslmode", "sslrootcert"):
        if env_str(f"DATABASE_{option.upper()}", ""):
            DATABASES["default"].setdefault("OPTIONS", {})[option] = env_str(
                f"DATABASE_{option.upper()}", ""
            )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Tests use a file, not memory, so the real-worker test's process can open the same database;
    # one per test process, so parallel runs never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"pulse-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Time and money. The organisation's time zone drives every KPI period boundary.
CRM_TIME_ZONE = env_str("CRM_TIME_ZONE", env_str("TIME_ZONE", "Europe/Berlin"))
TIME_ZONE = CRM_TIME_ZONE
USE_TZ = True
CRM_CURRENCY = env_str("CRM_CURRENCY", "EUR").upper()
if len(CRM_CURRENCY) != 3 or not CRM_CURRENCY.isalpha():
    raise ImproperlyConfigured(f"CRM_CURRENCY must be an ISO 4217 code, got {CRM_CURRENCY!r}")
# Days without an order after which an order-based customer counts as churned (catalogue §1).
CRM_INACTIVITY_DAYS = env_int("CRM_INACTIVITY_DAYS", 90)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# E-mail: console backend by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
# SMTP in transit: STARTTLS on 587 (default) or implicit TLS on 465 (EMAIL_USE_SSL=true).
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive; set one of them")
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pulse CRM <crm@localhost>")

# Support: solved tickets close automatically after this many days (0 = never).
SUPPORT_AUTOCLOSE_DAYS = env_int("SUPPORT_AUTOCLOSE_DAYS", 7)
# Inbound e-mail webhook shared secret (empty = webhook disabled) and the size cap of a message.
INBOUND_EMAIL_SECRET = env_str("INBOUND_EMAIL_SECRET", "")
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 10 * 1024 * 1024)
INBOUND_ATTACHMENT_MAX_BYTES = env_int("INBOUND_ATTACHMENT_MAX_BYTES", INBOUND_EMAIL_MAX_BYTES)
# Address customers reply to (support mailbox); Message-IDs use its domain.
SUPPORT_FROM_EMAIL = env_str("SUPPORT_FROM_EMAIL", DEFAULT_FROM_EMAIL)
# Absolute base URL for links in e-mails; public survey POSTs allowed per IP+token per hour.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
SURVEY_RATE_LIMIT_PER_HOUR = env_int("SURVEY_RATE_LIMIT_PER_HOUR", 20)
# KPI digests: local hour (organisation time zone) of the beat run, and the sender address.
DIGEST_SEND_HOUR = env_int("DIGEST_SEND_HOUR", 7)
if not 0 <= DIGEST_SEND_HOUR <= 23:
    raise ImproperlyConfigured(f"DIGEST_SEND_HOUR must be 0–23, got {DIGEST_SEND_HOUR}")
DIGEST_FROM_EMAIL = env_str("DIGEST_FROM_EMAIL", DEFAULT_FROM_EMAIL)

# Imports: the largest accepted file, and the upload folder (shared with Celery workers).
CRM_IMPORT_MAX_BYTES = env_int("CRM_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
CRM_IMPORT_DIR = env_str("CRM_IMPORT_DIR", str(BASE_DIR / "uploads"))

# Redis: unset → Celery runs tasks eagerly in-process and the cache is local memory;
# set → Redis is the Celery broker, the result backend and the Django cache.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    CACHES: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    # --- Redis over TLS: a rediss:// URL, verified against REDIS_SSL_CA_CERTS (else the
    # system CAs). Celery's broker and result backend and the cache each take the options.
    if REDIS_URL.startswith("rediss://"):
        REDIS_TLS: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        if env_str("REDIS_SSL_CA_CERTS", ""):
            REDIS_TLS["ssl_ca_certs"] = env_str("REDIS_SSL_CA_CERTS", "")
        CELERY_BROKER_USE_SSL = REDIS_TLS
        CELERY_REDIS_BACKEND_USE_SSL = REDIS_TLS
        CACHES["default"]["OPTIONS"] = dict(REDIS_TLS)
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Code-registered beat entries (the database scheduler copies them into its table at start).
CELERY_BEAT_SCHEDULE = {
    "crm: delete expired import uploads": {
        "task": "crm.tasks.import_uploads_expire",
        "schedule": crontab(minute="20"),
        "options": {"expires": 55 * 60},
    },
}

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes an anonymous request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api.throttling.AnonymousRateThrottle",
        "crm.api.throttling.TokenRateThrottle",
        "crm.api.throttling.SessionUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/minute"),
        "token": env_str("API_THROTTLE_TOKEN", "1200/minute"),
        "user": env_str("API_THROTTLE_USER", "1200/minute"),
    },
    "EXCEPTION_HANDLER": "crm.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    # Integration tokens expire; an admin issues a new one
    # (admin "Auth tokens" or POST /api/v1/tokens/).
    "TOKEN_TTL": dt.timedelta(days=env_int("API_TOKEN_TTL_DAYS", 365)),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pulse CRM API",
    "DESCRIPTION": "Customers, sales, support, surveys and KPI history. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Separate request/response components, so read-only fields are not demanded on input.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from our static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CustomerKindEnum": "customers.models.Customer.Kind",
        "CustomerStatusEnum": "customers.models.Customer.Status",
        "OpportunityKindEnum": "sales.models.Opportunity.Kind",
        "OpportunityOutcomeEnum": "sales.models.Opportunity.Outcome",
        "ActivityKindEnum": "sales.models.Activity.Kind",
        "LeadStatusEnum": "sales.models.Lead.Status",
        "OrderStatusEnum": "sales.models.Order.Status",
        "RetentionCaseStatusEnum": "sales.models.RetentionCase.Status",
        "RetentionCaseOutcomeEnum": "sales.models.RetentionCase.Outcome",
        "TicketStatusEnum": "support.models.Ticket.Status",
        "SurveyKindEnum": "surveys.models.SurveyKind",
        "SurveyInvitationStatusEnum": "surveys.models.SurveyInvitation.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.add_error_responses",
    ],
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

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
    # Sign-in protection: lock-out, TOTP devices and recovery codes, the CSP header.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "crm",
    "customers",
    "sales",
    "support",
    "surveys",
    "kpis",
    "reports",
    # The audit trail: django-pghistory event tables and
    # sign-in events; pgtrigger installs the triggers (PostgreSQL only).
    "pgtrigger",
    "pghistory",
    "audit",
    # Customer predictions (BG/NBD + Gamma-Gamma).
    "predictions",
    # Files attached to customers, deals and tickets.
    "attachments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Hashed static files straight from the web process, before sessions or the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: names the signed-in user and the source on the request's writes.
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sign-in: session lifetime/idle limits, then the two-factor gate.
    "django_otp.middleware.OTPMiddleware",
    "crm.signin.middleware.session_limits",
    "crm.signin.middleware.two_factor_gate",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.security_headers.permissions_policy",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
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
# Dates as people write them ("4 Dec 2026, 14:41", "2026年12月4日 14:41") and thousand separators
# in both languages: crm/formats/<locale>/formats.py override Django's defaults.
FORMAT_MODULE_PATH = ["crm.formats"]

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
# Alerts of KPIs whose lifecycle group has index priority 1..N are e-mailed when they fire; the
# others wait for the digest (kpis.priorities).
KPI_ALERT_AT_ONCE_PRIORITY = env_int("KPI_ALERT_AT_ONCE_PRIORITY", 2)
DIGEST_SEND_HOUR = env_int("DIGEST_SEND_HOUR", 7)
if not 0 <= DIGEST_SEND_HOUR <= 23:
    raise ImproperlyConfigured(f"DIGEST_SEND_HOUR must be 0–23, got {DIGEST_SEND_HOUR}")
DIGEST_FROM_EMAIL = env_str("DIGEST_FROM_EMAIL", DEFAULT_FROM_EMAIL)

# Imports: the largest accepted file, and the upload folder (shared with Celery workers).
CRM_IMPORT_MAX_BYTES = env_int("CRM_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
CRM_IMPORT_DIR = env_str("CRM_IMPORT_DIR", str(BASE_DIR / "uploads"))
# XLSX safety: checked from the zip directory before any XML is parsed.
# A 100,000-order workbook unpacks to ~33 MB at a ratio of ~11 (measured); a bomb to GBs at 500+.
CRM_IMPORT_XLSX_MAX_UNPACKED_BYTES = env_int(
    "CRM_IMPORT_XLSX_MAX_UNPACKED_BYTES", 500 * 1024 * 1024
)
CRM_IMPORT_XLSX_MAX_RATIO = env_int("CRM_IMPORT_XLSX_MAX_RATIO", 100)
# Attachments: size cap per file and the accepted types, sniffed from the content.
CRM_ATTACHMENT_MAX_BYTES = env_int("CRM_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
CRM_ATTACHMENT_TYPES = env_list(
    "CRM_ATTACHMENT_TYPES",
    [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ],
)
CRM_ATTACHMENT_MAX_FILES = env_int("CRM_ATTACHMENT_MAX_FILES", 10)
CRM_IMPORT_MAX_COLUMNS = env_int("CRM_IMPORT_MAX_COLUMNS", 200)

# Customer predictions: the fit's minimum data, the per-segment fit threshold, the
# monthly discount rate of the 12-month predictive CLV and the P(alive) below which a customer
# counts as at risk.
PREDICTIONS_MIN_CUSTOMERS = env_int("PREDICTIONS_MIN_CUSTOMERS", 100)
PREDICTIONS_MIN_REPEAT_CUSTOMERS = env_int("PREDICTIONS_MIN_REPEAT_CUSTOMERS", 30)
PREDICTIONS_SEGMENT_MIN_CUSTOMERS = env_int("PREDICTIONS_SEGMENT_MIN_CUSTOMERS", 1000)
try:
    PREDICTIONS_MONTHLY_DISCOUNT_RATE = float(env_str("PREDICTIONS_MONTHLY_DISCOUNT_RATE", "0.01"))
    PREDICTIONS_AT_RISK_P_ALIVE = float(env_str("PREDICTIONS_AT_RISK_P_ALIVE", "0.5"))
except ValueError as exc:
    raise ImproperlyConfigured(f"PREDICTIONS_* rates must be decimal numbers: {exc}") from exc
if not 0 <= PREDICTIONS_MONTHLY_DISCOUNT_RATE < 1:
    raise ImproperlyConfigured("PREDICTIONS_MONTHLY_DISCOUNT_RATE must be in [0, 1)")
if not 0 < PREDICTIONS_AT_RISK_P_ALIVE < 1:
    raise ImproperlyConfigured("PREDICTIONS_AT_RISK_P_ALIVE must be in (0, 1)")

# Redis: unset → Celery runs tasks eagerly in-process and the cache is local memory;
# set → Redis is the Celery broker, the result backend and the Django cache.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # Fails open (crm.cache): with Redis down, pages and throttles go on without a cache.
            "BACKEND": "crm.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env_int("CACHE_REDIS_TIMEOUT_SECONDS", 1),
                "socket_timeout": env_int("CACHE_REDIS_TIMEOUT_SECONDS", 1),
            },
        }
    }
    # --- Redis over TLS: a rediss:// URL, verified against REDIS_SSL_CA_CERTS (else the
    # system CAs). Celery's broker and result backend and the cache each take the options.
    if REDIS_URL.startswith("rediss://"):
        REDIS_TLS: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        if env_str("REDIS_SSL_CA_CERTS", ""):
            REDIS_TLS["ssl_ca_certs"] = env_str("REDIS_SSL_CA_CERTS", "")
        CELERY_BROKER_USE_SSL = REDIS_TLS
        CELERY_REDIS_BACKEND_USE_SSL = REDIS_TLS
        CACHES["default"]["OPTIONS"].update(REDIS_TLS)
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# django-celery-beat's database scheduler, recording each tick for /readyz.
CELERY_BEAT_SCHEDULER = "crm.beat:HeartbeatDatabaseScheduler"

# Faults. A task whose worker child dies is requeued, not acknowledged
# (acks late + reject on worker lost; every task is idempotent). Each task class has a soft limit
# (the task can clean up) and a hard one (the child is killed); the broker's visibility timeout
# is longer than the longest hard limit and the longest retry countdown, so Redis never hands a
# still-running or still-waiting task to a second worker.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 5 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 60)
KPI_TASK_TIME_LIMIT = env_int("KPI_TASK_TIME_LIMIT", 20 * 60)
IMPORT_TASK_TIME_LIMIT = env_int("IMPORT_TASK_TIME_LIMIT", 60 * 60)
CELERY_TASK_ANNOTATIONS = {
    "kpis.tasks.compute_kpis_for_period": {
        "soft_time_limit": KPI_TASK_TIME_LIMIT - 60,
        "time_limit": KPI_TASK_TIME_LIMIT,
    },
    "reports.tasks.send_due_digests": {"soft_time_limit": 25 * 60, "time_limit": 30 * 60},
    "crm.importing.tasks.import_upload_run": {
        "soft_time_limit": IMPORT_TASK_TIME_LIMIT - 60,
        "time_limit": IMPORT_TASK_TIME_LIMIT,
    },
}
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 2 * 60 * 60)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= max(KPI_TASK_TIME_LIMIT, IMPORT_TASK_TIME_LIMIT, 40 * 60):
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed the longest task time limit and retry wait"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # A web request publishing to a broker that is down fails fast; the outbox retries later.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A KpiRun still "running" this long after it started belongs to a dead process (the KPI task's
# hard limit has long killed it): the sweeper marks it failed and recomputes its period.
KPI_RUN_STALE_SECONDS = env_int("KPI_RUN_STALE_SECONDS", KPI_TASK_TIME_LIMIT + 10 * 60)
# "Recompute now" on the KPI pages: at most one request per this many seconds (organisation-wide).
KPI_RECOMPUTE_MIN_SECONDS = env_int("KPI_RECOMPUTE_MIN_SECONDS", 5 * 60)
# How often an open KPI page asks whether a newer KPI run has landed (then swaps its figures in).
KPI_LIVE_POLL_SECONDS = env_int("KPI_LIVE_POLL_SECONDS", 30)
# Outbox (crm.outbox): a task row still unsent this long after commit is re-sent by beat;
# sent rows are kept this many days for inspection.
OUTBOX_RESEND_AFTER_SECONDS = env_int("OUTBOX_RESEND_AFTER_SECONDS", 60)
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 7)
# PostgreSQL restarted (item 13): a persistent connection is checked before reuse, so a
# request or task after a database restart reconnects instead of failing.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

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

# --- Sign-in protection, sessions, and running in production ---
# Lock-out (django-axes): failures within the cool-off window, per account and per client
# address; either budget spent pauses sign-in for that account or address. Unlock in the admin
# ("Access attempts": delete the rows) or `manage.py axes_reset_username NAME` / `axes_reset_ip`.
CRM_SIGNIN_FAILURES_PER_ACCOUNT = env_int("CRM_SIGNIN_FAILURES_PER_ACCOUNT", 5)
CRM_SIGNIN_FAILURES_PER_ADDRESS = env_int("CRM_SIGNIN_FAILURES_PER_ADDRESS", 20)
CRM_SIGNIN_LOCKOUT_MINUTES = env_int("CRM_SIGNIN_LOCKOUT_MINUTES", 15)
if min(CRM_SIGNIN_FAILURES_PER_ACCOUNT, CRM_SIGNIN_FAILURES_PER_ADDRESS) < 1:
    raise ImproperlyConfigured("CRM_SIGNIN_FAILURES_PER_ACCOUNT/_PER_ADDRESS must be 1 or more")
if CRM_SIGNIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("CRM_SIGNIN_LOCKOUT_MINUTES must be 1 or more")
AUTHENTICATION_BACKENDS = [
    "crm.signin.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "crm.signin.lockout.PerAccountAndAddressHandler"
# The order matters: the handler reads the account's count first, then the address's.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = max(CRM_SIGNIN_FAILURES_PER_ACCOUNT, CRM_SIGNIN_FAILURES_PER_ADDRESS)
AXES_COOLOFF_TIME = dt.timedelta(minutes=CRM_SIGNIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "crm.client_address.client_address_or_none"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# A successful sign-in does not wipe the address's count: one known password must not buy
# unlimited guesses at other accounts from the same address.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False

# Two-factor sign-in (TOTP, django-otp): required for these roles; empty turns it off.
CRM_REQUIRE_2FA_ROLES = env_list("CRM_REQUIRE_2FA_ROLES", ["Admin", "Manager"])
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Pulse CRM")

# Sessions: an absolute lifetime and an idle timeout (0 = no idle limit), in minutes.
CRM_SESSION_MAX_AGE_MINUTES = env_int("CRM_SESSION_MAX_AGE_MINUTES", 12 * 60)
CRM_SESSION_IDLE_MINUTES = env_int("CRM_SESSION_IDLE_MINUTES", 60)
if CRM_SESSION_MAX_AGE_MINUTES < 1 or CRM_SESSION_IDLE_MINUTES < 0:
    raise ImproperlyConfigured("CRM_SESSION_MAX_AGE_MINUTES must be >= 1, IDLE_MINUTES >= 0")
SESSION_COOKIE_AGE = CRM_SESSION_MAX_AGE_MINUTES * 60

# Behind reverse proxies: how many of them append to X-Forwarded-For (0 = clients connect
# directly). The client address, used by lock-out and rate limits, is counted from the right.
CRM_TRUSTED_PROXY_COUNT = env_int("CRM_TRUSTED_PROXY_COUNT", 0)
if CRM_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("CRM_TRUSTED_PROXY_COUNT must be 0 or more")
# HTTPS: the proxy terminating TLS says so in this header (e.g. "HTTP_X_FORWARDED_PROTO=https").
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    _header, _, _value = _proxy_ssl_header.partition("=")
    if not (_header.startswith("HTTP_") and _value):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO=https, "
            f"got {_proxy_ssl_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = (_header, _value)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Probes speak plain HTTP to the process, behind the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Content-Security-Policy (django-csp): scripts only from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Bootstrap and htmx set inline styles; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        # The two-factor QR code is an inline SVG image (data: URI).
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Features no page uses are switched off for the page and any frame (see crm/security_headers).
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=()",
)
# Static files: hashed names with far-future caching in production (run collectstatic);
# plain finders under DEBUG and in tests, so neither needs collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Attachments: encrypted on disk under CRM_ATTACHMENT_DIR by default; any Django storage
    # backend (CRM_ATTACHMENT_STORAGE) works, files are only ever served through the download view.
    "attachments": {
        "BACKEND": env_str(
            "CRM_ATTACHMENT_STORAGE", "crm.encryption.storage.EncryptedFileSystemStorage"
        ),
        "OPTIONS": {
            "location": env_str("CRM_ATTACHMENT_DIR", str(BASE_DIR / "media" / "attachments"))
        },
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# API request bodies nested deeper than this are refused (crm/api/parsers.py).
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 10)
# /readyz: the oldest acceptable worker heartbeat, beat tick and successful KPI run.
CRM_READY_WORKER_MAX_AGE_SECONDS = env_int("CRM_READY_WORKER_MAX_AGE_SECONDS", 60)
CRM_READY_BEAT_MAX_AGE_SECONDS = env_int("CRM_READY_BEAT_MAX_AGE_SECONDS", 300)
# compute_open_periods runs every 15 minutes; four missed runs in a row is a problem.
CRM_READY_KPI_RUN_MAX_AGE_MINUTES = env_int("CRM_READY_KPI_RUN_MAX_AGE_MINUTES", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per trigger on every migrate is noise.
        "pgtrigger": {"level": "WARNING"},
    },
}

# --- Audit trail -------------------------------------------------------------------------------
# Triggers are installed after every `migrate` rather than through per-app migrations: tracked
# models include django.contrib.auth's, whose migrations we cannot write to.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
# How long audit and sign-in events are kept; older ones are pruned nightly by beat.
CRM_AUDIT_RETENTION_DAYS = env_int("CRM_AUDIT_RETENTION_DAYS", 730)
# The wall-clock time of each change, not its transaction's start: events of one transaction
# keep their order.
PGHISTORY_CREATED_AT_FUNCTION = "CLOCK_TIMESTAMP()"

"""Pulse CRM settings: one module, every value from the environment with a zero-setup default."""

import datetime as dt
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - development default only
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
    # Sign-in protection (issue 14): lock-out, TOTP devices and recovery codes, the CSP header.
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
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sign-in (issue 14): session lifetime/idle limits, then the two-factor gate.
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
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
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
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
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

# --- Sign-in protection, sessions, and running in production (issue 14, items 4-10) ---
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
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

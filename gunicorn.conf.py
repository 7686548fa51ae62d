"""gunicorn settings for Pulse CRM, every value from the environment (docs/deployment.md).

gunicorn crm.wsgi:application            # reads this file from the working directory
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


# Loopback by default: a reverse proxy (TLS, buffering of slow clients) sits in front.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: our views are short and database-bound; 2 per core plus one.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
# A request running longer than this is killed (the worker restarts); imports and KPI runs
# happen in Celery, never in a request.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle each worker after this many requests (jitter spreads the restarts) to cap slow leaks.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Load the application once in the master, then fork: faster starts, shared memory.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in {"1", "true", "yes", "on"}
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn trusts X-Forwarded-Proto only from these addresses; Django's SECURE_PROXY_SSL_HEADER
# and CRM_TRUSTED_PROXY_COUNT do the rest.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

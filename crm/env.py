"""Small parsers for settings read from the environment (12-factor).

Each raises ImproperlyConfigured naming the variable, so a typo fails at start-up, not at 3 a.m.
"""

import base64
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_GENERATE = (
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


def _secret_key_bytes(name: str, raw: str, position: int | None = None) -> bytes:
    """A url-safe base64 key of 32 bytes (what `Fernet.generate_key()` prints)."""
    where = f"{name} (key {position})" if position is not None else name
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            f"{where} is not url-safe base64; generate one with {_GENERATE}"
        ) from exc
    if len(decoded) != 32:
        raise ImproperlyConfigured(
            f"{where} must decode to 32 bytes, got {len(decoded)}; generate one with {_GENERATE}"
        )
    return decoded


def env_encryption_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys, newest first; empty when unset. The key itself is never
    echoed in the error, only its position."""
    keys = env_list(name, [])
    for position, key in enumerate(keys, start=1):
        _secret_key_bytes(name, key, position)
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{name} lists the same key twice")
    return keys


def env_secret_key(name: str) -> str:
    """One 32-byte url-safe base64 key; empty when unset."""
    raw = os.environ.get(name, "").strip()
    if raw:
        _secret_key_bytes(name, raw)
    return raw

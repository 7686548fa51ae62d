"""The Redis cache, failing open: with Redis unreachable every read is a miss and every write is
dropped (and logged), so pages, API throttles and the survey rate limit keep answering instead of
turning a cache outage into a 500. Nothing in Pulse keeps data only in the cache that a request
could not live without: throttles and rate limits simply stop limiting while Redis is away.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# One warning per this many seconds: an outage must be visible without flooding the log.
WARN_EVERY_SECONDS = 60.0
_last_warning = {"at": 0.0}


def _warn(operation: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning["at"] >= WARN_EVERY_SECONDS:
        _last_warning["at"] = now
        logger.warning("cache unavailable, failing open (%s): %r", operation, exc)


class FailOpenRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache whose Redis errors become misses."""

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except RedisError as exc:
            _warn("add", exc)
            return False

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            _warn("get", exc)
            return default

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError as exc:
            _warn("set", exc)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        try:
            return bool(super().touch(key, timeout, version))
        except RedisError as exc:
            _warn("touch", exc)
            return False

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except RedisError as exc:
            _warn("delete", exc)
            return False

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        try:
            return dict(super().get_many(keys, version))
        except RedisError as exc:
            _warn("get_many", exc)
            return {}

    def has_key(self, key: Any, version: Any = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except RedisError as exc:
            _warn("has_key", exc)
            return False

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        try:
            return int(super().incr(key, delta, version))
        except RedisError as exc:
            # As if the counter had just been created: a rate limit stops limiting, never 500s.
            _warn("incr", exc)
            return delta

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list:
        try:
            return list(super().set_many(data, timeout, version))
        except RedisError as exc:
            _warn("set_many", exc)
            return list(data)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        try:
            super().delete_many(keys, version)
        except RedisError as exc:
            _warn("delete_many", exc)

    def clear(self) -> None:
        try:
            super().clear()
        except RedisError as exc:
            _warn("clear", exc)

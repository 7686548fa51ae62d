"""Rate limits: per client address when anonymous, per token for integrations, per user otherwise.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; the defaults here keep the API limited
even where a deployment forgot to configure them.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from crm.client_address import client_address

DEFAULT_RATES = {"anon": "60/minute", "token": "1200/minute", "user": "1200/minute"}


class _ConfiguredRateThrottle(SimpleRateThrottle):
    def get_ident(self, request: Request) -> str:
        # The address after our trusted proxies (CRM_TRUSTED_PROXY_COUNT), never a value the
        # client writes into X-Forwarded-For: DRF's default reads that header when
        # NUM_PROXIES is unset, so a client could pick a fresh budget with every request.
        return client_address(request)

    def get_rate(self) -> str | None:
        if self.scope is None:
            raise ImproperlyConfigured("A throttle needs a scope.")
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return str(rates.get(self.scope, DEFAULT_RATES[self.scope]))


class AnonymousRateThrottle(_ConfiguredRateThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenRateThrottle(_ConfiguredRateThrottle):
    """One budget per API token (knox token_key), so one noisy integration cannot starve others."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token_key = getattr(request.auth, "token_key", None)
        if not token_key:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token_key}


class SessionUserRateThrottle(_ConfiguredRateThrottle):
    """Signed-in web users calling the API with their session cookie."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        if getattr(request.auth, "token_key", None):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

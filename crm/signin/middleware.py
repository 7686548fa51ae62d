"""Session limits and the two-factor gate, as middleware so no page can forget them."""

import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.signin.services import two_factor_required
from crm.signin.views import two_factor_redirect

SIGNED_IN_AT = "pulse_signed_in_at"
LAST_SEEN_AT = "pulse_last_seen_at"
# The idle clock is written at most this often, so reading pages does not rewrite the session.
LAST_SEEN_RESOLUTION_SECONDS = 60


@cache
def _paths_without_checks() -> tuple[str, ...]:
    """Probes and the steps an unverified user must still reach (prefix match)."""
    return (
        reverse("healthz"),
        reverse("readyz"),
        reverse("two_factor_setup"),
        reverse("two_factor_verify"),
        reverse("logout"),
        reverse("set_language"),
        settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}",
    )


def _exempt(request: HttpRequest) -> bool:
    return request.path_info.startswith(_paths_without_checks())


def session_limits(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Signs out a session older than CRM_SESSION_MAX_AGE_MINUTES or idle for longer than
    CRM_SESSION_IDLE_MINUTES (0 turns the idle limit off). The cookie's own expiry
    (SESSION_COOKIE_AGE) moves on with every write, so the absolute limit is kept here."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if _exempt(request) or not request.user.is_authenticated:
            return get_response(request)
        now = time.time()
        session = request.session
        signed_in_at = session.get(SIGNED_IN_AT)
        last_seen_at = session.get(LAST_SEEN_AT)
        if signed_in_at is None or last_seen_at is None:
            # Signed in before these limits existed, or through force_login: start the clocks.
            session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now
            return get_response(request)
        max_age = settings.CRM_SESSION_MAX_AGE_MINUTES * 60
        idle = settings.CRM_SESSION_IDLE_MINUTES * 60
        if now - float(signed_in_at) > max_age or (idle and now - float(last_seen_at) > idle):
            logout(request)
            messages.info(request, _("Your session has ended. Please log in again."))
            return get_response(request)
        if now - float(last_seen_at) >= LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_AT] = now
        return get_response(request)

    return middleware


def two_factor_gate(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """A user whose role needs two-factor sign-in reaches only the 2FA steps (and logout) until
    verified. API calls with a token are not affected: the token is their credential."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if _exempt(request) or request.META.get("HTTP_AUTHORIZATION", "").startswith("Token "):
            return get_response(request)
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]
            and two_factor_required(user)
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": _("Two-factor sign-in required.")}, status=403)
            return two_factor_redirect(request)
        return get_response(request)

    return middleware


def session_clocks_start(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """user_logged_in receiver: a new sign-in starts both clocks afresh."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = request.session[LAST_SEEN_AT] = time.time()

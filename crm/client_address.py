"""The client's address as seen by the first proxy we trust, not as the client claims.

Behind N trusted reverse proxies each appends the address it received the request from to
X-Forwarded-For, so the client is the N-th entry counted from the right; everything left of
it was written by the client and can be forged. With no trusted proxy (the default), only
REMOTE_ADDR counts. Lock-out, API throttles and the survey rate limit all key on this.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return ""


def _address(request: HttpRequest) -> str:
    remote_addr = _valid(str(request.META.get("REMOTE_ADDR") or ""))
    proxy_count = int(getattr(settings, "CRM_TRUSTED_PROXY_COUNT", 0))
    if proxy_count <= 0:
        return remote_addr
    forwarded = [
        hop.strip()
        for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if hop.strip()
    ]
    if len(forwarded) < proxy_count:
        # Fewer hops than trusted proxies: the request bypassed a proxy; the peer is all we know.
        return remote_addr
    # A proxy that writes something other than an address is misconfigured: trust the peer.
    return _valid(forwarded[-proxy_count]) or remote_addr


def client_address(request: HttpRequest) -> str:
    """The address for rate-limit keys; "unknown" when the request carries none."""
    return _address(request) or "unknown"


def client_address_or_none(request: HttpRequest) -> str | None:
    """The address for django-axes, which stores it in an IP address column (NULL if none)."""
    return _address(request) or None

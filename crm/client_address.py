"""The client's address as seen by the first proxy we trust, not as the client claims.

Behind N trusted reverse proxies each appends the address it received the request from to
X-Forwarded-For, so the client is the N-th entry counted from the right; everything left of
it was written by the client and can be forged. With no trusted proxy (the default), only
REMOTE_ADDR counts. Lock-out, API throttles and the survey rate limit all key on this.
"""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote_addr = str(request.META.get("REMOTE_ADDR") or "")
    proxy_count = int(getattr(settings, "CRM_TRUSTED_PROXY_COUNT", 0))
    if proxy_count <= 0:
        return remote_addr or "unknown"
    forwarded = [
        hop.strip()
        for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if hop.strip()
    ]
    if len(forwarded) < proxy_count:
        # Fewer hops than trusted proxies: the request bypassed a proxy; the peer is all we know.
        return remote_addr or "unknown"
    return forwarded[-proxy_count]

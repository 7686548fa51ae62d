"""The inbound e-mail webhook: a mail relay POSTs one raw RFC 822 message per request.

Authentication: the shared secret INBOUND_EMAIL_SECRET in `Authorization: Bearer <secret>`
(or `X-Inbound-Secret`), compared in constant time; an empty secret disables the endpoint.
The body is the raw message (any content type). Answers are JSON: 200 with the action and
ticket id, 400 for a refused message (malformed, no sender, attachment too large), 401 for a
missing or wrong secret, 413 for an oversize body, 404 while disabled.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from support.inbound import DEFAULT_MAX_BYTES, InboundEmailRefused, inbound_email_process

logger = logging.getLogger(__name__)


def _presented_secret(request: HttpRequest) -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return request.headers.get("X-Inbound-Secret", "").strip()


@csrf_exempt  # machine-to-machine; authenticated by the shared secret instead
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    secret = str(getattr(settings, "INBOUND_EMAIL_SECRET", "") or "")
    if not secret:
        return JsonResponse({"error": "disabled"}, status=404)
    if not hmac.compare_digest(_presented_secret(request).encode(), secret.encode()):
        logger.warning(
            "inbound e-mail webhook: bad secret from %s", request.META.get("REMOTE_ADDR")
        )
        return JsonResponse({"error": "unauthorized"}, status=401)
    limit = int(getattr(settings, "INBOUND_EMAIL_MAX_BYTES", DEFAULT_MAX_BYTES))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        logger.warning("inbound e-mail refused (too_large): %s bytes declared", declared)
        return JsonResponse({"error": "too_large"}, status=413)
    # read() rather than .body: .body is capped by DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
    raw = request.read(limit + 1)
    if len(raw) > limit:
        logger.warning("inbound e-mail refused (too_large): body over %s bytes", limit)
        return JsonResponse({"error": "too_large"}, status=413)
    try:
        result = inbound_email_process(raw=raw)
    except InboundEmailRefused as exc:
        status = 413 if exc.code == "too_large" else 400
        return JsonResponse({"error": exc.code, "detail": exc.messages}, status=status)
    return JsonResponse(
        {
            "action": result.action,
            "ticket": result.ticket.pk if result.ticket is not None else None,
            "message": result.message.pk if result.message is not None else None,
        }
    )

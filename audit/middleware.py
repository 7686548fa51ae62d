"""The audit context of a web, admin or API request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponseBase

from audit.context import ADMIN, API, WEB, audit_context, audit_context_update


def request_source(request: HttpRequest) -> str:
    if request.path.startswith("/admin/"):
        return ADMIN
    if request.path.startswith("/api/"):
        return API
    return WEB


class _AuditedRequest:
    """DRF authenticates inside the view and then sets `user` and `auth` on the Django request
    it wraps; catching those assignments names an API token's user and the token itself."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "user" and getattr(value, "is_authenticated", False):
            audit_context_update(user=value.pk)
        elif name == "auth" and value is not None:
            # knox: the token's public prefix identifies it (the rest is stored hashed).
            token_key = getattr(value, "token_key", None)
            if token_key:
                audit_context_update(token=token_key)
        super().__setattr__(name, value)


class AuditedWSGIRequest(_AuditedRequest, WSGIRequest):
    pass


class AuditedASGIRequest(_AuditedRequest, ASGIRequest):
    pass


class AuditContextMiddleware:
    """Enter the audit context for the whole request: its source and the session's user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        metadata: dict[str, Any] = {"source": request_source(request), "url": request.path}
        if user is not None and user.is_authenticated:
            metadata["user"] = user.pk
        with audit_context(**metadata):
            if type(request) is WSGIRequest:
                request.__class__ = AuditedWSGIRequest
            elif type(request) is ASGIRequest:
                request.__class__ = AuditedASGIRequest
            return self.get_response(request)

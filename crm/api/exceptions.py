"""Errors a client can cause become 4xx responses with field-level messages, never a 500."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def validation_detail(error: DjangoValidationError) -> dict[str, Any] | list[str]:
    """The service's ValidationError as DRF's error body: {field: [messages]} or [messages]."""
    if hasattr(error, "error_dict"):
        detail = {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
        return detail
    return {"non_field_errors": list(error.messages)}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        # Deleting a record other records still point to (orders of a customer, …).
        return Response(
            {
                "detail": _(
                    "This record is still referenced by other records and cannot be deleted."
                )
            },
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, IntegrityError):
        # A database constraint the validation did not anticipate (e.g. a concurrent duplicate).
        return Response(
            {"non_field_errors": [_("The change conflicts with existing data.")]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return exception_handler(exc, context)

"""Serializer fields shared by the app APIs."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key the requesting user may only point at records they can see.

    `selector(user)` is the app's visibility selector; an invisible id is "does not exist",
    exactly as for an unknown id, so the API leaks nothing.
    """

    def __init__(self, *, selector: Callable[[Any], QuerySet], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet | None:
        request = self.context.get("request")
        if request is None:
            return super().get_queryset()
        return self.selector(request.user)

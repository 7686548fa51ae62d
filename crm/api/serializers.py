"""Serializer base classes shared by the app APIs."""

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone
from rest_framework import serializers


class ApiDateTimeField(serializers.DateTimeField):
    """ISO 8601 in the organisation's time zone, or in UTC where that would be invalid.

    Before standard time zones (e.g. year 1800) Europe/Berlin's offset is +00:53:28, which
    RFC 3339 `date-time` cannot express; such values are written in UTC instead.
    """

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            local = self.enforce_timezone(value)
            offset = local.utcoffset()
            if offset is not None and offset.total_seconds() % 60:
                value = value.astimezone(dt.UTC)
                return value.isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


class ApiModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: ApiDateTimeField,
    }

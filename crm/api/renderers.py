"""`?format=csv` and `?format=xlsx` on list endpoints: the same rows as JSON, one column per
field, through the export helper the web lists use (crm.importing.export).

The viewset skips paging for these formats (the whole filtered, visible list) and answers errors
in JSON. XLSX cells are typed from the serializer's fields: decimals as numbers, dates as dates,
date-times in the organisation's time zone (Excel holds no time zone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from crm.importing.export import (
    CONTENT_TYPES,
    ExportColumn,
    cell_text,
    export_filename,
    formula_safe,
    xlsx_file,
)


def _rows(data: Any) -> list[Any]:
    if isinstance(data, dict) and "results" in data:
        return list(data["results"])
    if isinstance(data, list):
        return data
    return [data] if data is not None else []


def _fields(renderer_context: Mapping[str, Any] | None) -> dict[str, serializers.Field]:
    """The list serializer's fields by name, when the view has one (not on errors)."""
    view = (renderer_context or {}).get("view")
    response = (renderer_context or {}).get("response")
    if view is None or (response is not None and response.status_code >= 400):
        return {}
    try:
        serializer = view.get_serializer()
    except (AssertionError, AttributeError, TypeError):
        return {}
    fields = getattr(serializer, "fields", None)
    return dict(fields) if fields is not None else {}


def _header(rows: Sequence[Any], fields: Mapping[str, Any]) -> list[str]:
    """The serializer's readable fields in order, then any other key the rows hold."""
    header = [name for name, field in fields.items() if not getattr(field, "write_only", False)]
    for row in rows:
        for key in row if isinstance(row, dict) else []:
            if key not in header:
                header.append(key)
    return header


def _decimal(value: Any) -> Any:
    try:
        return Decimal(value) if isinstance(value, str) else value
    except InvalidOperation:
        return value


def _datetime(value: Any) -> Any:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None else value


def _date(value: Any) -> Any:
    parsed = parse_date(value) if isinstance(value, str) else None
    return parsed if parsed is not None else value


def _typed(field: Any) -> Callable[[Any], Any] | None:
    """How to turn a field's JSON value back into a typed value; None keeps it."""
    if isinstance(field, serializers.DecimalField):
        return _decimal
    if isinstance(field, serializers.DateTimeField):
        return _datetime
    if isinstance(field, serializers.DateField):
        return _date
    return None


def _download_name(renderer_context: Mapping[str, Any] | None, file_format: str) -> str:
    view = (renderer_context or {}).get("view")
    base = getattr(view, "basename", None) or "export"
    return export_filename(str(base).replace("_", "-"), file_format)


def _attach(renderer_context: Mapping[str, Any] | None, file_format: str) -> None:
    response = (renderer_context or {}).get("response")
    if response is not None and response.status_code < 400:
        name = _download_name(renderer_context, file_format)
        response["Content-Disposition"] = f'attachment; filename="{name}"'


def _text(value: Any) -> str:
    # JSON values are already ISO dates and dot decimals; only structure and formulas matter.
    if isinstance(value, str):
        return formula_safe(value)
    return cell_text(value)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = _rows(data)
        header = _header(rows, _fields(renderer_context))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(row.get(key)) for key in header])
        _attach(renderer_context, self.format)
        return buffer.getvalue().encode(self.charset)


class XLSXRenderer(BaseRenderer):
    media_type = CONTENT_TYPES["xlsx"]
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = _rows(data)
        fields = _fields(renderer_context)
        header = _header(rows, fields)
        converters = [_typed(fields.get(name)) for name in header]
        values = (
            [
                convert(row.get(name)) if convert else row.get(name)
                for name, convert in zip(header, converters, strict=True)
            ]
            for row in rows
            if isinstance(row, dict)
        )
        base = getattr((renderer_context or {}).get("view"), "basename", None) or "export"
        with xlsx_file(values, [ExportColumn(name, name) for name in header], sheet=base) as spool:
            body: bytes = spool.read()
        _attach(renderer_context, self.format)
        return body


# The formats whose list is the whole filtered set (no paging) and whose errors are JSON.
EXPORT_FORMATS = frozenset({CSVRenderer.format, XLSXRenderer.format})

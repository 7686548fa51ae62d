"""CSV and XLSX export of any list, streamed: the helper every list view and API endpoint calls
with its already filtered, visibility-restricted queryset.

    from crm.importing.export import ExportColumn, export_response

    columns = [
        ExportColumn("external_id", "external_id"),
        ExportColumn("customer", "customer__external_id"),
        ExportColumn("ordered_at", "ordered_at"),
        ExportColumn("total", "total"),
    ]
    return export_response(
        rows=export_rows(orders_visible_to(request.user).filter(...), columns),
        columns=columns,
        filename="orders",
        file_format=request.GET.get("format", "csv"),
    )

Column names follow docs/import.md, so an exported file imports back unchanged. Values are
written as the importer reads them: ISO dates in the organisation's time zone, dot decimals.
Text beginning with = + - @ is prefixed with an apostrophe so a spreadsheet never runs it as a
formula (CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse

from kpis.periods import organisation_tz

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportColumn:
    """A column title and the `values()` path it reads (relations by external id or code)."""

    title: str
    path: str


def export_rows(
    queryset: QuerySet[Any], columns: Sequence[ExportColumn], *, chunk_size: int = 2000
) -> Iterator[list[Any]]:
    """The queryset's rows as lists of values, in chunks (constant memory)."""
    paths = [column.path for column in columns]
    for record in queryset.values(*paths).iterator(chunk_size=chunk_size):
        yield [record[path] for path in paths]


def cell_text(value: Any) -> str:
    """A value as the importer reads it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(organisation_tz())
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


class _Echo:
    """A file-like object whose write returns the line, for csv.writer → streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_stream(rows: Iterable[Sequence[Any]], titles: list[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A BOM so Excel opens the UTF-8 file with the right characters; the importer skips it.
    yield "\ufeff" + writer.writerow(titles)
    for row in rows:
        yield writer.writerow([cell_text(value) for value in row])


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(organisation_tz())
        return value.replace(tzinfo=None)
    if isinstance(value, Decimal | int | float | dt.date) and not isinstance(value, bool):
        return value
    return cell_text(value)


def export_response(
    *,
    rows: Iterable[Sequence[Any]],
    columns: Sequence[ExportColumn],
    filename: str,
    file_format: str = "csv",
) -> HttpResponseBase:
    """A download of `rows` as CSV (streamed) or XLSX (openpyxl write-only, spooled to disk)."""
    titles = [column.title for column in columns]
    if file_format == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(title=filename[:31] or "export")
        sheet.append(titles)
        for row in rows:
            sheet.append([_xlsx_value(value) for value in row])
        spool = tempfile.TemporaryFile()
        workbook.save(spool)
        spool.seek(0)
        return FileResponse(
            spool,
            as_attachment=True,
            filename=f"{filename}.xlsx",
            content_type=CONTENT_TYPES["xlsx"],
        )
    response = StreamingHttpResponse(_csv_stream(rows, titles), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def kind_template_columns(kind_key: str) -> list[ExportColumn]:
    """The columns of an import kind, for an empty template file users can fill in."""
    from crm.importing.registry import KINDS

    return [ExportColumn(column.name, column.name) for column in KINDS[kind_key].columns]


def _columns(*names: str | tuple[str, str]) -> list[ExportColumn]:
    return [
        ExportColumn(name, name) if isinstance(name, str) else ExportColumn(*name) for name in names
    ]


# Round-trip column sets: the import columns of docs/import.md, relations by external id/code.
EXPORT_COLUMNS: dict[str, list[ExportColumn]] = {
    "customers": _columns(
        "external_id",
        "name",
        "kind",
        "email",
        "phone",
        "language",
        ("owner", "owner__username"),
        ("team", "team__name"),
        ("channel", "channel__code"),
        ("segment", "segment__code"),
        ("referred_by", "referred_by__external_id"),
        "status",
        "acquired_at",
        "churned_at",
        "created_at",
    ),
    "orders": _columns(
        "external_id",
        ("customer", "customer__external_id"),
        "ordered_at",
        "total",
        "refunded_total",
        "net_amount",
        "currency",
        "exchange_rate",
        "status",
        ("channel", "channel__code"),
        ("owner", "owner__username"),
    ),
    "survey_responses": _columns(
        "external_id",
        ("customer", "customer__external_id"),
        ("survey", "survey__name"),
        "score",
        "responded_at",
        "comment",
        ("ticket", "ticket__external_id"),
        ("order", "order__external_id"),
    ),
    # KPI tables (issue 4: KPI snapshots and the composite index exportable the same way).
    "kpi_snapshots": _columns(
        "kpi",
        "granularity",
        "period_start",
        "period_end",
        "dimension",
        "dimension_value",
        "dimension_label",
        "value",
        "numerator",
        "denominator",
        "sample_size",
        "low_sample",
        "provisional",
        "computed_at",
    ),
    "index_snapshots": _columns(
        "granularity", "period_start", "period_end", "value", "coverage", "band", "computed_at"
    ),
}

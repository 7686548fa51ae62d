"""CSV and XLSX export of any list: the one helper every list view, KPI table and API endpoint
calls with its already filtered, visibility-restricted rows.

    from crm.importing.export import ExportColumn, export_format, export_response, export_rows

    columns = [
        ExportColumn(_("Order"), "external_id"),
        ExportColumn(_("Customer"), "customer__external_id"),
        ExportColumn(_("Ordered"), "ordered_at"),
        ExportColumn(_("Total"), "total", number_format=MONEY_FORMAT),
    ]
    file_format = export_format(request)  # "csv", "xlsx" or None (show the page)
    if file_format:
        return export_response(
            rows=export_rows(orders_visible_to(request.user).filter(...), columns),
            columns=columns,
            filename="orders",
            file_format=file_format,
        )

`export_rows` reads the queryset with `values()` in chunks: one query whatever the row count,
related names by join, no model instances. CSV is streamed; XLSX goes through an openpyxl
write-only workbook spooled to a temporary file, so memory stays flat either way.

Values are typed: in CSV as the importer reads them back (ISO dates in the organisation's time
zone, dot decimals); in XLSX as numbers, dates and date-times (converted to the organisation's
time zone and made naive, since Excel cannot hold a time zone). Text beginning with = + - @ is
prefixed with an apostrophe so a spreadsheet never runs it as a formula (CSV injection); plain
numbers and phone numbers ("+49 30 1234") stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from crm.importing.registry import KINDS
from kpis.periods import organisation_tz

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Numbers and phone numbers hold no function call: "-5", "+49 (30) 1234-5", "1.5e3".
PLAIN_NUMBER = re.compile(r"^[+\-]?[\d\s()./-]+$")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MONEY_FORMAT = "#,##0.00"
# Characters XML (and so XLSX) cannot hold: control characters, which openpyxl refuses, and
# lone surrogates, which cannot be encoded.
XLSX_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037\ud800-\udfff]")
# Excel's limit for one cell's text.
XLSX_MAX_TEXT = 32767
SHEET_TITLE_ILLEGAL = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class ExportColumn:
    """A column: its title, the `values()` path it reads, an optional `display` turning the raw
    value into what is written (a choice label, say) and an XLSX number format."""

    title: Any
    path: str
    display: Callable[[Any], Any] | None = None
    number_format: str = ""


def choice_labels(choices: Iterable[tuple[Any, Any]]) -> Callable[[Any], Any]:
    """A `display` writing a choice's label (translated when written) instead of its value."""
    labels = dict(choices)

    def label(value: Any) -> Any:
        return str(labels[value]) if value in labels else value

    return label


def export_format(request: HttpRequest) -> str | None:
    """`?format=csv` or `?format=xlsx` asks a list for a file; anything else shows the page."""
    requested = request.GET.get("format", "")
    return requested if requested in FORMATS else None


def export_rows(
    queryset: QuerySet[Any], columns: Sequence[ExportColumn], *, chunk_size: int = 2000
) -> Iterator[list[Any]]:
    """The queryset's rows as lists of values, read in chunks with one query (constant memory)."""
    paths = list(dict.fromkeys(column.path for column in columns))
    for record in queryset.values(*paths).iterator(chunk_size=chunk_size):
        yield [
            column.display(record[column.path]) if column.display else record[column.path]
            for column in columns
        ]


def _local(value: dt.datetime) -> dt.datetime:
    """A datetime in the organisation's time zone, without tzinfo (as shown and as Excel holds)."""
    if timezone.is_aware(value):
        try:
            value = value.astimezone(organisation_tz())
        except OverflowError:  # at the calendar's very ends; stays in its own zone
            pass
    return value.replace(tzinfo=None)


def formula_safe(text: str) -> str:
    """The text with a leading apostrophe if a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def cell_text(value: Any) -> str:
    """A value as the importer reads it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return _local(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping | list | tuple):
        return formula_safe(json.dumps(value, default=str, ensure_ascii=False))
    return formula_safe(str(value))


# What our own tables write for a number or a day ("24.000000", "-3", "2024-03-01"); no leading
# zeros, so "007" stays text and a CSV of the typed value reads exactly as the text did.
NUMBER_TEXT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed_text(value: Any) -> Any:
    """A number or ISO date that a table holds as text, as a Decimal or date (so a spreadsheet
    sums and sorts it); any other value unchanged."""
    if not isinstance(value, str):
        return value
    if NUMBER_TEXT.match(value):
        return Decimal(value)
    if DATE_TEXT.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def xlsx_value(value: Any) -> Any:
    """A value as an XLSX cell holds it: numbers, booleans and dates typed, text made safe."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return _local(value)
    if isinstance(value, dt.date):
        return value
    text = XLSX_ILLEGAL.sub("", cell_text(value))
    return text[:XLSX_MAX_TEXT]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer → streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(
    rows: Iterable[Sequence[Any]], titles: list[str], byte_order_mark: bool
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A BOM so Excel opens the UTF-8 file with the right characters; the importer skips it.
    yield ("\ufeff" if byte_order_mark else "") + writer.writerow(titles)
    for row in rows:
        yield writer.writerow([cell_text(value) for value in row])


def _sheet_title(name: str) -> str:
    return SHEET_TITLE_ILLEGAL.sub("-", name)[:31] or "export"


def xlsx_file(
    rows: Iterable[Sequence[Any]], columns: Sequence[ExportColumn], *, sheet: str = "export"
) -> Any:
    """The rows as an XLSX workbook in a temporary file, positioned at its start."""
    # openpyxl takes a few tenths of a second to import; only XLSX downloads need it.
    import openpyxl  # noqa: PLC0415  heavy, XLSX only
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415  heavy, XLSX only
    from openpyxl.styles import Font  # noqa: PLC0415  heavy, XLSX only

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=_sheet_title(sheet))
    header = []
    for column in columns:
        title = WriteOnlyCell(worksheet, value=xlsx_value(str(column.title)))
        title.font = Font(bold=True)
        header.append(title)
    worksheet.append(header)
    formats = [column.number_format for column in columns]
    for row in rows:
        cells: list[Any] = []
        for value, number_format in zip(row, formats, strict=False):
            value = xlsx_value(value)
            if number_format and isinstance(value, int | float | Decimal):
                typed = WriteOnlyCell(worksheet, value=value)
                typed.number_format = number_format
                cells.append(typed)
            else:
                cells.append(value)
        worksheet.append(cells)
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return spool


def export_filename(filename: str, file_format: str, *, dated: bool = True) -> str:
    """`customers` → `customers-2026-11-28.xlsx` (today in the organisation's time zone)."""
    if dated:
        filename = f"{filename}-{timezone.localdate(timezone=organisation_tz()).isoformat()}"
    return f"{filename}.{file_format}"


def export_response(
    *,
    rows: Iterable[Sequence[Any]],
    columns: Sequence[ExportColumn],
    filename: str,
    file_format: str = "csv",
    dated: bool = True,
    stream: bool = True,
    byte_order_mark: bool = True,
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    """A download of `rows` as CSV or XLSX, named `<filename>-<date>.<format>`.

    CSV is streamed unless `stream=False` (small tables already in memory); XLSX is written to a
    temporary file and streamed from it.
    """
    if file_format not in FORMATS:
        raise ValueError(f"Unknown export format {file_format!r}")
    name = export_filename(filename, file_format, dated=dated)
    if file_format == "xlsx":
        return FileResponse(
            xlsx_file(rows, columns, sheet=filename),
            as_attachment=True,
            filename=name,
            content_type=CONTENT_TYPES["xlsx"],
        )
    lines = _csv_lines(rows, [str(column.title) for column in columns], byte_order_mark)
    response: HttpResponse | StreamingHttpResponse
    if stream:
        response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES["csv"])
    else:
        response = HttpResponse("".join(lines), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def kind_template_columns(kind_key: str) -> list[ExportColumn]:
    """The columns of an import kind, for an empty template file users can fill in."""
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
    # KPI snapshots export as their API fields, built on kpis.selectors.EXPORT_COLUMNS.
    "index_snapshots": _columns(
        "granularity", "period_start", "period_end", "value", "coverage", "band", "computed_at"
    ),
}

"""Readers: a CSV (UTF-8 with or without BOM, comma or semicolon) or XLSX file as a header and a
stream of (line number, cells) rows, never the whole file in memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
# A wider file is not a CRM export: refused before its rows are read (settings override it).
DEFAULT_MAX_COLUMNS = 200
SNIFF_BYTES = 64 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be imported (encoding, format, size, columns …)."""


def max_import_bytes() -> int:
    """The size limit: settings.CRM_IMPORT_MAX_BYTES when set, else 200 MB."""
    return int(getattr(settings, "CRM_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass
class Table:
    """A header and a lazy iterator of rows; `progress()` is the fraction of the file read."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    size: int
    _position: Any = field(default=None, repr=False)

    def progress(self) -> float | None:
        if self._position is None or not self.size:
            return None
        return min(1.0, self._position() / self.size)


def file_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    raise ImportFileError(
        _("Unsupported file type “%(suffix)s”: upload a .csv or .xlsx file.")
        % {"suffix": suffix or _("(none)")}
    )


def open_table(path: Path, *, name: str | None = None, max_bytes: int | None = None) -> Table:
    """Open `path` (format from `name` or the path's suffix) after the size check."""
    limit = max_import_bytes() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > limit:
        raise ImportFileError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": round(size / 1024 / 1024, 1), "limit": round(limit / 1024 / 1024, 1)}
        )
    if size == 0:
        raise ImportFileError(_("The file is empty."))
    if file_format(name or path.name) == "xlsx":
        return _open_xlsx(path, size)
    return _open_csv(path, size)


# --- CSV -------------------------------------------------------------------------------------


def _sniff_delimiter(sample: str) -> str:
    """Semicolon when the header line has more semicolons than commas (Excel in many locales)."""
    first_line = sample.splitlines()[0] if sample else ""
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _open_csv(path: Path, size: int) -> Table:
    raw = path.open("rb")
    head = raw.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        raw.close()
        raise ImportFileError(
            _("The file is UTF-16 encoded; save it as “CSV UTF-8” and import it again.")
        )
    try:
        sample = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The sample may end in the middle of a multi-byte character: only that is forgiven.
        if exc.start < len(head) - 4:
            raw.close()
            raise ImportFileError(_wrong_encoding(head, exc.start)) from exc
        sample = head[: exc.start].decode("utf-8-sig")
    raw.seek(0)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, delimiter=_sniff_delimiter(sample))
    try:
        header = next(reader)
    except StopIteration:
        raw.close()
        raise ImportFileError(_("The file is empty.")) from None
    except UnicodeDecodeError as exc:
        raw.close()
        raise ImportFileError(_wrong_encoding(head, exc.start)) from exc
    except csv.Error as exc:
        raw.close()
        raise ImportFileError(
            _("The CSV is malformed near line %(line)s: %(error)s") % {"line": 1, "error": exc}
        ) from exc
    if len(header) > max_import_columns():
        raw.close()
        raise _too_many_columns(len(header), max_import_columns())

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as exc:
                    raise ImportFileError(
                        _(
                            "The file is not UTF-8 encoded (invalid byte near line %(line)s); "
                            "save it as “CSV UTF-8” and import it again."
                        )
                        % {"line": reader.line_num + 1}
                    ) from exc
                except csv.Error as exc:
                    raise ImportFileError(
                        _("The CSV is malformed near line %(line)s: %(error)s")
                        % {"line": reader.line_num, "error": exc}
                    ) from exc
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
        finally:
            raw.close()

    def position() -> int:
        return size if raw.closed else raw.tell()

    return Table(header=header, rows=rows(), size=size, _position=position)


def _wrong_encoding(head: bytes, offset: int) -> str:
    line = head[:offset].count(b"\n") + 1
    return _(
        "The file is not UTF-8 encoded (invalid byte on line %(line)s); "
        "save it as “CSV UTF-8” and import it again."
    ) % {"line": line}


# --- XLSX ------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would hold, so one set of parsers serves both formats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # repr is the shortest text that round-trips: 19.99 stays "19.99".
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value)


def check_xlsx_archive(path: Path) -> None:
    """Refuse a zip bomb before any XML is parsed: the unpacked total and the compression ratio
    (unpacked / packed) from the zip's directory are checked against settings.

    The directory's sizes can be trusted: Python's zipfile stops each member at its declared
    size and fails the CRC check on anything longer.
    """
    max_unpacked = int(getattr(settings, "CRM_IMPORT_XLSX_MAX_UNPACKED_BYTES", 0))
    max_ratio = int(getattr(settings, "CRM_IMPORT_XLSX_MAX_RATIO", 0))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            _("The file is not a valid .xlsx workbook (%(error)s).") % {"error": exc}
        ) from exc
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > max_unpacked:
        raise ImportFileError(
            _(
                "The workbook unpacks to %(size)s MB; the limit is %(limit)s MB. "
                "Save it as CSV or split it into smaller files."
            )
            % {"size": round(unpacked / 1024 / 1024, 1), "limit": round(max_unpacked / 1024 / 1024)}
        )
    if packed and unpacked / packed > max_ratio:
        raise ImportFileError(
            _(
                "The workbook is compressed %(ratio)s times, more than the %(limit)s times a "
                "real spreadsheet reaches; it was refused as a possible zip bomb."
            )
            % {"ratio": round(unpacked / packed), "limit": max_ratio}
        )


def _xlsx_error(exc: BaseException) -> ImportFileError:
    """openpyxl raises whatever its zip and XML layers raise (BadZipFile, ParseError, KeyError,
    defusedxml's refusals …), which load_workbook wraps in a plain ValueError naming the
    server's file path: the wrapped error becomes one clear message for the import."""
    while type(exc) is ValueError and exc.__context__ is not None:
        exc = exc.__context__
    return ImportFileError(
        _("The file is not a valid .xlsx workbook (%(error)s).")
        % {"error": f"{type(exc).__name__}: {exc}"}
    )


def _too_many_columns(count: int, limit: int) -> ImportFileError:
    return ImportFileError(
        _("The file has %(count)s columns; at most %(limit)s are accepted.")
        % {"count": count, "limit": limit}
    )


def max_import_columns() -> int:
    return int(getattr(settings, "CRM_IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS))


def _open_xlsx(path: Path, size: int) -> Table:
    check_xlsx_archive(path)
    # openpyxl takes a few tenths of a second to import; CSV imports and commands need not.
    import openpyxl  # noqa: PLC0415  heavy, XLSX only

    max_columns = max_import_columns()
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a reader error of any kind is the file's fault
        raise _xlsx_error(exc) from exc
    try:
        sheet = workbook.worksheets[0]
        # One column more than the cap, so a wider sheet is detected without reading it whole.
        iterator = sheet.iter_rows(values_only=True, max_col=max_columns + 1)
        header_values = next(iterator)
        total_rows = sheet.max_row or 0
    except StopIteration:
        workbook.close()
        raise ImportFileError(_("The file is empty.")) from None
    except Exception as exc:  # noqa: BLE001 - a reader error of any kind is the file's fault
        workbook.close()
        raise _xlsx_error(exc) from exc
    header = [_cell_text(value) for value in header_values]
    # iter_rows pads every row to max_col: the table is as wide as its last titled column.
    while header and not header[-1].strip():
        header.pop()
    width = len(header)
    if len(header) > max_columns:
        workbook.close()
        raise _too_many_columns(len(header), max_columns)
    done = {"line": 1}

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            line = 1
            while True:
                try:
                    values = next(iterator)
                except StopIteration:
                    return
                except Exception as exc:  # noqa: BLE001 - malformed XML further down the sheet
                    raise _xlsx_error(exc) from exc
                line += 1
                done["line"] = line
                cells = [_cell_text(value) for value in values[:width]]
                if any(cell.strip() for cell in cells):
                    yield line, cells
        finally:
            workbook.close()

    def position() -> float:
        return done["line"] / total_rows * size if total_rows else 0

    return Table(header=header, rows=rows(), size=size, _position=position)

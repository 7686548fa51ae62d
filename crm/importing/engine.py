"""The import run: read the file in chunks, validate each chunk with set-based lookups, upsert the
valid rows in batches inside one transaction, then report.

Modes: by default all-or-nothing (any bad row → the transaction is rolled back, nothing written);
`skip_invalid` writes the valid rows and reports the others as skipped; `dry_run` writes nothing.
Memory stays bounded: one chunk of rows at a time, plus the set of external ids already seen (to
refuse duplicates inside one file) and the ids of records whose derived fields are refreshed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from audit.context import IMPORT, audit_context
from crm.importing.base import ImportContext, ImportKind, Row
from crm.importing.files import ImportFileError, Table, open_table
from crm.importing.registry import KINDS
from crm.outbox import tasks_send_on_commit
from kpis.periods import GRANULARITIES, period_bounds
from kpis.selectors import snapshot_periods_stored
from kpis.tasks import compute_kpis_for_period

CHUNK_SIZE = 2000
MAX_REPORTED_ERRORS = 1000

Progress = Callable[[int, float | None], None]


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("line %(line)s, column %(column)s: %(message)s") % {
            "line": self.line,
            "column": self.column or "—",
            "message": self.message,
        }


@dataclass
class ImportReport:
    kind: str
    dry_run: bool = False
    skip_invalid: bool = False
    file_error: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_invalid: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    periods: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def committed(self) -> bool:
        """True when rows were (or, in a dry run, would be) written and nothing blocked it."""
        if self.file_error:
            return False
        return self.skip_invalid or self.errors_total == 0

    @property
    def ok(self) -> bool:
        return not self.file_error and self.errors_total == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "file_error": self.file_error,
            "mapping": self.mapping,
            "ignored_columns": self.ignored_columns,
            "rows_read": self.rows_read,
            "rows_invalid": self.rows_invalid,
            "created": self.created,
            "updated": self.updated,
            "errors": [[e.line, e.column, e.message] for e in self.errors],
            "errors_total": self.errors_total,
            "periods": self.periods,
            "committed": self.committed,
        }


# --- columns -----------------------------------------------------------------------------------


def normalise_header(text: str) -> str:
    """“Customer ID ”, “customer-id” and “CUSTOMER_ID” all become “customer_id”."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower()).strip("_")


def detect_mapping(kind: ImportKind, header: list[str]) -> dict[int, str]:
    """Header position → column name, matched case-insensitively by name or alias."""
    lookup: dict[str, str] = {}
    for column in kind.columns:
        lookup[normalise_header(column.name)] = column.name
        for alias in column.aliases:
            lookup.setdefault(normalise_header(alias), column.name)
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        name = lookup.get(normalise_header(title))
        if name is not None and name not in mapping.values():
            mapping[index] = name
    return mapping


def apply_overrides(
    kind: ImportKind, header: list[str], mapping: dict[int, str], overrides: dict[str, str]
) -> dict[int, str]:
    """An edited mapping from the web page: header text → column name ("" ignores the column)."""
    known = set(kind.column_names())
    result = dict(mapping)
    for index, title in enumerate(header):
        if title not in overrides:
            continue
        target = overrides[title]
        result.pop(index, None)
        if target and target in known:
            for other, name in list(result.items()):
                if name == target:
                    result.pop(other)
            result[index] = target
    return result


def check_columns(kind: ImportKind, header: list[str], mapping: dict[int, str]) -> None:
    """Refuse a file missing required columns, naming the kind it looks like when another fits."""
    if not any(cell.strip() for cell in header):
        raise ImportFileError(_("The file has no header row."))
    present = set(mapping.values())
    missing = [name for name in kind.required_columns() if name not in present]
    if not missing:
        return
    for other in KINDS.values():
        if other.key == kind.key:
            continue
        other_present = set(detect_mapping(other, header).values())
        if other.required_columns() and all(
            name in other_present for name in other.required_columns()
        ):
            raise ImportFileError(
                _(
                    "This looks like a “%(other)s” file, not “%(kind)s”: missing required "
                    "column(s) %(missing)s."
                )
                % {"other": other.key, "kind": kind.key, "missing": ", ".join(missing)}
            )
    raise ImportFileError(
        _("Missing required column(s) for %(kind)s: %(missing)s. Columns found: %(found)s.")
        % {
            "kind": kind.key,
            "missing": ", ".join(missing),
            "found": ", ".join(cell for cell in header if cell.strip()) or "—",
        }
    )


# --- the run -----------------------------------------------------------------------------------


def _chunks(table: Table, size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while True:
        chunk = list(islice(table.rows, size))
        if not chunk:
            return
        yield chunk


def _rows(chunk: list[tuple[int, list[str]]], mapping: dict[int, str]) -> list[Row]:
    rows = []
    for line, cells in chunk:
        width = len(cells)
        rows.append(
            Row(
                line=line,
                cells={
                    name: cells[index].strip() if index < width else ""
                    for index, name in mapping.items()
                },
            )
        )
    return rows


class _Rollback(Exception):
    """Raised inside the transaction to undo it (errors in all-or-nothing mode, dry runs)."""


def import_file(
    *,
    kind: str,
    path: Path,
    name: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    overrides: dict[str, str] | None = None,
    max_bytes: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    refresh_kpis: bool = True,
    progress: Progress | None = None,
    user_id: int | None = None,
    run: str = "",
) -> ImportReport:
    """Import `path` as `kind`; see the module docstring for the modes. Never raises on bad input:
    the report carries a file-level error or the row errors.

    The audit trail records the writes as source "import" with `run` (the upload, or the file
    name) and the importing user.
    """
    importer = KINDS.get(kind)
    report = ImportReport(kind=kind, dry_run=dry_run, skip_invalid=skip_invalid)
    if importer is None:
        report.file_error = _("Unknown kind “%(kind)s”; one of: %(kinds)s.") % {
            "kind": kind,
            "kinds": ", ".join(KINDS),
        }
        return report
    try:
        table = open_table(path, name=name, max_bytes=max_bytes)
        mapping = detect_mapping(importer, table.header)
        if overrides:
            mapping = apply_overrides(importer, table.header, mapping, overrides)
        report.mapping = {table.header[index]: column for index, column in sorted(mapping.items())}
        report.ignored_columns = [
            title for index, title in enumerate(table.header) if index not in mapping and title
        ]
        check_columns(importer, table.header, mapping)
        ctx = ImportContext(columns=frozenset(mapping.values()), dry_run=dry_run)
        audit: dict[str, Any] = {"source": IMPORT, "import_run": run or f"{kind}:{path.name}"}
        if user_id is not None:
            audit["user"] = user_id
        try:
            with audit_context(**audit), transaction.atomic():
                _run(importer, table, mapping, ctx, report, chunk_size, progress)
                if report.rows_read == 0:
                    raise ImportFileError(_("The file has a header but no data rows."))
                if dry_run or not report.committed:
                    raise _Rollback
                report.periods = _touched_periods(ctx) if refresh_kpis else []
                if report.periods:
                    # Outbox rows in the import's transaction: sent after commit, or by beat.
                    _enqueue_kpis(report.periods)
        except _Rollback:
            if dry_run and report.committed:
                report.periods = _touched_periods(ctx) if refresh_kpis else []
    except ImportFileError as exc:
        report.file_error = str(exc)
        report.created = report.updated = 0
    except DatabaseError as exc:
        # A constraint the validation did not foresee: the transaction is rolled back whole.
        report.file_error = _(
            "The database refused the import; nothing was written (%(error)s)."
        ) % {"error": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}
        report.created = report.updated = 0
    if not report.committed:
        report.created = report.updated = 0
    return report


def _run(
    importer: ImportKind,
    table: Table,
    mapping: dict[int, str],
    ctx: ImportContext,
    report: ImportReport,
    chunk_size: int,
    progress: Progress | None,
) -> None:
    importer.prepare(ctx)
    seen: dict[str, int] = {}
    writing = not ctx.dry_run
    identity = importer.identity
    for chunk in _chunks(table, chunk_size):
        rows = _rows(chunk, mapping)
        report.rows_read += len(rows)
        if identity is not None:
            for row in rows:
                key = row.raw(identity)
                if not key:
                    continue
                first = seen.get(key)
                if first is not None:
                    row.error(
                        identity,
                        _("duplicate external id “%(id)s” (already on line %(line)s)")
                        % {"id": key, "line": first},
                    )
                else:
                    seen[key] = row.line
        importer.validate(rows, ctx)
        _report_errors(rows, report)
        if report.errors_total and not report.skip_invalid:
            writing = False  # all-or-nothing: keep validating, stop writing
        valid = [row for row in rows if not row.errors]
        for row in valid:
            ctx.touch(*importer.touched(row))
        if writing and valid:
            importer.write(valid, ctx)
            # Kinds written through the per-row services may refuse a row while writing.
            refused = [row for row in valid if row.errors]
            if refused:
                _report_errors(refused, report)
                valid = [row for row in valid if not row.errors]
                if not report.skip_invalid:
                    writing = False
        importer.count(valid, ctx)
        if progress is not None:
            progress(report.rows_read, table.progress())
    if writing:
        importer.finish(ctx)
        for line, column, message in ctx.late_errors:
            report.errors_total += 1
            report.errors.append(RowError(line, column, message))
        if ctx.late_errors:
            # Found after writing (e.g. a refund above the new total): nothing may stay.
            report.skip_invalid = False
    report.created, report.updated = ctx.created, ctx.updated


def _report_errors(rows: list[Row], report: ImportReport) -> None:
    for row in rows:
        if row.errors:
            report.rows_invalid += 1
        for column, message in row.errors:
            report.errors_total += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(RowError(row.line, column, message))


# --- KPI refresh -------------------------------------------------------------------------------

# Coarse periods are always refreshed; days and weeks only when snapshots of them already exist
# (a historical import must not queue a thousand daily runs nobody looks at).
ALWAYS_REFRESHED = ("month", "quarter", "year")


def _touched_periods(ctx: ImportContext) -> list[str]:
    if not ctx.touched_days:
        return []
    periods: set[tuple[str, dt.date]] = set()
    for day in ctx.touched_days:
        for granularity in GRANULARITIES:
            periods.add((granularity, period_bounds(granularity, day)[0]))
    fine = {(g, start) for g, start in periods if g not in ALWAYS_REFRESHED}
    if fine:
        starts = {start for _g, start in fine}
        stored = snapshot_periods_stored(granularities=["day", "week"], period_starts=starts)
        periods = {p for p in periods if p[0] in ALWAYS_REFRESHED or p in stored}
    order = {g: i for i, g in enumerate(GRANULARITIES)}
    return [
        f"{g}:{start.isoformat()}"
        for g, start in sorted(periods, key=lambda p: (order[p[0]], p[1]))
    ]


def _enqueue_kpis(periods: list[str]) -> None:
    tasks_send_on_commit(
        compute_kpis_for_period, [(tuple(label.split(":", 1)), {}) for label in periods]
    )

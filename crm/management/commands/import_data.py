"""`manage.py import_data KIND PATH [--dry-run] [--skip-invalid]` — see docs/import.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.importing.engine import ImportReport, import_file
from crm.importing.files import max_import_bytes
from crm.importing.registry import KINDS


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of one kind; all-or-nothing unless --skip-invalid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and report; write nothing."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Write the valid rows and report the skipped ones.",
        )
        parser.add_argument(
            "--max-bytes",
            type=int,
            default=None,
            help=f"File size limit in bytes (default {max_import_bytes()}).",
        )
        parser.add_argument(
            "--no-kpi-refresh",
            action="store_true",
            help="Do not recompute the KPI periods the data touched (e.g. before a backfill).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        report = import_file(
            kind=options["kind"],
            path=path,
            dry_run=options["dry_run"],
            skip_invalid=options["skip_invalid"],
            max_bytes=options["max_bytes"],
            refresh_kpis=not options["no_kpi_refresh"],
        )
        self._print(report)
        if report.file_error:
            raise CommandError(report.file_error)
        if not report.committed:
            raise CommandError(
                f"{report.errors_total} error(s) in {report.rows_invalid} row(s); nothing was "
                "imported. Fix the rows or use --skip-invalid."
            )

    def _print(self, report: ImportReport) -> None:
        out = self.stdout
        if report.mapping:
            out.write(
                "Columns: "
                + ", ".join(f"{header} → {column}" for header, column in report.mapping.items())
            )
        if report.ignored_columns:
            out.write("Ignored columns: " + ", ".join(report.ignored_columns))
        for error in report.errors:
            self.stderr.write(f"  {error}")
        if report.errors_total > len(report.errors):
            self.stderr.write(f"  … and {report.errors_total - len(report.errors)} more")
        if report.file_error:
            return
        verb = "Would write" if report.dry_run else "Wrote"
        skipped = f", skipped {report.rows_invalid} invalid" if report.skip_invalid else ""
        if report.committed:
            out.write(
                f"{verb} {report.written} {report.kind} ({report.created} new, "
                f"{report.updated} updated) from {report.rows_read} rows{skipped}."
            )
        if report.periods:
            label = "KPI periods to recompute" if report.dry_run else "KPI periods recomputed"
            out.write(f"{label}: " + ", ".join(report.periods))

"""`manage.py kpis compute|export|list|schedule|docs` — the KPI engine from the command line.

Bad input (unknown KPI, granularity or date, end before start) raises CommandError naming the
problem before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from kpis.definitions import UnknownKpiError, registry
from kpis.definitions.base import DIMENSIONS
from kpis.definitions.docs import render_kpi_docs
from kpis.engine import compute_period
from kpis.periods import (
    GRANULARITIES,
    PeriodError,
    current_period,
    iter_periods,
    parse_date,
    parse_granularity,
)
from kpis.selectors import (
    EXPORT_COLUMNS,
    period_has_snapshots,
    snapshot_export_rows,
    snapshot_list,
)
from kpis.tasks import beat_schedule_install, compute_kpis_for_period

DOCS_PATH = Path(settings.BASE_DIR) / "docs" / "kpis.md"


class Command(BaseCommand):
    help = "Compute, export and list KPIs; install the beat schedule; regenerate docs/kpis.md."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True)

        compute = subcommands.add_parser("compute", help="Compute (backfill) KPI snapshots.")
        compute.add_argument("--granularity", required=True, help=", ".join(GRANULARITIES))
        compute.add_argument("--start", help="First day (YYYY-MM-DD); default: the open period.")
        compute.add_argument(
            "--end", help="Day after the last (exclusive, YYYY-MM-DD); default: the current period."
        )
        compute.add_argument("--kpi", action="append", dest="kpis", help="KPI key (repeatable).")
        compute.add_argument(
            "--enqueue", action="store_true", help="Send one task per period to the broker."
        )
        compute.add_argument(
            "--quiet-if-fresh",
            action="store_true",
            help="Do nothing when the newest period of the range already has snapshots.",
        )

        export = subcommands.add_parser("export", help="Write snapshots to stdout.")
        export.add_argument("--granularity", required=True, help=", ".join(GRANULARITIES))
        export.add_argument("--kpi", action="append", dest="kpis", help="KPI key (repeatable).")
        export.add_argument("--dimension", help=", ".join(DIMENSIONS))
        export.add_argument("--start", help="First period start (YYYY-MM-DD).")
        export.add_argument("--end", help="Periods starting before this day (exclusive).")
        export.add_argument("--format", required=True, choices=["csv", "json"], dest="fmt")

        subcommands.add_parser("list", help="The KPI catalogue with units and formulas.")
        subcommands.add_parser("schedule", help="Install/update the Celery beat entries.")
        docs = subcommands.add_parser("docs", help="Regenerate docs/kpis.md.")
        docs.add_argument("--check", action="store_true", help="Fail if the file is stale.")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"handle_{options['subcommand']}")
        try:
            handler(**options)
        except (PeriodError, UnknownKpiError) as exc:
            raise CommandError(str(exc)) from exc

    # --- input ---------------------------------------------------------------------------------

    def _range(
        self, granularity: str, start_raw: str | None, end_raw: str | None
    ) -> tuple[dt.date, dt.date]:
        if start_raw is None:
            if end_raw is not None:
                raise CommandError("--end needs --start.")
            return current_period(granularity)
        start = parse_date(start_raw, name="--start date")
        if end_raw is None:
            # A backfill from --start runs through the current (open) period.
            current_end = current_period(granularity)[1]
            if current_end <= start:
                raise CommandError(f"--start {start.isoformat()} is after the current period.")
            return start, current_end
        end = parse_date(end_raw, name="--end date")
        if end <= start:
            raise CommandError(
                f"--end {end.isoformat()} must be after --start {start.isoformat()} "
                "(the end is exclusive)."
            )
        return start, end

    def _kpi_keys(self, raw: list[str] | None) -> list[str] | None:
        if not raw:
            return None
        return [registry.get(key.strip()).key for key in raw]

    # --- subcommands ---------------------------------------------------------------------------

    def handle_compute(self, **options: Any) -> None:
        granularity = parse_granularity(options["granularity"])
        kpi_keys = self._kpi_keys(options["kpis"])
        start, end = self._range(granularity, options["start"], options["end"])
        periods = list(iter_periods(granularity, start, end))
        # The newest period of the range stands for the whole backfill: `make run` re-runs quickly.
        if options["quiet_if_fresh"] and periods:
            if period_has_snapshots(granularity=granularity, period_start=periods[-1][0]):
                self.stdout.write(f"KPIs for the current {granularity} are fresh; skipped.")
                return
        began = time.monotonic()
        if options["enqueue"]:
            for period_start, _period_end in periods:
                compute_kpis_for_period.delay(granularity, period_start.isoformat(), kpi_keys)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Queued {len(periods)} {granularity} period(s) in "
                    f"{time.monotonic() - began:.1f}s."
                )
            )
            return
        rows = 0
        progress = tqdm(periods, unit="period", disable=len(periods) < 2, file=self.stderr)
        for index, (period_start, _period_end) in enumerate(progress):
            progress.set_description(period_start.isoformat())
            # Customer scores describe "now": a backfill refreshes them once, for its last period.
            run = compute_period(
                granularity=granularity,
                period_start=period_start,
                kpi_keys=kpi_keys,
                refresh_scores=None if index == len(periods) - 1 else False,
            )
            rows += run.rows_written
        self.stdout.write(
            self.style.SUCCESS(
                f"Computed {len(periods)} {granularity} period(s), {rows} rows in "
                f"{time.monotonic() - began:.1f}s."
            )
        )

    def handle_export(self, **options: Any) -> None:
        granularity = parse_granularity(options["granularity"])
        kpi_keys = self._kpi_keys(options["kpis"])
        dimension = options["dimension"]
        if dimension is not None and dimension not in DIMENSIONS:
            raise CommandError(
                f"Unknown dimension {dimension!r}: expected one of {', '.join(DIMENSIONS)}."
            )
        start = parse_date(options["start"], name="--start date") if options["start"] else None
        end = parse_date(options["end"], name="--end date") if options["end"] else None
        if start and end and end <= start:
            raise CommandError(
                f"--end {end.isoformat()} must be after --start {start.isoformat()}."
            )
        rows = snapshot_export_rows(
            snapshot_list(
                granularity=granularity,
                kpi_keys=kpi_keys,
                dimension=dimension,
                start=start,
                end=end,
            )
        )
        if options["fmt"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        writer = csv.DictWriter(self.stdout, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    def handle_list(self, **options: Any) -> None:
        for definition in registry.all():
            cohort = f", cohort {definition.maturity_days}d" if definition.maturity_days else ""
            self.stdout.write(
                f"{definition.key} [{definition.stage}, {definition.unit}, "
                f"{definition.direction} is better{cohort}] {definition.name}\n"
                f"    {definition.formula}\n"
                f"    dimensions: {', '.join(definition.dimensions)}"
            )

    def handle_schedule(self, **options: Any) -> None:
        for name in beat_schedule_install():
            self.stdout.write(f"Installed beat entry: {name}")

    def handle_docs(self, **options: Any) -> None:
        text = render_kpi_docs()
        if options["check"]:
            current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
            if current != text:
                raise CommandError(f"{DOCS_PATH} is stale: run `manage.py kpis docs`.")
            self.stdout.write(f"{DOCS_PATH} is up to date.")
            return
        DOCS_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {DOCS_PATH}.")

"""`manage.py predict fit|score|schedule` — customer predictions from the command line.

    predict fit --calibration-end YYYY-MM-DD [--segment CODE] [--format json]
    predict score [--as-of YYYY-MM-DD]
    predict schedule

Bad input (a malformed or future date, one before the first order, an unknown segment) is a
CommandError before anything is stored; a fit that cannot be made (too few customers, no
convergence) is stored as a failed run and the command exits non-zero with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.models import Segment
from predictions.models import PredictionRun
from predictions.services import (
    PredictionInputError,
    PredictionUnavailable,
    prediction_fit,
    prediction_score,
)
from predictions.tasks import beat_schedule_install


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def run_figures(run: PredictionRun) -> dict[str, Any]:
    """The command's JSON shape."""
    return {
        "bgnbd": {
            "r": run.r,
            "alpha": run.alpha,
            "a": run.a,
            "b": run.b,
            "log_likelihood": run.log_likelihood,
        },
        "gamma_gamma": {"p": run.p, "q": run.q, "v": run.v},
        "customers": run.customers,
        "repeat_customers": run.repeat_customers,
    }


class Command(BaseCommand):
    help = "Fit the BG/NBD and Gamma-Gamma models, score customers, install the weekly schedule."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        fit = subcommands.add_parser("fit", help="Fit the models at a calibration end.")
        fit.add_argument(
            "--calibration-end",
            required=True,
            help="The last day whose orders are included (YYYY-MM-DD); T runs to that day.",
        )
        fit.add_argument("--segment", help="Segment code: fit on that segment's customers only.")
        fit.add_argument("--format", choices=["text", "json"], default="text", dest="fmt")
        score = subcommands.add_parser("score", help="Score every customer with the latest run.")
        score.add_argument("--as-of", help="Score as of this day (default today).")
        subcommands.add_parser("schedule", help="Install/update the weekly Celery beat entry.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['subcommand']}")(**options)

    def handle_fit(self, *, calibration_end: str, segment: str | None, fmt: str, **_: Any) -> None:
        end = _date(calibration_end, "--calibration-end")
        segment_row = None
        if segment:
            segment_row = Segment.objects.filter(code=segment).first()
            if segment_row is None:
                raise CommandError(f"Unknown segment {segment!r}.")
        try:
            run = prediction_fit(calibration_end=end, segment=segment_row)
        except PredictionInputError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if run.status != PredictionRun.Status.SUCCEEDED:
            raise CommandError(f"Fit failed (run {run.pk}, not used): {run.error}")
        figures = run_figures(run)
        if fmt == "json":
            self.stdout.write(json.dumps(figures))
            return
        bgnbd, spend = figures["bgnbd"], figures["gamma_gamma"]
        self.stdout.write(
            f"Run {run.pk} ({run.fit_seconds} s): {run.customers} customers, "
            f"{run.repeat_customers} repeat customers\n"
            f"BG/NBD: r={bgnbd['r']:.4f} alpha={bgnbd['alpha']:.4f} a={bgnbd['a']:.4f} "
            f"b={bgnbd['b']:.4f} LL={bgnbd['log_likelihood']:.2f}\n"
            f"Gamma-Gamma: p={spend['p']:.4f} q={spend['q']:.4f} v={spend['v']:.4f}"
        )
        for exclusion in run.exclusions.values():
            self.stdout.write(f"Excluded: {exclusion['count']} — {exclusion['reason']}")

    def handle_score(self, *, as_of: str | None, **_: Any) -> None:
        day = _date(as_of, "--as-of") if as_of else None
        try:
            scored = prediction_score(as_of=day)
        except PredictionUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Scored {scored} customers.")

    def handle_schedule(self, **_: Any) -> None:
        self.stdout.write(f"Installed: {beat_schedule_install()}")

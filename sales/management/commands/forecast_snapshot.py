"""Take the current period's forecast snapshot now (what the daily beat entry does)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sales.models import ForecastSnapshot
from sales.services import forecast_snapshot_take


class Command(BaseCommand):
    help = (
        "Store the forecast of the current month/quarter/year per organisation, team and rep. "
        "A period already taken is left as it is unless --retake is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--granularity",
            action="append",
            choices=ForecastSnapshot.Granularity.values,
            help="Repeatable; default every granularity.",
        )
        parser.add_argument(
            "--retake",
            action="store_true",
            help="Replace the period's snapshot with the deals as they are now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for granularity in options["granularity"] or ForecastSnapshot.Granularity.values:
            try:
                taking = forecast_snapshot_take(granularity=granularity, retake=options["retake"])
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from error
            state = "taken" if taking.taken else "already taken, unchanged"
            self.stdout.write(
                f"{granularity} {taking.period_start.isoformat()}: {state} ({taking.rows} rows)"
            )

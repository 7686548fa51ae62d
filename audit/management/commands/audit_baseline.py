"""Record the current state of rows older than the audit trail (run once after installing it)."""

from typing import Any

from django.core.management.base import BaseCommand

from audit.context import trail_supported
from audit.services import audit_baseline


class Command(BaseCommand):
    help = (
        "Record a 'baseline' audit event for every tracked row that has none yet, so its first "
        "change shows the value before (idempotent; PostgreSQL only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not trail_supported():
            self.stdout.write("This database keeps no audit trail (SQLite): nothing to record.")
            return
        self.stdout.write(f"recorded: {audit_baseline()} rows")

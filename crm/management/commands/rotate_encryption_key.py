"""Re-encrypt every encrypted value under the newest key of CRM_ENCRYPTION_KEYS.

Safe beside the running app: batches commit on their own and a row is written back only if
nobody changed it meanwhile. Until it finishes, keep the old keys in the list (after the new
one); once it reports nothing left, the old keys can go.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from crm.encryption.rows import (
    BATCH_SIZE,
    encrypted_models,
    reindex_rows,
    rotate_rows,
    values_not_under_newest_key,
)


class Command(BaseCommand):
    help = "Re-encrypt all encrypted values under the newest key in CRM_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Also recompute every blind index (after changing CRM_BLIND_INDEX_KEY).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        report = self.stdout.write
        for model in encrypted_models():
            rotate_rows(model, connection, report=report, batch_size=batch_size)
            if options["reindex"]:
                reindex_rows(model, connection, report=report, batch_size=batch_size)
        left = sum(values_not_under_newest_key(model, connection) for model in encrypted_models())
        if left:
            # Rows written meanwhile by a process still configured with an older key first.
            self.stdout.write(
                self.style.WARNING(f"{left} values are not under the newest key yet; run again.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    "Every value is under the newest key; older keys can be removed from "
                    "CRM_ENCRYPTION_KEYS."
                )
            )

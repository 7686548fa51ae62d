"""Install (or refresh) the CRM shell's beat entries (the task outbox) as beat rows."""

from typing import Any

from django.core.management.base import BaseCommand

from crm.tasks import beat_schedule_install


class Command(BaseCommand):
    help = "Create or update the Celery beat entries of the CRM shell (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in beat_schedule_install():
            self.stdout.write(f"installed: {name}")

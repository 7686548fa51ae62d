"""Install (or refresh) the audit trail's beat entry as a django_celery_beat row."""

from typing import Any

from django.core.management.base import BaseCommand

from audit.tasks import beat_schedule_install


class Command(BaseCommand):
    help = "Create or update the Celery beat entry pruning old audit events (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in beat_schedule_install():
            self.stdout.write(f"installed: {name}")

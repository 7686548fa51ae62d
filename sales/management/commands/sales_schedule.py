"""Install (or refresh) the sales beat entries as django_celery_beat rows."""

from typing import Any

from django.core.management.base import BaseCommand

from sales.tasks import beat_schedule_install


class Command(BaseCommand):
    help = "Create or update the Celery beat entries of sales (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in beat_schedule_install():
            self.stdout.write(f"installed: {name}")

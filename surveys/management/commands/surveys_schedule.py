"""Install (or refresh) the survey beat entries as django_celery_beat rows."""

from typing import Any

from django.core.management.base import BaseCommand

from surveys.tasks import beat_schedule_install


class Command(BaseCommand):
    help = "Create or update the Celery beat entries of the surveys (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in beat_schedule_install():
            self.stdout.write(f"installed: {name}")

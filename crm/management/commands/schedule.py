"""`manage.py schedule` — install (or refresh) every app's Celery beat entries in one step.

Each app keeps its entries next to its tasks; this command is the one place that installs them
all, so a deployment runs one command and a new app's entries cannot be forgotten. The per-app
commands (`kpis schedule`, `surveys_schedule`, …) remain for installing one app's entries.
"""

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand

from audit.tasks import beat_schedule_install as audit_entries
from crm.tasks import beat_schedule_install as crm_entries
from kpis.tasks import beat_schedule_install as kpi_entries
from predictions.tasks import beat_schedule_install as prediction_entries
from reports.tasks import beat_schedule_install as digest_entries
from sales.tasks import beat_schedule_install as sales_entries
from support.tasks import beat_schedule_install as support_entries
from surveys.tasks import beat_schedule_install as survey_entries

INSTALLERS: tuple[Callable[[], Any], ...] = (
    crm_entries,
    sales_entries,
    support_entries,
    survey_entries,
    kpi_entries,
    digest_entries,
    prediction_entries,
    audit_entries,
)


def beat_schedule_install_all() -> list[str]:
    """Install every app's beat entries (idempotent); the names of the entries installed."""
    names: list[str] = []
    for install in INSTALLERS:
        installed = install()
        names.extend([installed] if isinstance(installed, str) else installed)
    return names


class Command(BaseCommand):
    help = "Create or update the Celery beat entries of every app (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in beat_schedule_install_all():
            self.stdout.write(f"installed: {name}")

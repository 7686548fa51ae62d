"""`manage.py schedule` installs every app's beat entries, and running it again changes nothing."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from audit.tasks import beat_schedule_install as audit_entries
from crm.tasks import beat_schedule_install as crm_entries
from kpis.tasks import beat_schedule_install as kpi_entries
from surveys.tasks import beat_schedule_install as survey_entries

pytestmark = pytest.mark.django_db


def test_one_command_installs_the_entries_of_every_app_once():
    call_command("schedule")
    first = set(PeriodicTask.objects.values_list("name", "task"))
    call_command("schedule")

    names = {name for name, _task in first}
    # Each per-app installer's entries are among them (each app keeps its own list).
    for install in (crm_entries, kpi_entries, survey_entries, audit_entries):
        assert set(install()) <= names
    assert any(task == "kpis.report_tasks.send_due_digests" for _name, task in first)
    assert any(task.startswith("predictions.") for _name, task in first)
    assert any(task.startswith("sales.") for _name, task in first)
    assert any(task.startswith("support.") for _name, task in first)
    # Idempotent: the second run updated the same rows instead of adding new ones.
    assert set(PeriodicTask.objects.values_list("name", "task")) == first

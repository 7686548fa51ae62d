"""`manage.py schedule` installs every app's beat entries, and running it again changes nothing."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from audit.tasks import beat_schedule_install as audit_entries
from crm.schedules import beat_entries_install
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
    assert any(task == "reports.tasks.send_due_digests" for _name, task in first)
    assert any(task.startswith("predictions.") for _name, task in first)
    assert any(task.startswith("sales.") for _name, task in first)
    assert any(task.startswith("support.") for _name, task in first)
    # Idempotent: the second run updated the same rows instead of adding new ones.
    assert set(PeriodicTask.objects.values_list("name", "task")) == first


def test_installing_again_keeps_an_admins_switch_and_restores_the_schedule():
    call_command("schedule")
    entry = PeriodicTask.objects.get(task="reports.tasks.send_due_digests")
    PeriodicTask.objects.filter(pk=entry.pk).update(enabled=False, expire_seconds=1)

    call_command("schedule")

    entry.refresh_from_db()
    assert entry.enabled is False  # the admin turned it off: it stays off
    assert entry.expire_seconds == 12 * 60 * 60  # the app's expiry is put back


def test_entries_run_in_the_organisations_time_zone_and_weekly_ones_on_their_day(settings):
    weekly = {
        "name": "test: weekly",
        "task": "crm.tasks.import_uploads_expire",
        "crontab": {"minute": "5", "hour": "3", "day_of_week": "1"},
        "expire_seconds": 60,
        "description": "A weekly entry.",
    }

    assert beat_entries_install([weekly]) == ["test: weekly"]

    crontab = PeriodicTask.objects.get(name="test: weekly").crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("5", "3", "1")
    assert str(crontab.timezone) == settings.CRM_TIME_ZONE

"""manage.py digests: the beat entry is installed idempotently; test digests go to the user."""

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from reports.digests import digest_subscription_create
from reports.models import DigestSendLog
from tests.reports.conftest import SEND_TIME

pytestmark = pytest.mark.django_db


def test_schedule_installs_one_entry_at_the_send_hour(settings):
    settings.DIGEST_SEND_HOUR = 6

    call_command("digests", "schedule")
    call_command("digests", "schedule")

    entry = PeriodicTask.objects.get(name="reports: send KPI digests")
    assert entry.task == "reports.tasks.send_due_digests"
    assert entry.crontab.hour == "6"
    assert str(entry.crontab.timezone) == settings.CRM_TIME_ZONE
    assert PeriodicTask.objects.filter(task="reports.tasks.send_due_digests").count() == 1


@time_machine.travel(SEND_TIME, tick=False)
def test_send_test_mails_the_user_without_logging(snapshots):
    ann = snapshots["ann"]
    digest_subscription_create(user=ann, frequency="monthly", scope="own", kpi_keys=["revenue"])

    call_command("digests", "send-test", "ann")

    assert [message.to for message in mail.outbox] == [[ann.email]]
    assert "March 2026" in mail.outbox[0].subject
    assert not DigestSendLog.objects.exists()  # the real digest still goes out

"""Events older than the retention period are pruned by a beat task; newer ones stay."""

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuthEvent
from audit.selectors import EventFilters, audit_event_list
from audit.services import audit_prune
from audit.tasks import BEAT_ENTRIES, audit_prune_task, beat_schedule_install
from tests.audit.conftest import requires_trail
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_sign_in_events_past_retention_are_pruned(settings):
    settings.CRM_AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    AuthEvent.objects.create(kind="sign_in", username="old", occurred_at=now - dt.timedelta(31))
    AuthEvent.objects.create(kind="sign_in", username="new", occurred_at=now - dt.timedelta(29))

    deleted = audit_prune_task.delay().get()

    assert deleted == 1
    assert list(AuthEvent.objects.values_list("username", flat=True)) == ["new"]


@requires_trail
def test_change_events_past_retention_are_pruned():
    customer = CustomerFactory()
    filters = EventFilters(record_type="customers.Customer", record_id=str(customer.pk))
    assert audit_event_list(filters=filters).count() >= 1

    # 10 days from now with a 5-day retention: every event so far is too old
    audit_prune(now=timezone.now() + dt.timedelta(days=10), days=5)

    assert audit_event_list(filters=filters).count() == 0


def test_beat_entry_is_installed_once():
    beat_schedule_install()
    beat_schedule_install()

    task = PeriodicTask.objects.get(name=BEAT_ENTRIES[0]["name"])
    assert task.task == "audit.tasks.audit_prune_task"
    assert PeriodicTask.objects.filter(name=BEAT_ENTRIES[0]["name"]).count() == 1

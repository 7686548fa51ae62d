"""The weekly refresh task (fit organisation + large segments, then score) and its beat entry."""

import datetime as dt

import pytest

from predictions.models import CustomerPrediction, PredictionRun
from predictions.tasks import BEAT_ENTRY, beat_schedule_install, refresh_predictions
from tests.customers.factories import SegmentFactory, UserFactory
from tests.predictions.conftest import simulate_buyers

pytestmark = pytest.mark.django_db


def test_the_refresh_fits_the_organisation_and_large_segments_then_scores(settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 30
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 10
    settings.PREDICTIONS_SEGMENT_MIN_CUSTOMERS = 100
    large, small = SegmentFactory.create(code="large"), SegmentFactory.create(code="small")
    start, end = dt.date(2025, 1, 6), dt.date(2025, 9, 28)
    simulate_buyers(120, seed=5, start=start, end=end, segment=large)
    simulate_buyers(40, seed=6, start=start, end=end, segment=small)
    manager = UserFactory.create(role="Manager")

    result = refresh_predictions(manager.pk)

    runs = PredictionRun.objects.order_by("id")
    # The organisation (160 customers), then only the segment with ≥ 100 customers.
    assert [run.segment_id for run in runs] == [None, large.pk]
    assert all(run.trigger == PredictionRun.Trigger.USER for run in runs)
    assert all(run.started_by == manager for run in runs)
    assert result["scored"] == CustomerPrediction.objects.count() == 160


def test_the_beat_entry_is_weekly_and_idempotent():
    from django_celery_beat.models import PeriodicTask

    beat_schedule_install()
    beat_schedule_install()

    entry = PeriodicTask.objects.get(name=BEAT_ENTRY["name"])
    assert entry.task == "predictions.tasks.refresh_predictions"
    assert entry.crontab.day_of_week == "1"
    assert entry.expire_seconds == 24 * 60 * 60

"""Celery tasks of the predictions (thin: load, call a service).

The weekly beat entry refits the models on the data up to yesterday and rescores every customer;
a manager's "fit now" on the model page enqueues the same work for one user.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

from crm.schedules import beat_entries_install
from predictions.models import PredictionRun
from predictions.services import PredictionUnavailable, prediction_fit_all, prediction_score

logger = logging.getLogger(__name__)

BEAT_ENTRY: dict[str, Any] = {
    "name": "predictions: refit and rescore",
    "task": "predictions.tasks.refresh_predictions",
    # Mondays 02:15 local time, after the nightly closed-period KPI run.
    "crontab": {"minute": "15", "hour": "2", "day_of_week": "1"},
    # A refit queued a day ago is stale once the next day's data is in.
    "expire_seconds": 24 * 60 * 60,
    "description": "Refits BG/NBD and Gamma-Gamma and rescores every customer (weekly).",
}


@shared_task(acks_late=True)
def refresh_predictions(user_id: int | None = None) -> dict[str, Any]:
    """Fit (organisation and large segments), then score with whatever runs are in use.

    Idempotent: a rerun adds runs and replaces the scores. A failed fit leaves the previous run
    in use, so scoring still happens.
    """
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    trigger = PredictionRun.Trigger.USER if user_id else PredictionRun.Trigger.SCHEDULE
    runs = prediction_fit_all(started_by=user, trigger=trigger)  # type: ignore[arg-type]
    try:
        scored = prediction_score()
    except PredictionUnavailable as exc:
        logger.warning("Predictions not scored: %s", exc)
        scored = 0
    return {"runs": [[run.pk, run.status] for run in runs], "scored": scored}


def beat_schedule_install() -> str:
    """Create or update the weekly entry (idempotent; keeps an admin's `enabled` choice)."""
    return beat_entries_install((BEAT_ENTRY,))[0]

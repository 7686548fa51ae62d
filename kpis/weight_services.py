"""Writes of the weights editor: delete a draft, activate (from now on or restating history), and
the background jobs behind the preview and the restatement, with their progress.

Creating and editing drafts are `kpis.index.weight_version_create_draft` / `_update`; every
service here runs under the acting user's audit context, so the trail names who did what.
Jobs are queued after commit (`kpis.weight_tasks`); the page polls their progress as JSON.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.outbox import task_send_on_commit
from kpis.index import (
    compute_index,
    weight_version_activate,
    weight_version_require_draft,
)
from kpis.models import IndicatorWeight, WeightVersion
from kpis.periods import current_period
from kpis.selectors import snapshot_periods_of
from kpis.weight_selectors import missing_snapshot_periods
from kpis.weight_tasks import JOB_COMPUTE, JOB_RESTATE, weights_job_run, weights_job_save

MODE_FROM_NOW = "from_now"
MODE_RESTATE = "restate"
ACTIVATION_MODES = (MODE_FROM_NOW, MODE_RESTATE)
# Granularities the index is computed for from now on, right at activation (cheap: one each).
OPEN_GRANULARITIES = ("week", "month", "quarter", "year")


def _job_start(
    *, kind: str, periods: Sequence[tuple[str, dt.date]], version_id: int | None = None
) -> str:
    """Queue the job after commit; its state says "queued" until a worker picks it up."""
    token = secrets.token_urlsafe(16)
    weights_job_save(token, kind=kind, state="queued", done=0, total=len(periods), error="")
    task_send_on_commit(
        weights_job_run,
        token,
        kind,
        [[granularity, start.isoformat()] for granularity, start in periods],
        version_id,
    )
    return token


@actor_context
@transaction.atomic
def weight_draft_delete(*, version: WeightVersion, actor: Any = None) -> None:
    """Delete a draft with its rows; active and retired versions are history and stay."""
    version = WeightVersion.objects.select_for_update().get(pk=version.pk)
    weight_version_require_draft(version)
    version.delete()


@actor_context
def weight_preview_snapshots_compute(
    *, version: WeightVersion, granularity: str, period_starts: Sequence[dt.date], actor: Any = None
) -> str | None:
    """Queue the KPI runs of the preview's periods that have no snapshots; the job's token, or
    None when nothing is missing."""
    missing = missing_snapshot_periods(
        version=version, granularity=granularity, period_starts=period_starts
    )
    if not missing:
        return None
    return _job_start(kind=JOB_COMPUTE, periods=[(granularity, s) for s in missing])


def stored_index_periods(version: WeightVersion) -> list[tuple[str, dt.date]]:
    """Every (granularity, period) with stored KPIs of the version: what a restatement rescores."""
    kpis = IndicatorWeight.objects.filter(version=version).values_list("kpi", flat=True)
    return snapshot_periods_of(kpis=kpis)


@actor_context
@transaction.atomic
def weight_version_activate_with(
    *, version: WeightVersion, mode: str, actor: Any = None
) -> tuple[WeightVersion, str | None]:
    """Activate a draft. "from_now": the open periods are scored under it at once and every later
    KPI run uses it; earlier periods keep the old version's index. "restate": additionally every
    stored period is rescored under it by a background job (its token is returned); the old
    version's snapshots stay, readable by version."""
    if mode not in ACTIVATION_MODES:
        raise ValidationError({"mode": _("Choose “from now on” or “restate history”.")})
    version = weight_version_activate(version=version, actor=actor)
    if mode == MODE_RESTATE:
        periods = stored_index_periods(version)
        return version, _job_start(kind=JOB_RESTATE, periods=periods, version_id=version.pk)
    stored = set(stored_index_periods(version))
    for granularity in OPEN_GRANULARITIES:
        start, end = current_period(granularity)
        if (granularity, start) in stored:
            compute_index(
                granularity=granularity, period_start=start, period_end=end, version=version
            )
    return version, None

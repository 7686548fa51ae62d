"""What runs after a (granularity, period)'s KPI snapshots are written.

The order is fixed by catalogue §5: customer health (and, for the latest period, the customers'
current RFM segments), the composite index, then alert evaluation. Called by kpis.tasks inside
the same run (and transaction), so readers never see a period's KPIs without its index, and
alert e-mails leave only after commit.
"""

import datetime as dt
import logging

from django.utils import timezone

from kpis.alerts import alerts_evaluate
from kpis.health import health_recompute
from kpis.index import active_weight_version, compute_index
from kpis.rfm import org_tz, rfm_recompute
from kpis.selectors import period_has_later_snapshots

logger = logging.getLogger(__name__)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=org_tz())


def period_is_latest(*, granularity: str, period_start: dt.date, period_end: dt.date) -> bool:
    """True for the open period, or when no later period of this granularity has snapshots.

    Customer scores describe "now": recomputing them for a backfilled old period would overwrite
    today's scores with history, so only the current/latest period refreshes them.
    """
    today = timezone.now().astimezone(org_tz()).date()
    if period_start <= today < period_end:
        return True
    return not period_has_later_snapshots(granularity=granularity, period_start=period_start)


def after_period_computed(
    *,
    granularity: str,
    period_start: dt.date,
    period_end: dt.date,
    refresh_scores: bool | None = None,
    health_stored: bool = False,
) -> None:
    """Store the customers' health scores and bands as of the period's end (its history rows),
    unless `health_stored` (an engine run's customer frame stored them with the period's RFM
    segments, before the KPIs grouped on them).

    The customers' current RFM and health scores are refreshed too when the period is the latest
    (period_is_latest), unless `refresh_scores=False` (a backfill refreshes them once, for its
    last period).
    """
    # Scores as of the period end, or now while the period is still open.
    as_of = min(timezone.now(), _local_midnight(period_end))
    if refresh_scores is not False and period_is_latest(
        granularity=granularity, period_start=period_start, period_end=period_end
    ):
        rfm = rfm_recompute(as_of=as_of)
        # The period's history rows stay those the KPIs were grouped on.
        health_recompute(
            as_of=as_of,
            granularity=None if health_stored else granularity,
            period_start=None if health_stored else period_start,
            order_measures=rfm.order_measures,
        )
    elif not health_stored:
        health_recompute(
            as_of=as_of,
            granularity=granularity,
            period_start=period_start,
            update_customers=False,
        )
    version = active_weight_version()
    if version is not None:
        compute_index(
            granularity=granularity,
            period_start=period_start,
            period_end=period_end,
            version=version,
        )
    else:
        logger.warning("No active index weight version: index not computed for %s", period_start)
    alerts_evaluate(granularity=granularity, period_start=period_start, period_end=period_end)

"""What runs after a (granularity, period)'s KPI snapshots are written.

The order is fixed by catalogue §5: RFM segments and customer health, the composite index,
then alert evaluation. Called by kpis.tasks inside the same run.
"""

import datetime as dt


def after_period_computed(*, granularity: str, period_start: dt.date, period_end: dt.date) -> None:
    """Filled in by the composite-index work (issue 3 §5–7)."""

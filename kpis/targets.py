"""KPI targets: the absolute value each target kind resolves to, and progress toward it.

Catalogue §4. "Reduce churn 5 %" is ambiguous, so a target states its kind:
- ``absolute``: the amount is the value itself (0.08 = an 8 % churn rate).
- ``relative_change_pct``: baseline × (1 + amount / 100); −5 on a 12 % churn rate → 11.4 %.
- ``pp_change``: baseline + amount percentage points; −5 on a 12 % churn rate → 7 %. A point is
  0.01 for a rate stored as a fraction and 1 for NPS (stored in points); other units are refused.
The baseline is the KPI's snapshot in ``baseline_period_start`` (default: the previous period) for
the same dimension value. Progress = (current − baseline) ÷ (target − baseline), so 0 is "where we
started" and 1 is "reached"; without a baseline (absolute kind, first period) it is current ÷
target for higher-is-better KPIs and target ÷ current for lower-is-better ones.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from crm.templatetags.pulse import kpi_value
from kpis import charts
from kpis.definitions import UnknownKpiError, registry
from kpis.models import Direction, Target
from kpis.periods import Period, period_label, shift_date


def kpi_is_known(kpi: str) -> bool:
    return kpi in registry


def kpi_direction(kpi: str) -> str:
    """Direction.HIGHER or LOWER (is better), as the KPI's definition declares it."""
    try:
        return registry.get(kpi).direction
    except UnknownKpiError:  # a target stored for a KPI since removed still renders
        return Direction.HIGHER


def kpi_points_scale(kpi: str) -> Decimal | None:
    """One percentage point in the KPI's stored unit, or None when points make no sense."""
    try:
        return registry.get(kpi).points_scale
    except UnknownKpiError:
        return None


# --- periods (local dates, half-open [start, end), catalogue §0.1; arithmetic in kpis.periods) ---


def period_shift(granularity: str, start: dt.date, steps: int) -> dt.date:
    """The start of the period `steps` periods after (negative: before) the one at `start`."""
    return shift_date(granularity, start, steps)


def period_end_of(granularity: str, start: dt.date) -> dt.date:
    return shift_date(granularity, start, 1)


def period_is_aligned(granularity: str, start: dt.date) -> bool:
    return Period.containing(granularity, start).start == start


@dataclass(frozen=True)
class TargetProgress:
    target: Target
    baseline: Decimal | None
    resolved_value: Decimal | None
    current: Decimal | None
    progress: Decimal | None  # 0 = baseline, 1 = reached; may leave [0, 1]
    achieved: bool | None
    direction: str


def _progress(
    *, current: Decimal | None, goal: Decimal | None, baseline: Decimal | None, direction: str
) -> tuple[Decimal | None, bool | None]:
    if current is None or goal is None:
        return None, None
    achieved = current >= goal if direction == Direction.HIGHER else current <= goal
    if baseline is not None and goal != baseline:
        return (current - baseline) / (goal - baseline), achieved
    if baseline is not None:  # the goal is the baseline: reached or not
        return (Decimal(1) if achieved else Decimal(0)), achieved
    if direction == Direction.HIGHER:
        return (current / goal if goal else None), achieved
    return (goal / current if current else Decimal(1)), achieved


def progress_of(
    target: Target, *, baseline: Decimal | None, current: Decimal | None, direction: str = ""
) -> TargetProgress:
    """Resolved value and progress from already-read values (no query)."""
    direction = direction or kpi_direction(target.kpi)
    scale = kpi_points_scale(target.kpi) or Decimal(1)
    goal = target.resolved_value(baseline, points_scale=scale)
    progress, achieved = _progress(
        current=current, goal=goal, baseline=baseline, direction=direction
    )
    return TargetProgress(
        target=target,
        baseline=baseline,
        resolved_value=goal,
        current=current,
        progress=progress,
        achieved=achieved,
        direction=direction,
    )


# --- what a person reads: the target sentence and honest progress ---------------------------


def display_to_stored(kpi: str, number: Decimal) -> Decimal:
    """A value typed in the KPI's display unit ("23.8" for a rate shown as %) as stored."""
    if charts.kpi_presentation(kpi).unit == charts.UNIT_RATE:
        return number / 100
    return number


def stored_to_display(kpi: str, number: Decimal) -> Decimal:
    return charts.display_value(number, charts.kpi_presentation(kpi).unit) or Decimal(0)


def _value_text(kpi: str, value: Decimal | None) -> str:
    return kpi_value(value, charts.kpi_presentation(kpi).unit)


def _gap_text(kpi: str, gap: Decimal) -> str:
    """An absolute difference in the KPI's unit: percentage points for a rate."""
    unit = charts.kpi_presentation(kpi).unit
    if unit == charts.UNIT_RATE:
        return _("%(value)s pp") % {"value": f"{abs(gap) * 100:.1f}"}
    return kpi_value(abs(gap), unit)


def target_change_text(kind: str, amount: Decimal, kpi: str = "") -> str:
    """How a target's amount reads: "−5 % relative", "−1.5 pp" (a rate), "+3 points" (NPS)."""
    sign = "−" if amount < 0 else "+"
    shown = f"{abs(amount).normalize():f}"
    if kind == Target.Kind.RELATIVE_CHANGE_PCT:
        return _("%(sign)s%(amount)s %% relative") % {"sign": sign, "amount": shown}
    if kind == Target.Kind.PP_CHANGE:
        if kpi_points_scale(kpi) == Decimal(1):
            return _("%(sign)s%(amount)s points") % {"sign": sign, "amount": shown}
        return _("%(sign)s%(amount)s pp") % {"sign": sign, "amount": shown}
    return _("absolute")


def target_sentence(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    kind: str,
    amount: Decimal,
    baseline: Decimal | None,
    baseline_period_start: dt.date | None = None,
) -> str:
    """ "Churn rate 25.0 % (Q4 2026) → 23.8 % (−5 % relative) for Q1 2027".

    `amount` is as stored (an absolute rate as a fraction; a change in % or points)."""
    name = charts.kpi_presentation(kpi).name
    period = period_label(granularity, period_start)
    change = target_change_text(kind, amount, kpi)
    if kind == Target.Kind.ABSOLUTE:
        return _("%(kpi)s → %(goal)s for %(period)s") % {
            "kpi": name,
            "goal": _value_text(kpi, amount),
            "period": period,
        }
    before = period_label(
        granularity, baseline_period_start or period_shift(granularity, period_start, -1)
    )
    if baseline is None:
        return _("%(kpi)s: %(change)s against %(before)s (no value stored yet) for %(period)s") % {
            "kpi": name,
            "change": change,
            "before": before,
            "period": period,
        }
    draft = Target(kpi=kpi, kind=kind, amount=amount)
    goal = draft.resolved_value(baseline, points_scale=kpi_points_scale(kpi) or Decimal(1))
    return _("%(kpi)s %(baseline)s (%(before)s) → %(goal)s (%(change)s) for %(period)s") % {
        "kpi": name,
        "baseline": _value_text(kpi, baseline),
        "before": before,
        "goal": _value_text(kpi, goal),
        "change": change,
        "period": period,
    }


class TargetState:
    UPCOMING = "upcoming"
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    NO_VALUE = "no_value"


@dataclass(frozen=True)
class TargetStatus:
    """Where a target stands: met or missed (closed period), so far (open), or not started."""

    state: str
    text: str
    elapsed_days: int = 0
    total_days: int = 0

    @property
    def elapsed_share(self) -> Decimal | None:
        if not self.total_days:
            return None
        return Decimal(self.elapsed_days) / Decimal(self.total_days)

    @property
    def elapsed_percent(self) -> int:
        share = self.elapsed_share
        return 0 if share is None else int(share * 100)


def target_status(item: TargetProgress, *, today: dt.date) -> TargetStatus:
    """Honest progress: a closed period is met or missed by how much; an open one shows the
    value so far against the goal with the share of the period elapsed (never a progress % of
    a partial period); a future one has not started."""
    target = item.target
    start = target.period_start
    end = period_end_of(target.granularity, start)
    kpi = target.kpi
    goal = item.resolved_value
    if today < start:
        return TargetStatus(
            TargetState.UPCOMING,
            _("Starts in %(days)s days; the goal is %(goal)s.")
            % {
                "days": (start - today).days,
                "goal": _value_text(kpi, goal) if goal is not None else _("not known yet"),
            },
        )
    if goal is None:
        return TargetStatus(
            TargetState.NO_VALUE, _("No baseline value stored: the goal cannot be resolved.")
        )
    if today < end:
        total = (end - start).days
        elapsed = (today - start).days
        share = f"{Decimal(elapsed * 100) / total:.0f}"
        so_far = _("no value yet") if item.current is None else _value_text(kpi, item.current)
        return TargetStatus(
            TargetState.OPEN,
            _(
                "So far %(value)s against %(goal)s, with %(elapsed)s of %(total)s days "
                "(%(share)s %%) of the period elapsed."
            )
            % {
                "value": so_far,
                "goal": _value_text(kpi, goal),
                "elapsed": elapsed,
                "total": total,
                "share": share,
            },
            elapsed_days=elapsed,
            total_days=total,
        )
    if item.current is None:
        return TargetStatus(TargetState.NO_VALUE, _("The period is closed but has no value."))
    gap = item.current - goal
    values = {
        "value": _value_text(kpi, item.current),
        "goal": _value_text(kpi, goal),
        "gap": _gap_text(kpi, gap),
    }
    if item.achieved:
        if gap == 0:
            return TargetStatus(TargetState.MET, _("Met exactly: %(value)s.") % values)
        return TargetStatus(
            TargetState.MET, _("Met: %(value)s against %(goal)s, %(gap)s better.") % values
        )
    return TargetStatus(
        TargetState.MISSED, _("Missed by %(gap)s: %(value)s against %(goal)s.") % values
    )

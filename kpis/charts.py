"""What the manager KPI pages show: stored snapshots shaped into cards and Chart.js series.

Everything here reads `KpiSnapshot` rows only; nothing recomputes a KPI on a page view. Names,
display formats and directions come from the KPI definitions registry; a stored key it no longer
knows is shown as itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from kpis.definitions import UnknownKpiError, registry
from kpis.models import Granularity, KpiSnapshot
from kpis.periods import Period, local_today
from reports.annotations import annotation_covers, annotations_for

# Shown first on the overview, in this order, even before the engine has stored any rows.
FEATURED_KPIS: tuple[str, ...] = ("revenue", "customers_new", "nps")
DEFAULT_PERIODS = 24
MAX_PERIODS = 120

# Display formats (`KpiDefinition.display_format`). A rate is stored as a fraction and shown as a
# percentage (catalogue §0.10); "number" is a key no definition knows any more.
UNIT_RATE = "rate"
UNIT_MONEY = "money"
UNIT_SCORE = "score"
UNIT_COUNT = "count"
UNIT_MINUTES = "minutes"
UNIT_DAYS = "days"
UNIT_NUMBER = "number"


class ChartJSONEncoder(DjangoJSONEncoder):
    """Decimals become JSON numbers (Chart.js plots numbers); dates become ISO strings.

    django-chartjs's own encoder turns a Decimal into a string, which Chart.js 4 only plots by
    accident of its parser, and a model instance into its pk; we want neither.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # A chart needs a number; 6 stored decimals survive float's ~15 significant digits.
            return float(o)
        return super().default(o)


def chart_json(payload: dict[str, Any]) -> str:
    # allow_nan=False: a NaN would make the whole response unparsable by the browser.
    return json.dumps(payload, cls=ChartJSONEncoder, allow_nan=False)


@dataclass(frozen=True)
class KpiPresentation:
    key: str
    name: str
    unit: str
    description: str = ""
    higher_is_better: bool | None = None


def kpi_presentation(key: str) -> KpiPresentation:
    """A KPI's name, display format and direction, as its definition declares them."""
    try:
        definition = registry.get(key)
    except UnknownKpiError:  # a key stored by an older definition set: shown as the bare key
        return KpiPresentation(key=key, name=key, unit=UNIT_NUMBER)
    return KpiPresentation(
        key=key,
        name=str(definition.name),
        unit=definition.display_format,
        description=str(definition.description).strip(),
        higher_is_better=definition.direction == "higher",
    )


def display_value(value: Decimal | None, unit: str) -> Decimal | None:
    """The number a chart axis shows: a stored fraction becomes a percentage."""
    if value is None:
        return None
    if unit == UNIT_RATE:
        return value * 100
    return value


# --- periods -----------------------------------------------------------------------------


def period_start_of(granularity: str, day: dt.date) -> dt.date:
    return Period.containing(granularity, day).start


def shift_period(granularity: str, start: dt.date, steps: int) -> dt.date:
    return Period(granularity, start).shift(steps).start


def window_start(granularity: str, periods: int, today: dt.date | None = None) -> dt.date:
    """First period start of the `periods` periods ending with the current one."""
    current = Period.containing(granularity, today or local_today())
    return current.shift(-(periods - 1)).start


def period_range(granularity: str, first: dt.date, last: dt.date) -> list[dt.date]:
    return [
        period.start for period in Period(granularity, first).through(Period(granularity, last))
    ]


# --- series and cards --------------------------------------------------------------------


@dataclass
class KpiSeries:
    """One KPI's snapshots for one dimension, on a gap-free axis of period starts."""

    presentation: KpiPresentation
    granularity: str
    period_starts: list[dt.date] = field(default_factory=list)
    # Parallel lists keyed by position in period_starts; a missing row is None (a gap).
    snapshots: list[KpiSnapshot | None] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.presentation.key

    @property
    def latest(self) -> KpiSnapshot | None:
        return self.snapshots[-1] if self.snapshots else None

    @property
    def previous(self) -> KpiSnapshot | None:
        return self.snapshots[-2] if len(self.snapshots) >= 2 else None

    @property
    def change(self) -> Decimal | None:
        """Latest minus previous value, in stored units; None when either is n/a."""
        latest, previous = self.latest, self.previous
        if latest is None or previous is None or latest.value is None or previous.value is None:
            return None
        return latest.value - previous.value

    @property
    def relative_change(self) -> Decimal | None:
        """Change as a fraction of the previous value, for amounts and counts (not for rates)."""
        change, previous = self.change, self.previous
        if change is None or previous is None or not previous.value:
            return None
        return change / abs(previous.value)

    def display_values(self) -> list[Decimal | None]:
        unit = self.presentation.unit
        return [
            display_value(snapshot.value if snapshot else None, unit) for snapshot in self.snapshots
        ]


def build_series(*, key: str, granularity: str, rows: Sequence[KpiSnapshot]) -> KpiSeries:
    """Lay `rows` (one KPI, one dimension value) on every period from its first to its last."""
    series = KpiSeries(presentation=kpi_presentation(key), granularity=granularity)
    if not rows:
        return series
    by_start = {row.period_start: row for row in rows}
    last = max(by_start)
    # The axis starts at the first stored period, not the window start: no run of empty months.
    series.period_starts = period_range(granularity, min(by_start), last)
    series.snapshots = [by_start.get(start) for start in series.period_starts]
    return series


def overview_keys(present: Iterable[str]) -> list[str]:
    """Featured KPIs first, then every other stored key in catalogue order, then the rest."""
    present_set = set(present)
    ordered = list(FEATURED_KPIS)
    for key in registry.keys():
        if key in present_set and key not in ordered:
            ordered.append(key)
    ordered.extend(sorted(present_set - set(ordered)))
    return ordered


def overview_series(
    *,
    granularity: str = Granularity.MONTH,
    periods: int = DEFAULT_PERIODS,
    last: dt.date | None = None,
) -> list[KpiSeries]:
    """Every KPI's `dimension=all` series over the window ending at `last` (default: the current
    period), from a single query."""
    first = window_start(granularity, periods, last)
    rows_by_key: dict[str, list[KpiSnapshot]] = defaultdict(list)
    snapshots = KpiSnapshot.objects.filter(
        granularity=granularity, dimension="all", period_start__gte=first
    ).order_by("kpi", "period_start")
    if last is not None:
        snapshots = snapshots.filter(period_start__lte=last)
    for snapshot in snapshots:
        rows_by_key[snapshot.kpi].append(snapshot)
    return [
        build_series(key=key, granularity=granularity, rows=rows_by_key.get(key, []))
        for key in overview_keys(rows_by_key)
    ]


def dimension_series(
    *,
    key: str,
    granularity: str,
    dimension: str,
    periods: int,
    value: str | None = None,
    last: dt.date | None = None,
) -> tuple[list[dt.date], list[tuple[str, list[KpiSnapshot | None]]]]:
    """Period axis and, per dimension value (or only `value`), its snapshots on that axis (one
    query). The window ends with the period starting `last` (default: the current period)."""
    first = window_start(granularity, periods, last)
    queryset = KpiSnapshot.objects.filter(
        kpi=key, granularity=granularity, dimension=dimension, period_start__gte=first
    )
    if last is not None:
        queryset = queryset.filter(period_start__lte=last)
    if value is not None:
        queryset = queryset.filter(dimension_value=value)
    rows = list(queryset.order_by("dimension_value", "period_start"))
    if not rows:
        return [], []
    starts = [row.period_start for row in rows]
    axis = period_range(granularity, min(starts), max(starts))
    grouped: dict[str, dict[dt.date, KpiSnapshot]] = defaultdict(dict)
    labels: dict[str, str] = {}
    for row in rows:
        grouped[row.dimension_value][row.period_start] = row
        labels[row.dimension_value] = row.dimension_label or row.dimension_value or dimension
    lines = [
        (labels[value], [by_start.get(start) for start in axis])
        for value, by_start in grouped.items()
    ]
    return axis, lines


def chart_annotations(
    *, key: str, granularity: str, axis: Sequence[dt.date]
) -> list[dict[str, Any]]:
    """The annotations of a chart's window (for every KPI or for `key`), each with the first and
    last axis positions it covers, so the browser marks them without date arithmetic (1 query)."""
    if not axis:
        return []
    end = shift_period(granularity, axis[-1], 1)
    markers: list[dict[str, Any]] = []
    for note in annotations_for(key, granularity, axis[0], end):
        covered = [
            index for index, start in enumerate(axis) if annotation_covers(note, granularity, start)
        ]
        if not covered:  # a gap in the axis cannot happen, but a marker needs a position
            continue
        markers.append(
            {
                "id": note.pk,
                "kind": note.kind,
                "kindLabel": str(note.get_kind_display()),
                "text": note.text,
                "kpi": note.kpi,
                "startsOn": note.starts_on,
                "endsOn": note.ends_on,
                "from": covered[0],
                "to": covered[-1],
            }
        )
    return markers

"""Reads of the KPI history (dashboards read snapshots only) and the drill-down behind a number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.contrib.auth import get_user_model
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_celery_beat.models import PeriodicTask

from crm.roles import MANAGER, SALES_REP, SUPPORT_AGENT, is_admin, user_roles
from customers.models import Team
from kpis.definitions import UnknownKpiError, registry
from kpis.definitions.base import KpiContext
from kpis.definitions.records import DRILLDOWN_VISIBILITY
from kpis.models import Alert, AlertRule, IndicatorWeight, KpiRun, KpiSnapshot, Target
from kpis.periods import (
    Period,
    days_begun,
    last_closed_period,
    parse_granularity,
    period_bounds,
    period_days,
    period_label,
    previous_period,
    to_datetime_range,
)
from kpis.targets import TargetProgress, progress_of

EXPORT_COLUMNS: tuple[str, ...] = (
    "kpi",
    "granularity",
    "period_start",
    "period_end",
    "dimension",
    "dimension_value",
    "value",
    "numerator",
    "denominator",
    "sample_size",
    "low_sample",
    "provisional",
)


# What a reader calls each lifecycle stage (cards, digests, the period report); "other" holds
# figures of keys the registry does not know.
STAGE_TITLES = {
    "acquisition": gettext_lazy("Acquisition"),
    "maintenance": gettext_lazy("Maintenance"),
    "enhancement": gettext_lazy("Enhancement"),
    "retention": gettext_lazy("Retention"),
    "service": gettext_lazy("Service"),
    "pipeline": gettext_lazy("Sales pipeline"),
    "quality": gettext_lazy("Data quality"),
    "other": gettext_lazy("Other"),
}


def stage_title(stage: str) -> str:
    return str(STAGE_TITLES.get(stage, stage))


def snapshot_list(
    *,
    granularity: str,
    kpi_keys: list[str] | None = None,
    dimension: str | None = None,
    dimension_value: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[KpiSnapshot]:
    """Snapshots of one granularity, optionally narrowed; periods starting in [start, end)."""
    queryset = KpiSnapshot.objects.filter(granularity=parse_granularity(granularity))
    if kpi_keys:
        queryset = queryset.filter(kpi__in=[registry.get(key).key for key in kpi_keys])
    if dimension is not None:
        queryset = queryset.filter(dimension=dimension)
    if dimension_value is not None:
        queryset = queryset.filter(dimension_value=dimension_value)
    if start is not None:
        queryset = queryset.filter(period_start__gte=start)
    if end is not None:
        queryset = queryset.filter(period_start__lt=end)
    return queryset.order_by("kpi", "period_start", "dimension", "dimension_value")


def snapshot_series(
    *,
    kpi: str,
    granularity: str,
    dimension: str = "all",
    dimension_value: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[KpiSnapshot]:
    """One KPI's history for one dimension value, oldest first (a chart's data)."""
    return snapshot_list(
        granularity=granularity,
        kpi_keys=[kpi],
        dimension=dimension,
        dimension_value=dimension_value,
        start=start,
        end=end,
    ).order_by("period_start")


def latest_period_start(*, granularity: str) -> dt.date | None:
    return KpiSnapshot.objects.filter(granularity=parse_granularity(granularity)).aggregate(
        latest=Max("period_start")
    )["latest"]


def latest_snapshots(*, granularity: str, dimension: str = "all") -> QuerySet[KpiSnapshot]:
    """Every KPI's snapshots of the latest computed period of `granularity`."""
    latest = latest_period_start(granularity=granularity)
    if latest is None:
        return KpiSnapshot.objects.none()
    return snapshot_list(granularity=granularity, dimension=dimension, start=latest).filter(
        period_start=latest
    )


def period_has_snapshots(*, granularity: str, period_start: dt.date) -> bool:
    return KpiSnapshot.objects.filter(granularity=granularity, period_start=period_start).exists()


def period_has_later_snapshots(*, granularity: str, period_start: dt.date) -> bool:
    """Whether any period of `granularity` after the one at `period_start` has snapshots."""
    return KpiSnapshot.objects.filter(
        granularity=granularity, period_start__gt=period_start
    ).exists()


def kpi_has_snapshots(*, kpi: str) -> bool:
    return KpiSnapshot.objects.filter(kpi=kpi).exists()


def snapshot_period_starts(
    *,
    granularity: str,
    kpis: Iterable[str] | None = None,
    dimension: str | None = None,
    since: dt.date | None = None,
    among: Iterable[dt.date] | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[dt.date]:
    """The distinct period starts of `granularity` with snapshots, optionally narrowed to some
    KPIs, one dimension, periods from `since` or periods `among` a list (1 query)."""
    queryset = KpiSnapshot.objects.filter(granularity=granularity)
    if kpis is not None:
        queryset = queryset.filter(kpi__in=list(kpis))
    if dimension is not None:
        queryset = queryset.filter(dimension=dimension)
    if since is not None:
        queryset = queryset.filter(period_start__gte=since)
    if among is not None:
        queryset = queryset.filter(period_start__in=list(among))
    starts = (
        queryset.order_by("-period_start" if newest_first else "period_start")
        .values_list("period_start", flat=True)
        .distinct()
    )
    return list(starts[:limit] if limit is not None else starts)


def snapshot_periods_stored(
    *, granularities: Iterable[str], period_starts: Iterable[dt.date]
) -> set[tuple[str, dt.date]]:
    """The (granularity, period start) pairs among these that have snapshots (1 query)."""
    return set(
        KpiSnapshot.objects.filter(
            granularity__in=list(granularities), period_start__in=list(period_starts)
        ).values_list("granularity", "period_start")
    )


def snapshot_periods_of(
    *, kpis: Iterable[str], dimension: str = "all"
) -> list[tuple[str, dt.date]]:
    """Every (granularity, period start) with snapshots of these KPIs, in order (1 query)."""
    return list(
        KpiSnapshot.objects.filter(dimension=dimension, kpi__in=list(kpis))
        .values_list("granularity", "period_start")
        .distinct()
        .order_by("granularity", "period_start")
    )


def provisional_cohort_periods(
    *, kpis: Iterable[str], ended_by: dt.date
) -> list[tuple[str, dt.date]]:
    """(granularity, period start) of closed periods whose company snapshots of these cohort KPIs
    are still provisional (1 query)."""
    return list(
        KpiSnapshot.objects.filter(
            provisional=True, kpi__in=list(kpis), period_end__lte=ended_by, dimension="all"
        )
        .order_by("granularity", "period_start")
        .values_list("granularity", "period_start")
        .distinct()
    )


def snapshot_cell(
    *, kpi: str, granularity: str, period_start: dt.date, dimension: str, dimension_value: str
) -> KpiSnapshot | None:
    """The one snapshot of a KPI cell in one period, or None."""
    return KpiSnapshot.objects.filter(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        dimension=dimension,
        dimension_value=dimension_value,
    ).first()


def cell_snapshots(
    *,
    granularity: str,
    dimension: str,
    value: str,
    kpis: Iterable[str] | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    also: Iterable[dt.date] = (),
) -> QuerySet[KpiSnapshot]:
    """Snapshots of one dimension cell, by KPI then period: periods in [first, last] (either
    open) plus the periods `also` named (a year-earlier comparison), 1 query."""
    queryset = KpiSnapshot.objects.filter(
        granularity=granularity, dimension=dimension, dimension_value=value
    )
    if kpis is not None:
        queryset = queryset.filter(kpi__in=list(kpis))
    window = Q()
    if first is not None:
        window &= Q(period_start__gte=first)
    if last is not None:
        window &= Q(period_start__lte=last)
    extra = list(also)
    if extra:
        window |= Q(period_start__in=extra)
    return queryset.filter(window).order_by("kpi", "period_start")


def period_snapshots(
    *, granularity: str, period_start: dt.date, dimension: str, kpis: Iterable[str] | None = None
) -> QuerySet[KpiSnapshot]:
    """One period's snapshots of every value of `dimension` (1 query)."""
    queryset = KpiSnapshot.objects.filter(
        granularity=granularity, period_start=period_start, dimension=dimension
    )
    if kpis is not None:
        queryset = queryset.filter(kpi__in=list(kpis))
    return queryset


def snapshots_at(
    *,
    kpis: Iterable[str],
    period_starts: Iterable[dt.date],
    dimensions: Iterable[str],
    granularity: str | None = None,
) -> QuerySet[KpiSnapshot]:
    """Snapshots of these KPIs in these periods and dimensions (every value), 1 query."""
    queryset = KpiSnapshot.objects.filter(
        kpi__in=set(kpis), period_start__in=set(period_starts), dimension__in=set(dimensions)
    )
    if granularity is not None:
        queryset = queryset.filter(granularity=granularity)
    return queryset


def snapshot_value_history(
    *,
    granularity: str,
    kpis: Iterable[str],
    dimensions: Iterable[str],
    since: dt.date,
    before: dt.date,
) -> QuerySet[Any]:
    """(kpi, dimension, dimension_value, value) of the periods in [since, before), oldest first,
    leaving out low-sample and n/a values: the history an "unusual" alert reads (1 query)."""
    return (
        KpiSnapshot.objects.filter(
            granularity=granularity,
            kpi__in=set(kpis),
            dimension__in=set(dimensions),
            period_start__gte=since,
            period_start__lt=before,
            low_sample=False,
            value__isnull=False,
        )
        .order_by("period_start")
        .values_list("kpi", "dimension", "dimension_value", "value")
    )


def company_snapshot_values(
    *, granularity: str, period_starts: Iterable[dt.date], kpis: Iterable[str]
) -> QuerySet[Any]:
    """(period_start, kpi, value, low_sample) of the company cell (dimension `all`), 1 query."""
    return KpiSnapshot.objects.filter(
        granularity=granularity,
        period_start__in=list(period_starts),
        dimension="all",
        dimension_value="",
        kpi__in=list(kpis),
    ).values_list("period_start", "kpi", "value", "low_sample")


def stored_dimension_values(*, dimensions: Iterable[str]) -> QuerySet[Any]:
    """Distinct (dimension, value, label) stored for these dimensions (1 query)."""
    return (
        KpiSnapshot.objects.filter(dimension__in=list(dimensions))
        .exclude(dimension_value="")
        .order_by()
        .values_list("dimension", "dimension_value", "dimension_label")
        .distinct()
    )


def latest_stored_period(
    *, kpi: str | None, granularity: str, dimension: str, value: str | None
) -> dt.date | None:
    """The newest stored period start of a cell (any value of the dimension when value is None)."""
    queryset = KpiSnapshot.objects.filter(granularity=granularity, dimension=dimension)
    if value is not None:
        queryset = queryset.filter(dimension_value=value)
    if kpi is not None:
        queryset = queryset.filter(kpi=kpi)
    return queryset.order_by("-period_start").values_list("period_start", flat=True).first()


def snapshots_visible_to(user: Any) -> QuerySet[KpiSnapshot]:
    """The snapshots `user` may read: the cells of their KPI scope (the pages and the API)."""
    return cells_in_scope(KpiSnapshot.objects.all(), kpi_scope_for(user))


# --- targets: the snapshots behind each target's baseline and current value --------------------


def targets_with_values(queryset: QuerySet[Target]) -> QuerySet[Target]:
    """Targets annotated with `baseline_value` and `current_value` from their snapshots."""
    cell = {
        "kpi": OuterRef("kpi"),
        "granularity": OuterRef("granularity"),
        "dimension": OuterRef("dimension"),
        "dimension_value": OuterRef("dimension_value"),
    }
    snapshots = KpiSnapshot.objects.filter(**cell)
    return queryset.annotate(
        baseline_value=Subquery(
            snapshots.filter(period_start=OuterRef("baseline_period_start")).values("value")[:1]
        ),
        current_value=Subquery(
            snapshots.filter(period_start=OuterRef("period_start")).values("value")[:1]
        ),
    )


def targets_progress(*, targets: list[Target]) -> list[TargetProgress]:
    """Resolved value and progress of many targets, reading snapshots in one query."""
    if not targets:
        return []
    cells = {
        (t.kpi, t.granularity, day, t.dimension, t.dimension_value)
        for t in targets
        for day in (t.period_start, t.baseline_period_start)
        if day is not None
    }
    values = {
        (s.kpi, s.granularity, s.period_start, s.dimension, s.dimension_value): s
        for s in snapshots_at(
            kpis={cell[0] for cell in cells},
            period_starts={cell[2] for cell in cells},
            dimensions={cell[3] for cell in cells},
        )
    }
    # Directions from the active index configuration where the KPI is an indicator.
    configured = dict(
        IndicatorWeight.objects.filter(
            version__status="active", kpi__in={t.kpi for t in targets}
        ).values_list("kpi", "direction")
    )
    result = []
    for target in targets:
        cell = (target.kpi, target.granularity)
        dims = (target.dimension, target.dimension_value)
        baseline_row = (
            values.get((*cell, target.baseline_period_start, *dims))
            if target.baseline_period_start
            else None
        )
        current_row = values.get((*cell, target.period_start, *dims))
        result.append(
            progress_of(
                target,
                baseline=baseline_row.value if baseline_row else None,
                current=current_row.value if current_row else None,
                direction=configured.get(target.kpi, ""),
            )
        )
    return result


def target_progress(*, target: Target) -> TargetProgress:
    return targets_progress(targets=[target])[0]


def target_progress_list(
    *,
    granularity: str,
    dimension: str,
    dimension_value: str | None = None,
    kpis: Iterable[str] | None = None,
    period_starts: Iterable[dt.date] | None = None,
    since: dt.date | None = None,
) -> list[TargetProgress]:
    """Progress of the targets of one dimension (one value of it, unless None), optionally of
    some KPIs and periods (3 queries: targets, their snapshots, the index directions)."""
    queryset = Target.objects.filter(granularity=granularity, dimension=dimension)
    if dimension_value is not None:
        queryset = queryset.filter(dimension_value=dimension_value)
    if kpis is not None:
        queryset = queryset.filter(kpi__in=list(kpis))
    if period_starts is not None:
        queryset = queryset.filter(period_start__in=list(period_starts))
    if since is not None:
        queryset = queryset.filter(period_start__gte=since)
    return targets_progress(targets=list(queryset))


def snapshot_drilldown(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    dimension: str = "all",
    dimension_value: str = "",
    part: str = "numerator",
    now: dt.datetime | None = None,
) -> QuerySet[Any] | None:
    """The records behind a snapshot's numerator or denominator, by the KPI's own query.

    Dimension filters use current values, like the snapshot did when it was computed; a list
    for an old period can therefore differ from the stored count if customers moved since.
    Returns None for KPIs without a record list. Callers restrict the rows to what the user
    may see (e.g. with customers_visible_to) before showing them.
    """
    definition = registry.get(kpi)
    # A stored period's start, already snapped where the URL was read: checked, not snapped again.
    period = Period(granularity, period_start)
    ctx = KpiContext.build(
        granularity=period.granularity,
        period_start=period.start,
        period_end=period.end,
        now=now or timezone.now(),
    )
    return definition.records(ctx, dimension, dimension_value, part)


def drilldown_records_visible_to(records: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """`records` narrowed to the rows `user` may see; the one rule for the pages and the API.

    A record type without a selector in DRILLDOWN_VISIBILITY (kpis.definitions.records) shows
    nothing, to admins too: a new drill-down model is decided on there before anyone sees its rows.
    """
    selector = DRILLDOWN_VISIBILITY.get(records.model)
    if selector is None:
        return records.none()
    if is_admin(user):
        return records
    return records.filter(pk__in=selector(user).values("pk"))


def snapshot_export_rows(snapshots: QuerySet[KpiSnapshot]) -> list[dict[str, Any]]:
    """Plain rows (ISO dates, decimal strings) in EXPORT_COLUMNS order for CSV/JSON export."""

    def plain(number: Any) -> str | None:
        return None if number is None else str(number)

    return [
        {
            "kpi": row.kpi,
            "granularity": row.granularity,
            "period_start": row.period_start.isoformat(),
            "period_end": row.period_end.isoformat(),
            "dimension": row.dimension,
            "dimension_value": row.dimension_value,
            "value": plain(row.value),
            "numerator": plain(row.numerator),
            "denominator": plain(row.denominator),
            "sample_size": row.sample_size,
            "low_sample": row.low_sample,
            "provisional": row.provisional,
        }
        for row in snapshots
    ]


# --- what a user may see ---------------------------------------------------------------------

SCOPE_ORGANISATION = "organisation"
SCOPE_TEAM = "team"
SCOPE_OWN = "own"
# Support agents see the service figures of their team: the service stage and CSAT.
AGENT_KPI_STAGES = frozenset({"service"})
AGENT_EXTRA_KPIS = frozenset({"csat"})


@dataclass(frozen=True)
class KpiScope:
    """The snapshot cells a user may read.

    Snapshots are stored per dimension value, so a scope is a set of allowed (dimension, value)
    cells: admins read every cell; a manager the `team` cells of the teams they manage or belong
    to and the `owner` cells of those teams' people; a support agent their teams' cells (or, with
    no team, their own) of the service KPIs; a sales rep the `owner` cell of themselves. A
    manager in no team, or in every team, reads the organisation: the role is granted to people
    who run the whole business, and a manager of some teams is scoped by them.
    """

    kind: str
    # (value, label) of the allowed cells per dimension; empty for the organisation scope.
    cells: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # KPI keys the scope covers; None = every KPI.
    kpis: frozenset[str] | None = None

    @property
    def is_organisation(self) -> bool:
        return self.kind == SCOPE_ORGANISATION

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Filter dimensions the user may choose (organisation: every one)."""
        if self.is_organisation:
            return ("segment", "team", "owner", "channel", "product_line")
        return tuple(name for name, values in self.cells.items() if values)

    def values(self, dimension: str) -> list[str] | None:
        """Allowed values of `dimension`: None = any, [] = none."""
        if self.is_organisation:
            return None
        return [value for value, _label in self.cells.get(dimension, ())]

    def choices(self, dimension: str) -> list[tuple[str, str]]:
        return list(self.cells.get(dimension, ()))

    def allows(self, dimension: str, value: str | None) -> bool:
        if self.is_organisation:
            return True
        allowed = self.values(dimension) or []
        return value is not None and value in allowed

    @property
    def default_cell(self) -> tuple[str, str]:
        """The cell a page shows when the user's choice is not theirs to see."""
        if self.is_organisation:
            return "all", ""
        for dimension in ("team", "owner"):
            values = self.values(dimension)
            if values:
                return dimension, values[0]
        return "owner", ""

    def covers(self, kpi: str) -> bool:
        return self.kpis is None or kpi in self.kpis

    def label(self, dimension: str, value: str) -> str:
        return dict(self.cells.get(dimension, ())).get(value, value)


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def kpi_scope_for(user: Any) -> KpiScope:
    """The KPI scope of `user` (3 queries at most, cached on the user object for the request).

    A user in several roles gets the widest: admin, then manager, then sales rep, then agent.
    """
    cached = getattr(user, "_pulse_kpi_scope", None)
    if cached is not None:
        return cached
    roles = user_roles(user)
    scope: KpiScope
    if is_admin(user):
        scope = KpiScope(SCOPE_ORGANISATION)
    elif MANAGER in roles:
        teams = list(
            Team.objects.filter(Q(manager=user) | Q(members=user))
            .distinct()
            .order_by("name", "pk")
            .values_list("pk", "name")
        )
        # A manager in no team, or in charge of every team, runs the whole business.
        if not teams or len(teams) == Team.objects.count():
            scope = KpiScope(SCOPE_ORGANISATION)
        else:
            team_ids = [pk for pk, _name in teams]
            people = (
                get_user_model()
                ._default_manager.filter(
                    Q(teams__in=team_ids) | Q(managed_teams__in=team_ids) | Q(pk=user.pk)
                )
                .distinct()
                .order_by("first_name", "last_name", "username")
            )
            scope = KpiScope(
                SCOPE_TEAM,
                cells={
                    "team": tuple((str(pk), name) for pk, name in teams),
                    "owner": tuple((str(person.pk), _user_label(person)) for person in people),
                },
            )
    elif SALES_REP in roles:
        scope = KpiScope(SCOPE_OWN, cells={"owner": ((str(user.pk), _user_label(user)),)})
    elif SUPPORT_AGENT in roles:
        service = frozenset(
            definition.key
            for definition in registry.all()
            if definition.stage in AGENT_KPI_STAGES or definition.key in AGENT_EXTRA_KPIS
        )
        teams = list(
            Team.objects.filter(Q(manager=user) | Q(members=user))
            .distinct()
            .order_by("name", "pk")
            .values_list("pk", "name")
        )
        scope = KpiScope(
            SCOPE_TEAM if teams else SCOPE_OWN,
            cells={
                "team": tuple((str(pk), name) for pk, name in teams),
                "owner": ((str(user.pk), _user_label(user)),),
            },
            kpis=service,
        )
    else:
        # No role, no figures: the views refuse such users before asking.
        scope = KpiScope(SCOPE_OWN, cells={}, kpis=frozenset())
    user._pulse_kpi_scope = scope
    return scope


def cells_in_scope(queryset: QuerySet[Any], scope: KpiScope, *, via: str = "") -> QuerySet[Any]:
    """Rows keyed by (kpi, dimension, dimension_value) — snapshots, targets, alert rules, or
    alerts `via="rule__"` — that `scope` may read: its cells, and only the KPIs it covers."""
    if scope.is_organisation:
        return queryset
    cells = Q(pk__in=[])
    for dimension in scope.dimensions:
        cells |= Q(
            **{
                f"{via}dimension": dimension,
                f"{via}dimension_value__in": scope.values(dimension) or [],
            }
        )
    queryset = queryset.filter(cells)
    if scope.kpis is not None:
        queryset = queryset.filter(**{f"{via}kpi__in": sorted(scope.kpis)})
    return queryset


def targets_in_scope(scope: KpiScope) -> QuerySet[Target]:
    """The targets `scope` may read (the targets page lists them; others are a 404)."""
    return cells_in_scope(Target.objects.all(), scope)


def alert_rules_in_scope(scope: KpiScope) -> QuerySet[AlertRule]:
    """The alert rules `scope` may read (the alert rules page lists them; others are a 404)."""
    return cells_in_scope(AlertRule.objects.all(), scope)


def alerts_in_scope(scope: KpiScope) -> QuerySet[Alert]:
    """The alerts of the rules `scope` may read: a team's manager acts on their team's only."""
    return cells_in_scope(Alert.objects.all(), scope, via="rule__")


# --- the figure a card shows: period, comparison, freshness ----------------------------------

COMPARE_PREVIOUS = "previous"
COMPARE_LIKE_FOR_LIKE = "like_for_like"
COMPARE_NONE = "none"


def shown_period(
    *, granularity: str, requested: dt.date | None, now: dt.datetime | None = None
) -> tuple[dt.date, dt.date]:
    """The period a page opens on: the one asked for, else the last closed period (an open
    period's few days would otherwise be read as a collapse against a whole month)."""
    if requested is not None:
        return Period(granularity, requested).bounds()
    return last_closed_period(granularity, now)


@dataclass(frozen=True)
class KpiFigure:
    """One KPI's figure for one period and what it is compared with.

    A closed period is compared with the previous period. An open period is compared
    like-for-like: with the previous period cut at the same elapsed time, as stored by the run
    (details["like_for_like"]); without that figure it is not compared at all. A provisional
    figure is `calm`: its change is shown without a good or bad colour.
    """

    snapshot: KpiSnapshot | None
    granularity: str
    period_start: dt.date
    period_end: dt.date
    is_open: bool
    elapsed_days: int | None
    period_days: int
    comparison: str
    baseline: Decimal | None = None
    baseline_start: dt.date | None = None
    # The previous period's snapshot, whatever the comparison (a report prints its value).
    previous: KpiSnapshot | None = None
    target: TargetProgress | None = None
    # The cell's open alert (firing outranks acknowledged), where the reader asked for it.
    alert: Alert | None = None

    @property
    def value(self) -> Decimal | None:
        return self.snapshot.value if self.snapshot is not None else None

    @property
    def label(self) -> str:
        return period_label(self.granularity, self.period_start)

    @property
    def baseline_label(self) -> str:
        if self.baseline_start is None:
            return ""
        return period_label(self.granularity, self.baseline_start)

    @property
    def change(self) -> Decimal | None:
        if self.comparison == COMPARE_NONE or self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def relative_change(self) -> Decimal | None:
        change = self.change
        if change is None or not self.baseline:
            return None
        return change / abs(self.baseline)

    @property
    def calm(self) -> bool:
        return self.is_open or bool(self.snapshot is not None and self.snapshot.provisional)


def kpi_figure(
    *,
    granularity: str,
    period_start: dt.date,
    snapshot: KpiSnapshot | None,
    previous: KpiSnapshot | None,
    now: dt.datetime | None = None,
    target: TargetProgress | None = None,
    alert: Alert | None = None,
) -> KpiFigure:
    """The figure of `snapshot` (the period starting `period_start`) against its comparison,
    with the cell's target and open alert as given."""
    now = now or timezone.now()
    start, end = period_bounds(granularity, period_start)
    _start_at, end_at = to_datetime_range(start, end)
    is_open = end_at > now
    figure = KpiFigure(
        snapshot=snapshot,
        granularity=granularity,
        period_start=start,
        period_end=end,
        is_open=is_open,
        elapsed_days=None,
        period_days=period_days(start, end),
        comparison=COMPARE_NONE,
        previous=previous,
        target=target,
        alert=alert,
    )
    if is_open:
        stored = (snapshot.details or {}).get("like_for_like") if snapshot is not None else None
        # "So far" counts the days begun when the figure was computed, not when it is read.
        as_of = snapshot.computed_at if snapshot is not None else now
        elapsed = days_begun(start, end, min(as_of, now))
        if stored and stored.get("comparable") and stored.get("value") is not None:
            return replace(
                figure,
                elapsed_days=int(stored.get("elapsed_days") or elapsed),
                comparison=COMPARE_LIKE_FOR_LIKE,
                baseline=Decimal(stored["value"]),
                baseline_start=dt.date.fromisoformat(stored["previous_start"]),
            )
        return replace(figure, elapsed_days=elapsed)
    if previous is None or previous.value is None or snapshot is None or snapshot.value is None:
        return figure
    return replace(
        figure,
        comparison=COMPARE_PREVIOUS,
        baseline=previous.value,
        baseline_start=previous.period_start,
    )


def series_figure(
    series: Any, *, period_start: dt.date, now: dt.datetime | None = None
) -> KpiFigure:
    """`kpi_figure` of a `charts.KpiSeries` at `period_start` (its previous period alongside)."""
    by_start = dict(zip(series.period_starts, series.snapshots, strict=True))
    previous_start = previous_period(series.granularity, period_start)[0]
    return kpi_figure(
        granularity=series.granularity,
        period_start=period_start,
        snapshot=by_start.get(period_start),
        previous=by_start.get(previous_start),
        now=now,
    )


def open_alerts_by_kpi(*, granularity: str, dimension: str, value: str) -> dict[str, Alert]:
    """The open alert (firing or acknowledged) of each KPI of one cell; firing outranks
    acknowledged (1 query)."""
    alerts = Alert.objects.filter(
        state__in=[Alert.State.FIRING, Alert.State.ACKNOWLEDGED],
        granularity=granularity,
        rule__dimension=dimension,
        rule__dimension_value=value,
    ).select_related("rule")
    by_kpi: dict[str, Alert] = {}
    for alert in alerts:
        current = by_kpi.get(alert.rule.kpi)
        if current is None or alert.state == Alert.State.FIRING:
            by_kpi[alert.rule.kpi] = alert
    return by_kpi


def cell_figures(
    *,
    keys: Iterable[str],
    granularity: str,
    period_start: dt.date,
    dimension: str,
    value: str,
    snapshots: Mapping[tuple[str, dt.date], KpiSnapshot],
    with_alerts: bool = True,
    now: dt.datetime | None = None,
) -> dict[str, KpiFigure]:
    """The figure of each KPI of one cell in one period: its snapshot, the previous period's,
    the change, its target's progress and (`with_alerts`) its open alert — what the overview's
    cards, the digest and the period report show.

    `snapshots` are the cell's rows by (kpi, period start), which callers read once for their
    charts too; this reads the targets (3 queries) and the open alerts (1 query).
    """
    keys = list(keys)
    previous_start = previous_period(granularity, period_start)[0]
    targets = {
        progress.target.kpi: progress
        for progress in target_progress_list(
            granularity=granularity,
            dimension=dimension,
            dimension_value=value,
            kpis=keys,
            period_starts=[period_start],
        )
    }
    alerts = (
        open_alerts_by_kpi(granularity=granularity, dimension=dimension, value=value)
        if with_alerts
        else {}
    )
    return {
        key: kpi_figure(
            granularity=granularity,
            period_start=period_start,
            snapshot=snapshots.get((key, period_start)),
            previous=snapshots.get((key, previous_start)),
            now=now,
            target=targets.get(key),
            alert=alerts.get(key),
        )
        for key in keys
    }


def series_snapshots(series: Iterable[Any]) -> dict[tuple[str, dt.date], KpiSnapshot]:
    """The stored rows of `charts.KpiSeries` by (kpi, period start), for `cell_figures`."""
    return {
        (item.key, start): snapshot
        for item in series
        for start, snapshot in zip(item.period_starts, item.snapshots, strict=True)
        if snapshot is not None
    }


@dataclass(frozen=True)
class Freshness:
    """How old the figures of a granularity are and when the beat refreshes them."""

    now: dt.datetime
    computed_at: dt.datetime | None
    next_run_at: dt.datetime | None
    running: bool = False
    failed_at: dt.datetime | None = None

    @property
    def computed_seconds_ago(self) -> int | None:
        if self.computed_at is None:
            return None
        return max(0, int((self.now - self.computed_at).total_seconds()))

    @property
    def stamp(self) -> str:
        """The newest run's finish as ISO 8601: the page and the "last run" JSON compare it."""
        return self.computed_at.isoformat() if self.computed_at else ""

    @property
    def next_run_seconds(self) -> int | None:
        if self.next_run_at is None:
            return None
        return max(0, int((self.next_run_at - self.now).total_seconds()))


# The beat entry's task, by its dotted path: importing kpis.tasks here would close an import
# cycle (tasks → engine → post_compute → alerts → selectors).
OPEN_PERIODS_TASK = "kpis.tasks.compute_open_periods"


def next_open_period_run(now: dt.datetime) -> dt.datetime | None:
    """When the beat next refreshes the open periods: its enabled PeriodicTask's crontab, as
    stored (admins may edit it); None when the entry is not installed or disabled."""
    entry = (
        PeriodicTask.objects.filter(task=OPEN_PERIODS_TASK, enabled=True)
        .select_related("crontab")
        .first()
    )
    if entry is None or entry.crontab is None:
        return None
    row = entry.crontab
    local_now = timezone.localtime(now, ZoneInfo(str(row.timezone)))
    schedule = crontab(
        minute=row.minute,
        hour=row.hour,
        day_of_week=row.day_of_week,
        day_of_month=row.day_of_month,
        month_of_year=row.month_of_year,
        nowfun=lambda: local_now,
    )
    return now + schedule.remaining_estimate(local_now)


def kpi_freshness(*, granularity: str, now: dt.datetime | None = None) -> Freshness:
    """From the KPI run log: the newest successful run of `granularity` (2 queries + 1 for the
    beat entry), whether one is running, and whether a newer one failed."""
    now = now or timezone.now()
    runs = KpiRun.objects.filter(granularity=parse_granularity(granularity))
    succeeded = (
        runs.filter(status=KpiRun.Status.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    newer = runs.exclude(status=KpiRun.Status.SUCCEEDED)
    if succeeded is not None:
        newer = newer.filter(started_at__gt=succeeded)
    statuses = dict(newer.values_list("status").annotate(latest=Max("started_at")).order_by())
    return Freshness(
        now=now,
        computed_at=succeeded,
        next_run_at=next_open_period_run(now),
        running=KpiRun.Status.RUNNING in statuses,
        failed_at=statuses.get(KpiRun.Status.FAILED),
    )


def dimension_not_broken_down(key: str, dimension: str) -> bool:
    """Whether a filter on `dimension` cannot apply to KPI `key` (it is not stored per it)."""
    if dimension == "all":
        return False
    try:
        definition = registry.get(key)
    except UnknownKpiError:
        return False
    return dimension not in definition.dimensions


def chart_alert_thresholds(
    *, key: str, granularity: str, dimension: str, value: str
) -> list[tuple[str, Decimal]]:
    """The thresholds of the active alert rules watching one KPI cell, as (side, threshold) in
    stored units, lower first; a chart draws each as a line."""
    rules = AlertRule.objects.filter(
        kpi=key,
        granularity=granularity,
        dimension=dimension,
        dimension_value=value,
        is_active=True,
    ).order_by("pk")
    lines: list[tuple[str, Decimal]] = []
    for lower, upper in rules.values_list("lower_threshold", "upper_threshold"):
        if lower is not None:
            lines.append(("below", lower))
        if upper is not None:
            lines.append(("above", upper))
    return sorted(set(lines), key=lambda line: (line[0] != "below", line[1]))

"""Reads of the weights editor: versions, the preview of a draft against the active version, what
an activation changes, and the index history by weight version (for the index chart).

The preview recomputes nothing from the CRM tables: it scores the stored KPI snapshots of each
period under both versions with `kpis.index.evaluate_index`, the arithmetic the KPI runs use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kpis import charts
from kpis.index import (
    IndexResult,
    evaluate_index,
    index_config_for,
    readings_for,
)
from kpis.models import (
    GroupWeight,
    IndexSnapshot,
    IndicatorWeight,
    LifecycleGroup,
    WeightVersion,
)
from kpis.periods import local_today, period_bounds, period_label, previous_period
from kpis.priorities import PriorityRanks, priority_ranks
from kpis.selectors import snapshot_period_starts

PREVIEW_PERIODS = 12
PREVIEW_GRANULARITIES = ("month", "quarter", "week")
CENT = Decimal("0.01")


def weight_versions() -> QuerySet[WeightVersion]:
    """Every version, the active one first, then drafts (newest first), then retired ones."""
    return WeightVersion.objects.select_related("created_by", "activated_by").order_by(
        "status", "-created_at", "-id"
    )


def preview_period_starts(
    granularity: str, *, count: int = PREVIEW_PERIODS, today: dt.date | None = None
) -> list[dt.date]:
    """The last `count` closed periods of `granularity`, oldest first (the open one is partial)."""
    open_start, _end = period_bounds(granularity, today or local_today())
    starts: list[dt.date] = []
    start = open_start
    for _step in range(count):
        start, _period_end = previous_period(granularity, start)
        starts.append(start)
    return sorted(starts)


@dataclass(frozen=True)
class GroupContribution:
    """A lifecycle group's points in the index of a period: effective share × group score."""

    group: str
    label: str
    active: Decimal | None
    draft: Decimal | None


@dataclass(frozen=True)
class PreviewPeriod:
    period_start: dt.date
    label: str
    stored: bool
    active: IndexResult | None
    draft: IndexResult
    groups: list[GroupContribution]

    @property
    def delta(self) -> Decimal | None:
        if self.active is None or self.active.value is None or self.draft.value is None:
            return None
        return self.draft.value - self.active.value


def _group_contributions(
    active: IndexResult | None, draft: IndexResult, ranks: PriorityRanks
) -> list[GroupContribution]:
    others = {g.group: g for g in active.groups} if active else {}
    rows = []
    for group in draft.groups:
        other = others.get(group.group)
        rows.append(
            GroupContribution(
                group=group.group,
                label=str(LifecycleGroup(group.group).label),
                active=group_points(other) if other is not None else None,
                draft=group_points(group),
            )
        )
    return ranks.order_groups(rows, key=lambda row: row.group)


def group_points(group: Any) -> Decimal | None:
    """The group's contribution in index points, to 2 decimals; None when it has no score."""
    if group.score is None or not group.effective_share:
        return None
    return (group.effective_share * group.score).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class WeightPreview:
    granularity: str
    periods: list[PreviewPeriod] = field(default_factory=list)

    @property
    def missing(self) -> list[dt.date]:
        return [row.period_start for row in self.periods if not row.stored]

    @property
    def group_labels(self) -> list[tuple[str, str]]:
        if not self.periods:
            return []
        return [(row.group, row.label) for row in self.periods[-1].groups]


def weight_preview(
    *,
    draft: WeightVersion,
    active: WeightVersion | None,
    granularity: str,
    period_starts: Sequence[dt.date] | None = None,
) -> WeightPreview:
    """The index of each period under `draft` and under `active`, side by side (8 queries)."""
    starts = (
        list(period_starts) if period_starts is not None else preview_period_starts(granularity)
    )
    draft_config = index_config_for(draft)
    active_config = (
        index_config_for(active) if active is not None and active.pk != draft.pk else None
    )
    kpis = {i.kpi for i in draft_config.indicators}
    if active_config is not None:
        kpis |= {i.kpi for i in active_config.indicators}
    readings = readings_for(granularity=granularity, period_starts=starts, kpis=kpis)
    ranks = priority_ranks()
    preview = WeightPreview(granularity=granularity)
    for start in starts:
        active_result = evaluate_index(active_config, readings[start]) if active_config else None
        draft_result = evaluate_index(draft_config, readings[start])
        preview.periods.append(
            PreviewPeriod(
                period_start=start,
                label=period_label(granularity, start),
                stored=bool(readings[start]),
                active=active_result,
                draft=draft_result,
                groups=_group_contributions(active_result, draft_result, ranks),
            )
        )
    return preview


# --- activation -------------------------------------------------------------------------------


def _share_text(weight: Decimal, total: Decimal) -> str:
    share = Decimal(0) if not total else weight / total * 100
    return f"{share.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


def activation_changes(*, draft: WeightVersion, active: WeightVersion | None) -> list[str]:
    """What activating `draft` changes against `active`, one sentence each (4 queries)."""
    if active is None:
        return [_("There is no active version: this one becomes the first.")]
    changes: list[str] = []
    old_groups = {g.group: g for g in GroupWeight.objects.filter(version=active)}
    new_groups = {g.group: g for g in GroupWeight.objects.filter(version=draft)}
    old_total = sum((g.weight for g in old_groups.values()), Decimal(0))
    new_total = sum((g.weight for g in new_groups.values()), Decimal(0))
    for group in LifecycleGroup.values:
        old, new = old_groups.get(group), new_groups.get(group)
        label = LifecycleGroup(group).label
        old_share = _share_text(old.weight, old_total) if old else "0 %"
        new_share = _share_text(new.weight, new_total) if new else "0 %"
        if old_share != new_share:
            changes.append(
                _("%(group)s: share of the index %(old)s → %(new)s.")
                % {"group": label, "old": old_share, "new": new_share}
            )
        if old and new and old.priority != new.priority:
            changes.append(
                _("%(group)s: priority %(old)s → %(new)s.")
                % {"group": label, "old": old.priority, "new": new.priority}
            )
    old_rows = {i.kpi: i for i in IndicatorWeight.objects.filter(version=active)}
    new_rows = {i.kpi: i for i in IndicatorWeight.objects.filter(version=draft)}
    compared = ("group", "weight", "priority", "normalisation", "best", "worst", "target")
    for kpi in sorted(old_rows.keys() | new_rows.keys()):
        name = charts.kpi_presentation(kpi).name
        old_row, new_row = old_rows.get(kpi), new_rows.get(kpi)
        if old_row is None:
            changes.append(_("%(kpi)s joins the index.") % {"kpi": name})
        elif new_row is None:
            changes.append(_("%(kpi)s leaves the index.") % {"kpi": name})
        elif any(getattr(old_row, f) != getattr(new_row, f) for f in compared):
            changes.append(_("%(kpi)s: weight, priority or normalisation changes.") % {"kpi": name})
    if draft.min_coverage != active.min_coverage:
        changes.append(
            _("Minimum coverage %(old)s → %(new)s.")
            % {
                "old": _share_text(active.min_coverage, Decimal(1)),
                "new": _share_text(draft.min_coverage, Decimal(1)),
            }
        )
    if draft.bands != active.bands:
        changes.append(_("The index bands change."))
    if draft.health_config != active.health_config or draft.health_bands != active.health_bands:
        changes.append(_("The customer health score components or bands change."))
    if not changes:
        changes.append(_("Nothing differs from the active version."))
    return changes


# --- index history by version -------------------------------------------------------------------


@dataclass(frozen=True)
class VersionSeries:
    version_id: int
    name: str
    is_active: bool
    restated: bool
    values: list[Decimal | None]
    coverage: list[Decimal | None]


@dataclass
class IndexHistory:
    labels: list[dt.date]
    series: list[VersionSeries]
    # (position of the period the version took effect in, version) for each activation shown.
    changes: list[tuple[int, WeightVersion]]


def index_history(*, granularity: str, first: dt.date) -> IndexHistory:
    """The stored index of each period from `first`, one series per weight version (2 queries).

    Versions are never mixed in one line: a period scored under several versions (history
    restated) appears in each version's series, and the period each version was activated in
    is where the chart marks the change.
    """
    rows = list(
        IndexSnapshot.objects.filter(granularity=granularity, period_start__gte=first)
        .select_related("version")
        .order_by("period_start")
    )
    labels = sorted({row.period_start for row in rows})
    position = {start: n for n, start in enumerate(labels)}
    versions: dict[int, WeightVersion] = {row.version_id: row.version for row in rows}
    by_version: dict[int, dict[dt.date, IndexSnapshot]] = {}
    for row in rows:
        by_version.setdefault(row.version_id, {})[row.period_start] = row
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    ordered = sorted(versions.values(), key=lambda v: (v.activated_at or far_past, v.pk))
    series = []
    changes: list[tuple[int, WeightVersion]] = []
    for version in ordered:
        snapshots = by_version[version.pk]
        activated_in = (
            period_bounds(granularity, version.activated_at.date())[0]
            if version.activated_at
            else None
        )
        restated = activated_in is not None and min(snapshots) < activated_in
        # The first version on the chart replaced none shown on it: nothing to mark.
        if activated_in is not None and activated_in in position and version != ordered[0]:
            changes.append((position[activated_in], version))
        series.append(
            VersionSeries(
                version_id=version.pk,
                name=version.name,
                is_active=version.status == WeightVersion.Status.ACTIVE,
                restated=restated,
                values=[
                    snapshots[s].value if s in snapshots and snapshots[s].published else None
                    for s in labels
                ],
                coverage=[snapshots[s].coverage * 100 if s in snapshots else None for s in labels],
            )
        )
    return IndexHistory(labels=labels, series=series, changes=changes)


def index_chart_datasets(
    history: IndexHistory, granularity: str
) -> tuple[list[tuple[str, list[Any], dict[str, Any]]], list[dict[str, Any]]]:
    """The index chart's series (the active version first, solid; others dashed) and a marker
    (annotation) at each version change, in the shape kpi-charts.js draws."""
    series: list[tuple[str, list[Any], dict[str, Any]]] = []
    ordered = sorted(history.series, key=lambda s: not s.is_active)
    for item in ordered:
        if item.is_active:
            label = _("CRM quality index · %(name)s (active)") % {"name": item.name}
            options: dict[str, Any] = {"tension": 0.2, "versionId": item.version_id}
        else:
            label = _("CRM quality index · %(name)s") % {"name": item.name}
            options = {"tension": 0.2, "borderDash": [6, 4], "versionId": item.version_id}
        series.append((str(label), item.values, options))
    active = next((item for item in ordered if item.is_active), ordered[0] if ordered else None)
    if active is not None:
        series.append(
            (str(_("Coverage (%)")), active.coverage, {"borderDash": [4, 4], "hidden": True})
        )
    restated = {item.version_id: item.restated for item in history.series}
    markers = []
    for position, version in history.changes:
        assert version.activated_at is not None
        day = version.activated_at.date()
        text = (
            _("“%(name)s” activated; the index of earlier periods was restated under it.")
            if restated.get(version.pk)
            else _(
                "“%(name)s” activated; earlier periods keep the version they were computed under."
            )
        ) % {"name": version.name}
        markers.append(
            {
                "id": f"version-{version.pk}",
                "kind": "price_change",
                "kindLabel": str(_("Weights changed")),
                "text": str(text),
                "kpi": "",
                "startsOn": day,
                "endsOn": day,
                "from": position,
                "to": position,
            }
        )
    return series, markers


# --- the editor's hints ---------------------------------------------------------------------------


def latest_missing_indicators(version: WeightVersion) -> tuple[dt.date | None, set[str]]:
    """The newest month with stored KPIs and the version's indicators missing in it (n/a, low
    sample or not stored), whose weight the index spreads over the others (2 queries)."""
    kpis = list(IndicatorWeight.objects.filter(version=version).values_list("kpi", flat=True))
    newest = snapshot_period_starts(
        granularity="month", kpis=kpis, dimension="all", newest_first=True, limit=1
    )
    if not newest:
        return None, set()
    latest = newest[0]
    readings = readings_for(granularity="month", period_starts=[latest], kpis=kpis)[latest]
    present = {
        kpi
        for kpi, reading in readings.items()
        if reading.value is not None and not reading.missing_reason
    }
    return latest, set(kpis) - present


def missing_snapshot_periods(
    *, version: WeightVersion, granularity: str, period_starts: Sequence[dt.date]
) -> list[dt.date]:
    """The periods among `period_starts` with no stored KPI of the version at all (one query)."""
    kpis = IndicatorWeight.objects.filter(version=version).values_list("kpi", flat=True)
    stored = set(
        snapshot_period_starts(
            granularity=granularity, kpis=kpis, dimension="all", among=period_starts
        )
    )
    return [start for start in period_starts if start not in stored]


def weight_versions_with_source() -> QuerySet[WeightVersion]:
    """Versions with the version each was drafted from (the editor's pages name it)."""
    return WeightVersion.objects.select_related("based_on")


def indicator_weights(version: WeightVersion) -> QuerySet[IndicatorWeight]:
    """The KPI weights of one version (the editor orders them by priority)."""
    return IndicatorWeight.objects.filter(version=version)


def group_weights(version: WeightVersion) -> list[GroupWeight]:
    """The lifecycle group weights of one version."""
    return list(GroupWeight.objects.filter(version=version))

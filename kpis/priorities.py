"""The one ordering rule of KPI priority (catalogue §3), read from the active weight version.

Priority 1 comes first, then 2, and so on; 0 means "no priority" and ranks after every
prioritised entry. A KPI ranks by its lifecycle group's priority, then by its own; KPIs that are
not in the index (and stages that are not lifecycle groups) come after all index KPIs, keeping
the order they were given in. The overview, the index page, the waterfall, the digests and the
alerts inbox all sort with `priority_ranks()`, so a change of priority shows everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.db.models import Q

from kpis.models import GroupWeight, IndicatorWeight, WeightVersion

T = TypeVar("T")
# Sorts after every priority a PositiveSmallIntegerField can hold.
UNRANKED = 1 << 16


def _rank(priority: int) -> int:
    return priority if priority > 0 else UNRANKED - 1


@dataclass(frozen=True)
class PriorityRanks:
    """Sort keys of groups and KPIs under one weight version (empty: every entry unranked)."""

    groups: dict[str, int] = field(default_factory=dict)
    kpis: dict[str, tuple[int, int]] = field(default_factory=dict)

    def group_key(self, group: str) -> int:
        return self.groups.get(group, UNRANKED)

    def kpi_key(self, kpi: str) -> tuple[int, int]:
        return self.kpis.get(kpi, (UNRANKED, UNRANKED))

    def order_kpis(self, items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
        """`items` by their KPI's rank; equal ranks keep their given order (a stable sort)."""
        return sorted(items, key=lambda item: self.kpi_key(key(item)))

    def order_groups(self, items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
        return sorted(items, key=lambda item: self.group_key(key(item)))

    def notifies_at_once(self, kpi: str) -> bool:
        """Whether an alert of `kpi` is e-mailed when it fires, or waits for the digest.

        A KPI of a lifecycle group ranked within KPI_ALERT_AT_ONCE_PRIORITY (1 and 2 by default)
        notifies at once, and so does a KPI outside the index (its rule is the only say on it);
        a KPI of a lower-ranked or unprioritised group is listed in the app and the digest only.
        """
        if kpi not in self.kpis:
            return True
        group_rank, _own_rank = self.kpis[kpi]
        return group_rank <= settings.KPI_ALERT_AT_ONCE_PRIORITY


def priority_ranks(version: WeightVersion | None = None) -> PriorityRanks:
    """The ranks of `version` (default: the active one), in two queries."""
    version_filter = Q(version=version) if version is not None else Q(version__status="active")
    groups = {
        group: _rank(priority)
        for group, priority in GroupWeight.objects.filter(version_filter).values_list(
            "group", "priority"
        )
    }
    kpis = {
        kpi: (groups.get(group, UNRANKED), _rank(priority))
        for kpi, group, priority in IndicatorWeight.objects.filter(version_filter).values_list(
            "kpi", "group", "priority"
        )
    }
    return PriorityRanks(groups=groups, kpis=kpis)

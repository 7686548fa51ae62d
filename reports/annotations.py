"""Reads of the annotations that explain a period ("price change", "campaign", "outage");
reports.services writes them.

A manager attaches a note either to one KPI and one period (it explains that granularity's
figure) or to a date range, optionally for one KPI, usually for all. `annotations_for` is the one
read used by digests, the period report and the KPI charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from kpis.periods import period_bounds
from reports.models import Annotation


def annotation_list() -> QuerySet[Annotation]:
    """Every annotation, newest period first (the annotations page pages through it)."""
    return Annotation.objects.select_related("created_by").order_by("-starts_on", "-id")


def annotation_applies(annotation: Annotation, kpi_key: str, granularity: str) -> bool:
    """The rule of annotations_for, applied to rows already read: a range for every KPI or for
    this one, or a note on this KPI's periods of this granularity."""
    return annotation.kpi in ("", kpi_key) and annotation.granularity in ("", granularity)


def annotation_covers(annotation: Annotation, granularity: str, period_start: dt.date) -> bool:
    """Whether the annotation's days overlap the period of `granularity` starting there."""
    period_end = period_bounds(granularity, period_start)[1]
    return annotation.starts_on < period_end and annotation.ends_on >= period_start


def annotations_by_period(
    annotations: Iterable[Annotation], granularity: str, period_starts: Iterable[dt.date]
) -> dict[dt.date, list[Annotation]]:
    """{period start: the annotations overlapping that period}, for tables and chart axes."""
    notes = list(annotations)
    return {
        start: [note for note in notes if annotation_covers(note, granularity, start)]
        for start in period_starts
    }


def annotations_for(
    kpi_key: str | None, granularity: str, start: dt.date, end: dt.date
) -> QuerySet[Annotation]:
    """Annotations overlapping the local dates [start, end) that concern `kpi_key` at
    `granularity`: date ranges for every KPI or for that KPI, and notes on that KPI's periods of
    that granularity. `kpi_key` None: every annotation of the range (a report's list)."""
    overlapping = Annotation.objects.filter(starts_on__lt=end, ends_on__gte=start)
    if kpi_key is not None:
        overlapping = overlapping.filter(Q(kpi="") | Q(kpi=kpi_key))
        overlapping = overlapping.filter(Q(granularity="") | Q(granularity=granularity))
    return overlapping.select_related("created_by").order_by("starts_on", "id")

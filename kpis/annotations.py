"""Annotations that explain a period ("price change", "campaign", "outage").

A manager attaches a note either to one KPI and one period (it explains that granularity's
figure) or to a date range, optionally for one KPI, usually for all. `annotations_for` is the one
read used by digests, the period report and the KPI charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.roles import is_manager
from kpis.definitions import registry
from kpis.models import Annotation
from kpis.periods import GRANULARITIES, Period, PeriodError, local_today, period_bounds

MAX_TEXT = 2000


def annotation_clean(
    *,
    text: str,
    kpi: str = "",
    granularity: str = "",
    period_start: dt.date | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    kind: str = Annotation.Kind.NOTE,
) -> tuple[str, str, dt.date, dt.date]:
    """(text, kpi, first day, last day) of a valid annotation, else a field-keyed ValidationError.

    Refuses an empty text, an unknown KPI or granularity, a period that is not a period start and
    a range in the future (nothing has happened there yet).
    """
    errors: dict[str, str] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = _("An annotation needs a text.")
    elif len(text) > MAX_TEXT:
        errors["text"] = _("An annotation is at most %(n)s characters.") % {"n": MAX_TEXT}
    kpi = (kpi or "").strip()
    if kpi and kpi not in registry:
        errors["kpi"] = _("Unknown KPI %(kpi)s.") % {"kpi": kpi}
    if kind not in Annotation.Kind.values:
        errors["kind"] = _("Unknown annotation kind %(kind)s.") % {"kind": kind}
    if granularity or period_start is not None:
        if not kpi:
            errors["kpi"] = _("A note on a period names its KPI; use a date range for all KPIs.")
        if granularity not in GRANULARITIES:
            errors["granularity"] = _("Unknown granularity %(g)s: expected one of %(all)s.") % {
                "g": granularity,
                "all": ", ".join(GRANULARITIES),
            }
        elif period_start is None:
            errors["period_start"] = _("Give the start of the period.")
        else:
            try:
                period = Period(granularity, period_start)
            except PeriodError as exc:
                errors["period_start"] = str(exc)
            else:
                starts_on, ends_on = period.start, period.end - dt.timedelta(days=1)
    elif starts_on is None or ends_on is None:
        errors["starts_on"] = _("Give a KPI period or a first and last day.")
    elif ends_on < starts_on:
        errors["ends_on"] = _("The last day must not be before the first day.")
    if starts_on is not None and starts_on > local_today() and "period_start" not in errors:
        field = "period_start" if period_start is not None else "starts_on"
        errors[field] = _("%(day)s is in the future: annotate a period that has begun.") % {
            "day": starts_on
        }
    if errors:
        raise ValidationError(errors)
    assert starts_on is not None
    assert ends_on is not None
    return text, kpi, starts_on, ends_on


@actor_context
@transaction.atomic
def annotation_create(
    *,
    text: str,
    actor: Any = None,
    kpi: str = "",
    granularity: str = "",
    period_start: dt.date | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    kind: str = Annotation.Kind.NOTE,
) -> Annotation:
    """Annotate a KPI period (`kpi`, `granularity`, `period_start`) or a date range
    (`starts_on`..`ends_on`, inclusive; `kpi` empty = every KPI); managers and admins only."""
    if actor is not None and not is_manager(actor):
        raise PermissionDenied(_("Only managers and admins may annotate KPIs."))
    text, kpi, starts_on, ends_on = annotation_clean(
        text=text,
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        starts_on=starts_on,
        ends_on=ends_on,
        kind=kind,
    )
    return Annotation.objects.create(
        kpi=kpi,
        granularity=granularity if period_start is not None else "",
        starts_on=starts_on,
        ends_on=ends_on,
        kind=kind,
        text=text,
        created_by=actor,
    )


@actor_context
@transaction.atomic
def annotation_delete(*, annotation_id: int, actor: Any) -> None:
    """Delete one annotation; managers and admins only (any manager's note: they share them)."""
    if not is_manager(actor):
        raise PermissionDenied(_("Only managers and admins may annotate KPIs."))
    deleted, _rows = Annotation.objects.filter(pk=annotation_id).delete()
    if not deleted:
        raise Annotation.DoesNotExist(_("This annotation no longer exists."))


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

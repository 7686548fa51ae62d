"""Writes of the reports: annotations explaining a KPI period or a date range. The annotations
page (reports.views) and the admin (reports.admin) call these; each validates before it writes
and runs under the acting user's audit context, so the trail names who did what.

The digest subscriptions' writes live with the digests (reports.digests).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.roles import is_manager
from kpis.definitions import registry
from kpis.periods import GRANULARITIES, Period, PeriodError, local_today
from reports.models import Annotation

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


ANNOTATION_EDITABLE = frozenset(
    {"text", "kpi", "granularity", "period_start", "starts_on", "ends_on", "kind"}
)


@actor_context
@transaction.atomic
def annotation_update(*, annotation: Annotation, actor: Any = None, **fields: Any) -> Annotation:
    """Change an annotation under the rules of annotation_create, checked on the merged values
    (a `period_start` with a `granularity` makes it a note on that period)."""
    unknown = set(fields) - ANNOTATION_EDITABLE
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed on an annotation.") for name in sorted(unknown)}
        )
    if actor is not None and not is_manager(actor):
        raise PermissionDenied(_("Only managers and admins may annotate KPIs."))
    locked = Annotation.objects.select_for_update().get(pk=annotation.pk)
    granularity = fields.get("granularity", locked.granularity)
    first_day = fields.get("starts_on", locked.starts_on)
    period_start = fields.get("period_start", first_day) if granularity else None
    kind = fields.get("kind", locked.kind)
    text, kpi, starts_on, ends_on = annotation_clean(
        text=fields.get("text", locked.text),
        kpi=fields.get("kpi", locked.kpi),
        granularity=granularity,
        period_start=period_start,
        starts_on=first_day,
        ends_on=None if granularity else fields.get("ends_on", locked.ends_on),
        kind=kind,
    )
    locked.text, locked.kpi, locked.kind = text, kpi, kind
    locked.granularity = granularity if period_start is not None else ""
    locked.starts_on, locked.ends_on = starts_on, ends_on
    locked.save()
    return locked


@actor_context
@transaction.atomic
def annotation_delete(*, annotation_id: int, actor: Any) -> None:
    """Delete one annotation; managers and admins only (any manager's note: they share them)."""
    if not is_manager(actor):
        raise PermissionDenied(_("Only managers and admins may annotate KPIs."))
    deleted, _rows = Annotation.objects.filter(pk=annotation_id).delete()
    if not deleted:
        raise Annotation.DoesNotExist(_("This annotation no longer exists."))

"""Bulk actions on the record lists: one engine, a small registry per app (`<app>/bulk.py`).

A selection is either the ticked rows or every row matching the list's filter. The engine walks
it in primary-key order, a chunk at a time (keyset pagination: memory and the queries per chunk do
not grow with the selection), loads each chunk through the list's own visible, filtered queryset,
and hands every record to the action, which calls the record's service. A ValidationError from
the service is a refusal: the record is counted, its reason kept, and the next record goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing.export import ExportColumn
from crm.models import BulkJob
from crm.roles import is_admin, user_roles
from customers.models import Team
from customers.selectors import teams_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Rows handed to the services per chunk; progress is written once per chunk.
BULK_CHUNK_SIZE = 200
# Selections up to this size run within the request; larger ones go to a Celery worker.
BULK_INLINE_MAX = 50
# Refusals kept with their reasons; beyond this only the count grows (bounded job row).
BULK_REFUSALS_KEPT = 1000
# Query-string keys of a list that are not part of its filter.
NOT_FILTER_KEYS = frozenset({"page", "format", "saved_view"})


@dataclass(frozen=True)
class BulkAction:
    """One action of a list: its form fields (for the acting user) and what it does to a record.

    `apply(record, values, actor)` calls the record's service; it raises ValidationError to
    refuse the record. `values` are the cleaned form fields. An action whose service can take a
    whole chunk set-based gives `apply_chunk(records, values, actor)` instead, returning the
    refusals by record id; the engine then calls it once per chunk.
    """

    key: str
    label: str | Promise
    # The service's return value is not used.
    apply: Callable[[Any, dict[str, Any], User], object]
    fields: Callable[[User], dict[str, forms.Field]] = lambda user: {}
    apply_chunk: Callable[[list[Any], dict[str, Any], User], dict[int, ValidationError]] | None = (
        None
    )

    def apply_to(
        self, records: list[Any], values: dict[str, Any], actor: User
    ) -> dict[int, ValidationError]:
        """Apply to a chunk: the refusals by record id."""
        if self.apply_chunk is not None:
            return self.apply_chunk(records, values, actor)
        refusals: dict[int, ValidationError] = {}
        for record in records:
            try:
                self.apply(record, values, actor)
            except ValidationError as error:
                refusals[record.pk] = error
        return refusals


@dataclass(frozen=True)
class BulkKind:
    """A list that offers bulk actions: who may use them, how its selection is read, what
    its export holds and which actions it has."""

    key: str
    label: str | Promise
    roles: tuple[str, ...]
    list_url_name: str
    # The list's visible, filtered rows for the user and the list's query string.
    selection: Callable[[Any, QueryDict], QuerySet[Any]]
    export_columns: Sequence[ExportColumn]
    export_filename: str
    actions: tuple[BulkAction, ...] = field(default_factory=tuple)
    # Relations the actions read from each record, loaded with the chunk.
    related: tuple[str, ...] = ()

    def action(self, key: str) -> BulkAction | None:
        return next((action for action in self.actions if action.key == key), None)

    def allowed(self, user: Any) -> bool:
        return is_admin(user) or bool(user_roles(user) & set(self.roles))


_KINDS: dict[str, BulkKind] = {}


def bulk_kind_register(kind: BulkKind) -> BulkKind:
    _KINDS[kind.key] = kind
    return kind


def bulk_kinds() -> dict[str, BulkKind]:
    """Every registered list; the apps' `bulk` modules register on first use."""
    if not _KINDS:
        autodiscover_modules("bulk")
    return _KINDS


def bulk_kind(key: str) -> BulkKind | None:
    return bulk_kinds().get(key)


def list_request(user: Any, query: str | QueryDict) -> HttpRequest:
    """A GET request carrying a list's query string for `user`, so a selection is read by the
    list's own filter code and "all N matching" means exactly the N the list showed."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = query if isinstance(query, QueryDict) else QueryDict(query)
    request.user = user
    return request


def filter_query(params: QueryDict) -> str:
    """The list's filter and sort as a query string, without page, export or view keys."""
    kept = params.copy()
    for key in NOT_FILTER_KEYS:
        kept.pop(key, None)
    return kept.urlencode()


# --- parameter fields shared by the apps' actions ---------------------------------------------


def assignable_users(user: Any) -> QuerySet[Any]:
    """Whom the user may hand records to: admins anyone active; others themselves and the
    members and managers of their teams."""
    users = get_user_model().objects.filter(is_active=True)
    if is_admin(user):
        return users.order_by("username")
    mine = teams_of(user)
    return (
        users.filter(Q(pk=user.pk) | Q(teams__in=mine) | Q(managed_teams__in=mine))
        .distinct()
        .order_by("username")
    )


def assignable_teams(user: Any) -> QuerySet[Team]:
    """Teams the user may move records to: all for admins, else their own."""
    teams = Team.objects.all()
    return teams.order_by("name") if is_admin(user) else teams.filter(pk__in=teams_of(user))


def owner_field(user: Any) -> dict[str, forms.Field]:
    return {
        "owner": forms.ModelChoiceField(
            queryset=assignable_users(user), label=gettext_lazy("Owner")
        )
    }


def team_field(user: Any) -> dict[str, forms.Field]:
    return {
        "team": forms.ModelChoiceField(queryset=assignable_teams(user), label=gettext_lazy("Team"))
    }


def action_form(kind: BulkKind, action: BulkAction, user: Any, data: Any = None) -> forms.Form:
    """The action's parameters as a form bound to `data` (the POST, or a job's stored params);
    prefixed by the action, so the bar can hold every action's fields at once."""
    form = forms.Form(data, prefix=action.key, auto_id="bulk-%s")
    for name, form_field in action.fields(user).items():
        widget = form_field.widget
        css = (
            "form-select form-select-sm"
            if isinstance(widget, forms.Select)
            else ("form-control form-control-sm")
        )
        widget.attrs.setdefault("class", css)
        form.fields[name] = form_field
    return form


# --- the engine ---------------------------------------------------------------------------------


def _selection(job: BulkJob, kind: BulkKind) -> QuerySet[Any]:
    selection = kind.selection(job.user, QueryDict(job.filter_snapshot))
    return selection.select_related(None).order_by("pk")


def _chunks(
    job: BulkJob, kind: BulkKind, selection: QuerySet[Any]
) -> Iterator[tuple[list[Any], list[int]]]:
    """(records, ids refused as not visible) per chunk, after the job's cursor, in pk order.

    Two queries a chunk: the next ids through the list's visible, filtered selection (ids only,
    so the walk stays on the primary key index), then those records without the list's joins."""
    model = selection.model
    if job.record_ids:
        wanted = sorted({int(pk) for pk in job.record_ids if int(pk) > job.cursor})
        for start in range(0, len(wanted), BULK_CHUNK_SIZE):
            asked = wanted[start : start + BULK_CHUNK_SIZE]
            ids = list(selection.filter(pk__in=asked).values_list("pk", flat=True))
            found = set(ids)
            yield _records(model, kind, ids), [pk for pk in asked if pk not in found]
        return
    cursor = job.cursor
    while True:
        ids = list(selection.filter(pk__gt=cursor).values_list("pk", flat=True)[:BULK_CHUNK_SIZE])
        if not ids:
            return
        cursor = ids[-1]
        yield _records(model, kind, ids), []


def _records(model: Any, kind: BulkKind, ids: list[int]) -> list[Any]:
    return list(model.objects.filter(pk__in=ids).select_related(*kind.related).order_by("pk"))


def _reason(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def bulk_job_create(
    *,
    user: Any,
    kind: BulkKind,
    action: BulkAction,
    params: dict[str, Any],
    query: str,
    record_ids: Sequence[int] = (),
) -> BulkJob:
    """Record the job with its filter snapshot (or ticked ids) and its size; see
    `bulk_job_runs_inline` for where it runs."""
    ids = sorted({int(pk) for pk in record_ids})
    total = len(ids) if ids else kind.selection(user, QueryDict(query)).count()
    return BulkJob.objects.create(
        user=user,
        kind=kind.key,
        action=action.key,
        params=params,
        filter_snapshot=query,
        record_ids=ids,
        total=total,
    )


def bulk_job_runs_inline(job: BulkJob) -> bool:
    """Small selections run within the request; larger ones go to a worker."""
    return job.total <= BULK_INLINE_MAX


def bulk_job_run(*, job_id: int) -> BulkJob:
    """Run (or resume after the last finished chunk) one job; a finished job is left alone, so
    the task is safe to retry."""
    job = BulkJob.objects.select_related("user").get(pk=job_id)
    if job.is_finished:
        return job
    kind = bulk_kind(job.kind)
    action = kind.action(job.action) if kind is not None else None
    if kind is None or action is None:
        return _finish(job, BulkJob.Status.FAILED, _("This action no longer exists."))
    form = action_form(kind, action, job.user, job.params)
    if not form.is_valid():
        # A chosen owner or team the user may no longer pick: nothing is changed.
        return _finish(job, BulkJob.Status.FAILED, _reason(ValidationError(form.errors)))
    values = form.cleaned_data
    job.status = BulkJob.Status.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.save(update_fields=["status", "started_at"])
    try:
        for records, invisible in _chunks(job, kind, _selection(job, kind)):
            for pk in invisible:
                _refuse(job, pk, f"#{pk}", _("Not found, or not yours to change."))
            refused = action.apply_to(records, values, job.user)
            for record in records:
                if record.pk in refused:
                    _refuse(job, record.pk, str(record), _reason(refused[record.pk]))
            job.succeeded += len(records) - len(refused)
            job.done += len(records) + len(invisible)
            job.cursor = max([job.cursor, *(r.pk for r in records), *invisible])
            # A row may join the filter while the job runs; the total follows.
            job.total = max(job.total, job.done)
            BulkJob.objects.filter(pk=job.pk).update(
                done=job.done,
                succeeded=job.succeeded,
                refusals=job.refusals,
                cursor=job.cursor,
                total=job.total,
            )
    except Exception:
        logger.exception("Bulk job %s stopped", job.pk)
        return _finish(
            job,
            BulkJob.Status.FAILED,
            _("The job stopped unexpectedly after %(done)s records.") % {"done": job.done},
        )
    return _finish(job, BulkJob.Status.DONE)


def _refuse(job: BulkJob, pk: int, label: str, reason: str) -> None:
    if len(job.refusals) < BULK_REFUSALS_KEPT:
        job.refusals.append({"record": pk, "label": label[:200], "reason": reason})


def _finish(job: BulkJob, status: str, error: str = "") -> BulkJob:
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "done", "succeeded", "refusals"])
    return job


def bulk_jobs_of(user: Any) -> QuerySet[BulkJob]:
    """A user's own jobs only: another person's job is a 404."""
    return BulkJob.objects.filter(user_id=user.pk)

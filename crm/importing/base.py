"""What every import kind is made of: columns, rows with their errors, the shared context, and
set-based resolvers that turn external ids, codes, names and usernames into primary keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from crm.importing.values import CellError
from customers.models import Team
from kpis.periods import organisation_tz


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


@dataclass
class Row:
    """One data line of the file: its raw cells by column name, parsed values and errors."""

    line: int
    cells: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    existing: dict[str, Any] | None = None

    def raw(self, name: str) -> str:
        """The cell's text, already stripped by the engine ("" when the column is absent)."""
        return self.cells.get(name, "")

    def has(self, name: str) -> bool:
        return bool(self.cells.get(name))

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))

    def parse(self, name: str, parser: Callable[[str], Any], default: Any = None) -> Any:
        """Parse a cell into `values[name]`; an empty cell gives `default`, a bad one an error."""
        raw = self.raw(name)
        if not raw:
            self.values[name] = default
            return default
        try:
            value = parser(raw)
        except CellError as exc:
            self.error(name, str(exc))
            value = default
        self.values[name] = value
        return value

    def require(self, name: str) -> bool:
        if self.has(name):
            return True
        self.error(name, _("is required"))
        return False


@dataclass
class ImportContext:
    """State shared by the chunks of one import run."""

    columns: frozenset[str]
    dry_run: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    touched_days: set[dt.date] = field(default_factory=set)
    created: int = 0
    updated: int = 0
    # Problems found after the rows were written (e.g. order totals below refunds): fatal.
    late_errors: list[tuple[int, str, str]] = field(default_factory=list)

    def touch(self, *moments: dt.datetime | dt.date | None) -> None:
        tz = organisation_tz()
        for moment in moments:
            if isinstance(moment, dt.datetime):
                self.touched_days.add(moment.astimezone(tz).date())
            elif isinstance(moment, dt.date):
                self.touched_days.add(moment)


class ImportKind:
    """One importable record type; subclasses define columns, validation and writing."""

    key: ClassVar[str]
    label: ClassVar[Any]
    model: ClassVar[type[models.Model]]
    columns: ClassVar[tuple[Column, ...]]
    # The column identifying a record across imports; None when the kind has no external id.
    identity: ClassVar[str | None] = "external_id"
    # Fields of the existing record fetched (one query per chunk) for update rules.
    existing_fields: ClassVar[tuple[str, ...]] = ("pk",)

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def prepare(self, ctx: ImportContext) -> None:
        """Load small reference tables once per run."""

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        raise NotImplementedError

    def touched(self, row: Row) -> tuple[Any, ...]:
        """Dates of a valid row whose KPI periods the import changes."""
        return ()

    def finish(self, ctx: ImportContext) -> None:
        """Set-based follow-up after every chunk was written (derived fields of other records)."""

    # -- helpers for subclasses --------------------------------------------------------------

    def load_existing(self, rows: list[Row]) -> None:
        """Attach the stored record (selected fields) to each row whose external id exists."""
        if self.identity is None:
            return
        ids = {row.raw(self.identity) for row in rows if row.has(self.identity)}
        if not ids:
            return
        stored = {
            record["external_id"]: record
            for record in with_external_ids(self.model._default_manager.all(), ids).values(
                "external_id", *self.existing_fields
            )
        }
        for row in rows:
            row.existing = stored.get(row.raw(self.identity))

    def count(self, rows: Iterable[Row], ctx: ImportContext) -> None:
        for row in rows:
            if row.existing is None:
                ctx.created += 1
            else:
                ctx.updated += 1


# --- resolvers ---------------------------------------------------------------------------------


def by_external_id(
    model: type[models.Model], values: Iterable[str], *fields: str
) -> dict[str, dict[str, Any]]:
    """External id → the record's pk and `fields`, in one query."""
    wanted = {value for value in values if value}
    if not wanted:
        return {}
    return {
        record["external_id"]: record
        for record in with_external_ids(model._default_manager.all(), wanted).values(
            "external_id", "pk", *fields
        )
    }


def with_external_ids(queryset: QuerySet[Any], ids: Iterable[str]) -> QuerySet[Any]:
    """`external_id__in=ids`; on PostgreSQL as `= ANY(array)`: one parameter instead of 2,000
    keeps the per-chunk lookup cheap to build and to plan.
    """
    wanted = list(ids)
    if connection.vendor != "postgresql":
        return queryset.filter(external_id__in=wanted)
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    return queryset.filter(
        RawSQL(f'{table}."external_id" = ANY(%s)', [wanted], output_field=models.BooleanField())
    )


def reference_table(
    model: type[models.Model], *keys: str, extra: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """A small table (teams, channels, stages …) keyed by each of `keys`, lowercased."""
    table: dict[str, dict[str, Any]] = {}
    for record in model._default_manager.values("pk", *keys, *extra):
        for key in keys:
            value = record.get(key)
            if value:
                table.setdefault(str(value).strip().lower(), record)
    return table


def resolve_reference(
    row: Row, column: str, table: dict[str, dict[str, Any]], what: str
) -> dict[str, Any] | None:
    raw = row.raw(column)
    if not raw:
        return None
    found = table.get(raw.lower())
    if found is None:
        row.error(column, _("unknown %(what)s “%(value)s”") % {"what": what, "value": raw})
    return found


class UserResolver:
    """Users by username or e-mail (case-insensitive), queried once per new value, cached."""

    def __init__(self) -> None:
        self.known: dict[str, int | None] = {}
        self.teams: dict[int, list[int]] = {}

    def load(self, values: Iterable[str]) -> None:
        wanted = {value.strip().lower() for value in values if value and value.strip()}
        wanted -= set(self.known)
        if not wanted:
            return
        user_model = get_user_model()
        records = (
            user_model._default_manager.annotate(
                username_lower=Lower("username"), email_lower=Lower("email")
            )
            .filter(Q(username_lower__in=wanted) | Q(email_lower__in=wanted))
            .values("pk", "username_lower", "email_lower")
        )
        found: dict[str, int] = {}
        for record in records:
            for key in {record["username_lower"], record["email_lower"]}:
                if key in wanted:
                    # The same e-mail on two accounts is ambiguous (-1): refuse rather than guess.
                    previous = found.get(key)
                    found[key] = record["pk"] if previous in (None, record["pk"]) else -1
        self.known.update(found)
        for value in wanted:
            self.known.setdefault(value, None)

    def load_teams(self) -> None:
        ids = [pk for pk in self.known.values() if pk and pk > 0 and pk not in self.teams]
        if not ids:
            return

        memberships = Team.members.through.objects.filter(user_id__in=ids).order_by("team_id")
        for pk in ids:
            self.teams[pk] = []
        for user_id, team_id in memberships.values_list("user_id", "team_id"):
            self.teams[user_id].append(team_id)

    def resolve(self, row: Row, column: str) -> int | None:
        raw = row.raw(column)
        if not raw:
            return None
        pk = self.known.get(raw.lower())
        if pk is None:
            row.error(column, _("unknown user “%(value)s”") % {"value": raw})
            return None
        if pk < 0:
            row.error(
                column,
                _("“%(value)s” matches several users; use the username") % {"value": raw},
            )
            return None
        return pk


def model_max_length(model: type[models.Model], name: str) -> int | None:
    return getattr(model._meta.get_field(name), "max_length", None)

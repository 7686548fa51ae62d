"""Building blocks of a KPI definition: the context, a result row, dimensions and the base classes.

A definition computes one `KpiResult` per dimension value with one grouped query per dimension
(GROUP BY the dimension column). Ratio-shaped KPIs subclass `RatioKpi` and only name the
querysets behind their numerator and denominator; `records()` returns those same querysets
filtered to one dimension value, so a drill-down list is produced by the query behind the number.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    CharField,
    Count,
    FloatField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.templatetags.readable import band_label
from customers.models import Channel, Customer, Segment, Team
from kpis.activity import ActivityRules
from kpis.models import CustomerHealthSnapshot, CustomerSegmentSnapshot
from kpis.periods import to_datetime_range
from sales.models import ProductLine
from surveys.models import SurveyKind

STAGES: tuple[str, ...] = (
    "acquisition",
    "maintenance",
    "enhancement",
    "retention",
    "service",
    "pipeline",
    "quality",
)


@dataclass(frozen=True)
class UnitFormat:
    """How a stored unit is shown, and what one percentage point of it is (pp targets)."""

    display: str  # the display format of charts and kpi_value; "rate": a fraction shown × 100 %
    point: Decimal | None  # one percentage point in stored units; None where points make no sense


UNIT_FORMATS: dict[str, UnitFormat] = {
    "count": UnitFormat("count", None),
    "money": UnitFormat("money", None),
    # A percent KPI is stored as a fraction (catalogue §0.10): a point is 0.01.
    "percent": UnitFormat("rate", Decimal("0.01")),
    "score": UnitFormat("score", Decimal(1)),  # NPS, stored in points
    "minutes": UnitFormat("minutes", None),
    "days": UnitFormat("days", None),
}
UNITS: tuple[str, ...] = tuple(UNIT_FORMATS)
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
DIMENSIONS: tuple[str, ...] = (
    "all",
    "segment",
    "team",
    "owner",
    "channel",
    "product_line",
    "survey_kind",
    "rfm_segment",
    "health_band",
)
# Dimensions a customer KPI attributes to what the customer was at the period's end, stored per
# period by the engine run, not to the customer's value today: dimension → (history, column).
POINT_IN_TIME: dict[str, tuple[type[Model], str]] = {
    "rfm_segment": (CustomerSegmentSnapshot, "rfm_segment"),
    "health_band": (CustomerHealthSnapshot, "band"),
}
PARTS: tuple[str, ...] = ("numerator", "denominator")
SIX_PLACES = Decimal("0.000001")
NONE_LABEL = _("(none)")


@dataclass(frozen=True)
class KpiContext:
    """Everything a definition needs to compute one (granularity, period)."""

    granularity: str
    period_start: dt.date
    period_end: dt.date
    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    rules: ActivityRules
    # Per-run cache shared by the definitions of one engine run (the customer frame); None
    # outside a run, so a definition computed on its own never reads stale figures.
    shared: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    # True in an engine run: the customer frame stores each customer's point-in-time RFM
    # segment for the period (CustomerSegmentSnapshot) as it computes the KPIs.
    segment_history: bool = field(default=False, compare=False)
    # In an engine run: stores every customer's health score and band for the period, called by
    # the customer frame with its moment and order measures (kpis.health reads the definitions,
    # so the engine hands it in); the frame's health_band dimension then groups on them.
    store_health: Callable[[dt.datetime, Any], Any] | None = field(
        default=None, compare=False, hash=False, repr=False
    )

    @classmethod
    def build(
        cls,
        *,
        granularity: str,
        period_start: dt.date,
        period_end: dt.date,
        now: dt.datetime,
        rules: ActivityRules | None = None,
        shared: dict[str, Any] | None = None,
        segment_history: bool = False,
        store_health: Callable[[dt.datetime, Any], Any] | None = None,
    ) -> KpiContext:
        start, end = to_datetime_range(period_start, period_end)
        return cls(
            granularity=granularity,
            period_start=period_start,
            period_end=period_end,
            start=start,
            end=end,
            now=now,
            rules=rules or ActivityRules.load(),
            shared=shared,
            segment_history=segment_history,
            store_health=store_health,
        )


@dataclass
class KpiResult:
    """One snapshot cell: a KPI's figures for one dimension value."""

    dimension: str
    dimension_value: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    sample_size: int
    details: dict[str, Any] = field(default_factory=dict)
    dimension_label: str = ""


def to_decimal(number: Any) -> Decimal | None:
    if number is None:
        return None
    if isinstance(number, Decimal):
        return number.quantize(SIX_PLACES)
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            return None
        return Decimal(repr(number)).quantize(SIX_PLACES)
    return Decimal(number).quantize(SIX_PLACES)


def ratio(numerator: Decimal | None, denominator: Decimal | None, scale: int = 1) -> Decimal | None:
    """numerator ÷ denominator, NULL on a zero or missing denominator (catalogue §0.3)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return (Decimal(numerator) * scale / Decimal(denominator)).quantize(SIX_PLACES)


def group_key(raw: Any) -> str:
    """Dimension values are stored as strings; a NULL dimension column becomes ""."""
    return "" if raw is None else str(raw)


def grouped(
    queryset: QuerySet[Any],
    path: str | None,
    aggregate: Any,
    count_distinct: str = "pk",
    *,
    distinct: bool = True,
) -> dict[str, tuple[Any, int]]:
    """{dimension value: (aggregate, row count)} in one query; `path` None is the `all` total.

    `distinct=False` where the rows are already unique per group (no fan-out join): COUNT(*)
    instead of COUNT(DISTINCT …), which sorts every group.
    """
    count = Count(count_distinct, distinct=distinct)
    if path is None:
        row = queryset.aggregate(v=aggregate, n=count)
        return {"": (row["v"], row["n"] or 0)}
    rows = queryset.order_by().values(path).annotate(v=aggregate, n=count)
    return {group_key(row[path]): (row["v"], row["n"] or 0) for row in rows}


def _is_text_path(model: type[Model], path: str) -> bool:
    """Whether `path` (a lookup through relations) ends on a text column, not a relation."""
    field: Any = None
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return isinstance(field, CharField | TextField) and not field.is_relation


def filter_dimension(queryset: QuerySet[Any], path: str | None, value: str) -> QuerySet[Any]:
    """The rows of one dimension value, matching how `grouped` keyed them."""
    if path is None:
        return queryset
    if value == "":
        # `group_key` keys NULL and a blank text value (rfm_segment's default "") alike.
        empty = Q(**{f"{path}__isnull": True})
        if _is_text_path(queryset.model, path):
            empty |= Q(**{path: ""})
        return queryset.filter(empty)
    return queryset.filter(**{path: value})


# --- dimension labels --------------------------------------------------------------------------


def _model_labels(model: type[Model], ids: Sequence[str]) -> dict[str, str]:
    return {str(obj.pk): str(obj) for obj in model._default_manager.filter(pk__in=ids)}


def _user_labels(ids: Sequence[str]) -> dict[str, str]:
    users = get_user_model()._default_manager.filter(pk__in=ids)
    return {str(user.pk): (user.get_full_name() or user.get_username()) for user in users}


def dimension_labels(dimension: str, values: Iterable[str]) -> dict[str, str]:
    """Display names for stored dimension values, one query per dimension."""
    keys = sorted({value for value in values if value != ""})
    labels: dict[str, str] = {"": str(NONE_LABEL)}
    if dimension == "all":
        return {"": ""}
    if dimension == "owner":
        labels.update(_user_labels(keys))
    elif dimension in {"segment", "team", "channel", "product_line"}:
        model = {
            "segment": Segment,
            "team": Team,
            "channel": Channel,
            "product_line": ProductLine,
        }[dimension]
        labels.update(_model_labels(model, keys))  # type: ignore[arg-type]
    elif dimension == "survey_kind":
        labels.update({str(k): str(v) for k, v in SurveyKind.choices})
    elif dimension == "rfm_segment":
        labels.update({str(k): str(v) for k, v in Customer.RfmSegment.choices if k})
    elif dimension == "health_band":
        labels.update({key: band_label(key) for key in keys})
    return labels


# --- point-in-time dimensions ------------------------------------------------------------------


def _history_of(ctx: KpiContext, dimension: str) -> tuple[QuerySet[Any], str]:
    model, column = POINT_IN_TIME[dimension]
    rows = model._default_manager.filter(granularity=ctx.granularity, period_start=ctx.period_start)
    return rows, column


def _customer_prefix(path: str, dimension: str) -> str:
    """The prefix reaching the customer: "customer__" in the path "customer__rfm_segment"."""
    return path.removesuffix(dimension)


def point_in_time_records(
    queryset: QuerySet[Any], path: str, ctx: KpiContext, dimension: str, value: str
) -> QuerySet[Any]:
    """The rows of customers whose stored value for the period is `value` ("" = none stored)."""
    rows, column = _history_of(ctx, dimension)
    customer = _customer_prefix(path, dimension) + "pk__in"
    if value == "":
        return queryset.exclude(**{customer: rows.exclude(**{column: ""}).values("customer_id")})
    return queryset.filter(**{customer: rows.filter(**{column: value}).values("customer_id")})


def point_in_time_grouping(
    queryset: QuerySet[Any], path: str, ctx: KpiContext, dimension: str
) -> tuple[QuerySet[Any], str]:
    """`queryset` with the customer's stored value for the period as a column to group on."""
    rows, column = _history_of(ctx, dimension)
    customer = OuterRef(_customer_prefix(path, dimension) + "pk")
    stored = rows.filter(customer_id=customer).values(column)[:1]
    alias = f"pit_{dimension}"
    return queryset.annotate(**{alias: Coalesce(Subquery(stored), Value(""))}), alias


# --- percentiles -------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL `percentile_cont(p) WITHIN GROUP (ORDER BY expr)` (continuous, interpolated)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks — the same as SQL percentile_cont."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(sorted_values[lower])
    weight = position - lower
    return float(sorted_values[lower]) * (1 - weight) + float(sorted_values[upper]) * weight


def uses_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- definitions -------------------------------------------------------------------------------


class KpiDefinition:
    """A KPI of the catalogue: subclasses set the class attributes and `compute_dimension`.

    The class attributes are everything the rest of the app knows of a KPI (targets, charts,
    alerts, the API and reports read them through `kpis.definitions.registry`). `direction` is
    "higher" or "lower" (is better); `record_models` the record types `records()` lists, each with
    a visibility selector in `kpis.definitions.records.DRILLDOWN_VISIBILITY`.
    `dimension_paths` maps each supported dimension to the ORM path (relative to the records'
    model) of the column grouped on; `all` maps to None.
    """

    key: ClassVar[str]
    name: ClassVar[str | Promise]
    description: ClassVar[str | Promise]
    stage: ClassVar[str]
    unit: ClassVar[str]
    direction: ClassVar[str]
    record_models: ClassVar[tuple[type[Model], ...]] = ()
    dimensions: ClassVar[tuple[str, ...]] = ("all",)
    min_sample: ClassVar[int] = 1
    maturity_days: ClassVar[int] = 0
    version: ClassVar[int] = 1
    # Translatable (gettext_lazy) in the definitions; docs/kpis.md renders them in English.
    formula: ClassVar[str | Promise]
    period_rule: ClassVar[str | Promise] = ""
    edge_cases: ClassVar[str | Promise] = ""
    departures: ClassVar[str | Promise] = ""
    dimension_paths: ClassVar[dict[str, str | None]] = {"all": None}

    def __repr__(self) -> str:
        return f"<KPI {self.key}>"

    @property
    def is_cohort(self) -> bool:
        return self.maturity_days > 0

    @property
    def display_format(self) -> str:
        """How values are shown: "rate" (a fraction as %), money, count, score, minutes, days."""
        return UNIT_FORMATS[self.unit].display

    @property
    def points_scale(self) -> Decimal | None:
        """One percentage point in stored units (0.01 for a rate, 1 for NPS), else None."""
        return UNIT_FORMATS[self.unit].point

    def path(self, dimension: str, part: str = "numerator") -> str | None:
        if dimension not in self.dimensions:
            raise KeyError(f"KPI {self.key!r} has no dimension {dimension!r}")
        return self.dimension_paths.get(dimension)

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        results: list[KpiResult] = []
        for dimension in self.dimensions:
            rows = self.compute_dimension(ctx, dimension)
            if dimension == "all" and not rows:
                rows = [KpiResult("all", "", None, None, None, 0)]
            labels = dimension_labels(dimension, [row.dimension_value for row in rows])
            for row in rows:
                row.dimension_label = labels.get(row.dimension_value, row.dimension_value)
            results.extend(rows)
        return results

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        raise NotImplementedError

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        """The rows behind one number (drill-down); None where the KPI has no row list."""
        return None


class RatioKpi(KpiDefinition):
    """numerator ÷ denominator (× scale), each one grouped aggregate over a queryset.

    Without a denominator queryset the KPI is an absolute figure: value = numerator.
    """

    scale: ClassVar[int] = 1
    denominator_paths: ClassVar[dict[str, str | None] | None] = None
    # True where both querysets yield one row per counted object whatever the dimension path
    # (e.g. customers grouped by a forward foreign key): counts need no DISTINCT.
    unique_rows: ClassVar[bool] = False

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        raise NotImplementedError

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any] | None:
        return None

    def numerator_aggregate(self) -> Any:
        return Count("pk", distinct=not self.unique_rows)

    def denominator_aggregate(self) -> Any:
        return Count("pk", distinct=not self.unique_rows)

    def path(self, dimension: str, part: str = "numerator") -> str | None:
        if dimension not in self.dimensions:
            raise KeyError(f"KPI {self.key!r} has no dimension {dimension!r}")
        if part == "denominator" and self.denominator_paths is not None:
            return self.denominator_paths.get(dimension)
        return self.dimension_paths.get(dimension)

    def queryset(self, ctx: KpiContext, part: str) -> QuerySet[Any] | None:
        if part not in PARTS:
            raise ValueError(f"Unknown part {part!r}: expected numerator or denominator.")
        if part == "numerator":
            return self.numerator_queryset(ctx)
        return self.denominator_queryset(ctx)

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        queryset = self.queryset(ctx, part)
        if queryset is None:
            return None
        path = self.path(dimension, part)
        if dimension in POINT_IN_TIME and path is not None:
            return point_in_time_records(queryset, path, ctx, dimension, value)
        return filter_dimension(queryset, path, value)

    def extra_details(
        self, ctx: KpiContext, dimension: str, path: str | None
    ) -> dict[str, dict[str, Any]]:
        """Optional per-value details from one more grouped query."""
        return {}

    def _grouping(
        self, ctx: KpiContext, queryset: QuerySet[Any], dimension: str, part: str
    ) -> tuple[QuerySet[Any], str | None]:
        """The queryset and the column grouped on for one part of the KPI."""
        path = self.path(dimension, part)
        if dimension in POINT_IN_TIME and path is not None:
            return point_in_time_grouping(queryset, path, ctx, dimension)
        return queryset, path

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        numerator_qs, numerator_path = self._grouping(
            ctx, self.numerator_queryset(ctx), dimension, "numerator"
        )
        numerators = grouped(
            numerator_qs,
            numerator_path,
            self.numerator_aggregate(),
            distinct=not self.unique_rows,
        )
        denominator_qs = self.denominator_queryset(ctx)
        details = self.extra_details(ctx, dimension, self.path(dimension))
        results: list[KpiResult] = []
        if denominator_qs is None:
            for value_key, (number, count) in sorted(numerators.items()):
                numerator = to_decimal(number if number is not None else 0)
                results.append(
                    KpiResult(
                        dimension,
                        value_key,
                        numerator=numerator,
                        denominator=None,
                        value=numerator,
                        sample_size=count,
                        details=details.get(value_key, {}),
                    )
                )
            return results
        denominator_qs, denominator_path = self._grouping(
            ctx, denominator_qs, dimension, "denominator"
        )
        denominators = grouped(
            denominator_qs,
            denominator_path,
            self.denominator_aggregate(),
            distinct=not self.unique_rows,
        )
        for value_key in sorted(set(numerators) | set(denominators)):
            number, _count = numerators.get(value_key, (0, 0))
            total, count = denominators.get(value_key, (0, 0))
            numerator = to_decimal(number or 0)
            denominator = to_decimal(total or 0)
            results.append(
                KpiResult(
                    dimension,
                    value_key,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator, self.scale),
                    sample_size=count,
                    details=details.get(value_key, {}),
                )
            )
        return results


def duration_stats(
    queryset: QuerySet[Any], path: str | None, expression: Any, seconds_per_unit: int = 60
) -> dict[str, dict[str, Any]]:
    """count, sum, mean, median and p90 of `expression` per dimension value.

    PostgreSQL computes the percentiles in SQL (percentile_cont). Elsewhere (SQLite) the values
    of this one period are fetched ordered and interpolated the same way in Python.
    """
    stats: dict[str, dict[str, Any]] = {}
    if uses_postgres():
        aggregates = {
            "count": Count(expression),
            "sum": Sum(expression, output_field=FloatField()),
            "mean": Avg(expression, output_field=FloatField()),
            "median": PercentileCont(expression, 0.5),
            "p90": PercentileCont(expression, 0.9),
        }
        if path is None:
            rows = [queryset.aggregate(**aggregates) | {"key": None}]
        else:
            rows = [
                row | {"key": row[path]}
                for row in queryset.order_by().values(path).annotate(**aggregates)
            ]
        for row in rows:
            if not row["count"]:
                continue
            stats[group_key(row["key"])] = {
                name: row[name] for name in ("count", "sum", "mean", "median", "p90")
            }
        return stats
    values: dict[str, list[float]] = {}
    fetched = queryset.annotate(_duration=expression).order_by("_duration")
    for key, duration in fetched.values_list(path or "pk", "_duration"):
        if duration is None:  # NULLs are ignored, as SQL aggregates do
            continue
        if isinstance(duration, dt.timedelta):
            duration = duration.total_seconds() / seconds_per_unit
        values.setdefault("" if path is None else group_key(key), []).append(float(duration))
    for key, numbers in values.items():
        stats[key] = {
            "count": len(numbers),
            "sum": sum(numbers),
            "mean": sum(numbers) / len(numbers),
            "median": percentile(numbers, 0.5),
            "p90": percentile(numbers, 0.9),
        }
    return stats


def round_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (round(number, 2) if isinstance(number, float) else number)
        for name, number in stats.items()
    }


class DurationKpi(KpiDefinition):
    """Median of a duration over the events of P; stores count, sum, mean, median and p90."""

    unit = "minutes"
    seconds_per_unit: ClassVar[int] = 60  # when the backend returns a timedelta (SQLite)

    def events_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        raise NotImplementedError

    def duration_expression(self) -> Any:
        raise NotImplementedError

    def secondary_expressions(self) -> dict[str, Any]:
        """Other durations summarised in details (e.g. calendar minutes)."""
        return {}

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        return filter_dimension(self.events_queryset(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        path = self.path(dimension)
        queryset = self.events_queryset(ctx)
        stats = duration_stats(queryset, path, self.duration_expression(), self.seconds_per_unit)
        secondary = {
            name: duration_stats(queryset, path, expression, self.seconds_per_unit)
            for name, expression in self.secondary_expressions().items()
        }
        results: list[KpiResult] = []
        for value_key, figures in sorted(stats.items()):
            details = round_stats(figures)
            for name, per_value in secondary.items():
                if value_key in per_value:
                    details[name] = round_stats(per_value[value_key])
            results.append(
                KpiResult(
                    dimension,
                    value_key,
                    numerator=to_decimal(figures["sum"]),
                    denominator=to_decimal(figures["count"]),
                    value=to_decimal(figures["median"]),
                    sample_size=int(figures["count"]),
                    details=details,
                )
            )
        return results


def customer_paths(prefix: str = "") -> dict[str, str | None]:
    """Dimension paths of a customer reached through `prefix` (e.g. "customer__")."""
    return {
        "all": None,
        "segment": f"{prefix}segment",
        "team": f"{prefix}team",
        "owner": f"{prefix}owner",
        "channel": f"{prefix}channel",
        "rfm_segment": f"{prefix}rfm_segment",
        "health_band": f"{prefix}health_band",
    }


def in_period(field_name: str, ctx: KpiContext) -> Q:
    return Q(**{f"{field_name}__gte": ctx.start, f"{field_name}__lt": ctx.end})

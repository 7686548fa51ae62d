"""RFM scores and named segments for every customer as of a moment (catalogue §1).

Measures, over non-cancelled orders placed before ``as_of``:
- recency = days from the last order's local day to ``as_of``'s local day;
- frequency = distinct local order days in the trailing 365 days ``[as_of − 365 d, as_of)``;
- monetary = net revenue (``Order.net_amount``) in the same 365 days.

Each is scored 1–5 by quintile among the customers with at least one order, recency inverted
(the most recent buyers score 5). The quintile is computed in the database with the window
function PERCENT_RANK: ``score = min(5, floor(percent_rank · 5) + 1)``. Unlike NTILE(5) it gives
equal values the same score (ten customers with one order day never land in three different F
quintiles); on distinct values it matches NTILE's buckets up to rounding at the edges.

Named segments, first match wins (facts about the lifecycle before score patterns, and the more
actionable pattern first; the table SEGMENT_RULES below states them once for Python and SQL):
1. ``churned``   — not active at ``as_of`` under the §1 rule: an explicit ``churned_at`` not
   followed by an order, a past ``contract_end_date``, or no order within the inactivity days ``d``
   (the segment's override, else ``CRM_INACTIVITY_DAYS``);
2. ``dormant``   — no order for more than d/2 days, not churned;
3. ``first_time_buyer`` — exactly one distinct order day ever;
4. ``champion``  — R, F and M all ≥ 4;
5. ``at_risk``   — R ≤ 2 and F ≥ 3;
6. ``high_frequency`` — F = 5;
7. ``regular``   — everyone else with an order. Customers without orders have no segment.
"""

import datetime as dt
import math
import operator
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    Field,
    Max,
    Model,
    OuterRef,
    Q,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, PercentRank, TruncDate

from customers.models import Customer
from kpis.models import CustomerSegmentSnapshot
from sales.models import Order

BATCH_SIZE = 1000
# Rows per UPDATE … FROM (VALUES …) / INSERT on PostgreSQL. Each UPDATE batch is joined to the
# customers table by a scan of it, so 1,000-row batches re-scanned 100k customers ~100 times;
# psycopg allows 65,535 parameters per statement.
MAX_PARAMS = 60000
TRAILING_DAYS = 365
SEGMENT_SNAPSHOT_FIELDS = (
    "customer_id",
    "granularity",
    "period_start",
    "as_of",
    "rfm_segment",
    "r",
    "f",
    "m",
    "recency_days",
    "frequency",
    "monetary",
)


def write_batch_size(columns: int) -> int:
    """Rows per batched write statement of `columns` parameters each."""
    if connection.vendor != "postgresql":
        return BATCH_SIZE
    return max(BATCH_SIZE, MAX_PARAMS // max(columns, 1))


def org_tz() -> ZoneInfo:
    return ZoneInfo(settings.CRM_TIME_ZONE)


def _supports_update_from() -> bool:
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33)
    )


def bulk_set(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Set `fields` of many rows, each `(pk, value, …)`, in one UPDATE … FROM (VALUES …) a batch.

    Django's bulk_update builds one CASE per field and row, which took ~9 s for 5 000 customers
    on PostgreSQL; joining a VALUES list takes a fraction of a second. Values are cast to each
    column's type so an all-NULL batch still has a type. Falls back to bulk_update elsewhere.
    """
    if not rows:
        return
    opts = model._meta
    columns = [cast(Field, opts.get_field(name)) for name in fields]
    if not _supports_update_from():
        objects = []
        for row in rows:
            obj = model(pk=row[0])
            for column, value in zip(columns, row[1:], strict=True):
                setattr(obj, column.attname, value)
            objects.append(obj)
        model._default_manager.bulk_update(objects, list(fields), batch_size=BATCH_SIZE)
        return
    quote = connection.ops.quote_name
    table, pk = quote(opts.db_table), quote(str(opts.pk.column))
    if connection.vendor == "postgresql":
        _copy_and_update(model, columns, rows)
        return
    aliases = ["v_pk", *(f"v_{column.column}" for column in columns)]
    assignments = ", ".join(
        f"{quote(column.column)} = CAST(v.{quote(alias)} AS {db_type})"
        for column, alias in zip(columns, aliases[1:], strict=True)
        for db_type in [column.cast_db_type(connection)]  # type: ignore[attr-defined]
    )
    row_sql = "(" + ", ".join(["%s"] * len(aliases)) + ")"
    batch_size = write_batch_size(len(aliases))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            cursor.execute(
                f"WITH v({', '.join(quote(a) for a in aliases)}) AS "
                f"(VALUES {', '.join([row_sql] * len(batch))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.{quote('v_pk')}",
                [value for row in batch for value in row],
            )


def _copy_and_update(
    model: type[Model], columns: Sequence[Field], rows: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one UPDATE … FROM it.

    One join instead of a scan of the table per VALUES batch, and rows whose values are already
    stored are not rewritten (IS DISTINCT FROM), so a re-run for the same moment writes little.
    """
    opts = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(opts.db_table), quote(str(opts.pk.column))
    staging = quote(f"bulk_set_{opts.db_table}")
    definitions = ", ".join(
        [
            f"v_pk {cast(Any, opts.pk).rel_db_type(connection)}",
            *(f"{quote('v_' + column.column)} {column.db_type(connection)}" for column in columns),
        ]
    )
    assignments = ", ".join(
        f"{quote(column.column)} = v.{quote('v_' + column.column)}" for column in columns
    )
    changed = " OR ".join(
        f"{table}.{quote(column.column)} IS DISTINCT FROM v.{quote('v_' + column.column)}"
        for column in columns
    )
    with connection.cursor() as cursor:
        # Statements without parameters share a round trip (psycopg runs them as one query).
        cursor.execute(
            f"DROP TABLE IF EXISTS {staging}; CREATE TEMPORARY TABLE {staging} ({definitions})"
        )
        with cursor.cursor.copy(f"COPY {staging} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[0],
                        *(
                            column.get_db_prep_save(value, connection)
                            for column, value in zip(columns, row[1:], strict=True)
                        ),
                    ]
                )
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {staging} v "
            f"WHERE {table}.{pk} = v.v_pk AND ({changed}); DROP TABLE {staging}"
        )


def bulk_insert(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of `fields` (attribute names, e.g. "customer_id"): COPY on PostgreSQL,
    bulk_create elsewhere.

    Django's bulk_create sends each column as an array parameter that psycopg escapes element
    by element in Python (≈70 s for 70k health snapshots with their JSON components), after
    building a model instance per row; COPY streams plain values as they are made. Only JSON
    values need the field's own preparation (plain ints, strings, decimals, dates pass as is).
    """
    opts = model._meta
    columns = [
        cast(Field, next(f for f in opts.concrete_fields if f.attname == name)) for name in fields
    ]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            (model(**dict(zip(fields, row, strict=True))) for row in rows),
            batch_size=BATCH_SIZE,
        )
        return
    prepared = [i for i, column in enumerate(columns) if column.get_internal_type() == "JSONField"]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(opts.db_table)} ({', '.join(quote(c.column) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                if prepared:
                    row = list(row)
                    for i in prepared:
                        row[i] = columns[i].get_db_prep_save(row[i], connection)
                copy.write_row(row)


def quintile(percent_rank: float) -> int:
    # The epsilon keeps 0.6 (stored as 0.59999…) in the fourth quintile, not the third.
    return min(5, math.floor(percent_rank * 5 + 1e-9) + 1)


@dataclass(frozen=True)
class CustomerRfm:
    customer_id: int
    recency_days: int
    frequency: int
    monetary: Decimal
    order_days_ever: int
    r: int
    f: int
    m: int
    segment: str
    last_order_at: dt.datetime | None = None


# customer id → (last counted order, order days and net revenue in the trailing 365 days)
OrderMeasures = dict[int, tuple[dt.datetime, int, Decimal]]


def _counted_orders(as_of: dt.datetime, prefix: str = "") -> Q:
    return ~Q(**{f"{prefix}status": Order.Status.CANCELLED}) & Q(
        **{f"{prefix}ordered_at__lt": as_of}
    )


# The named segments, first match wins (module docstring): (segment, conditions that must all
# hold), each condition (measure, comparison, number). The one statement of the rules: Python
# (`segment_for`, today's refresh) and SQL (`segment_case_sql`, the point-in-time segments of
# every KPI period in the customer frame) both read it. Measures: `churned` and `dormant` are
# 0/1 flags, `order_days_ever` distinct order days ever, `r`, `f`, `m` the 1–5 scores.
SegmentCondition = tuple[str, str, int]
SEGMENT_RULES: tuple[tuple[str, tuple[SegmentCondition, ...]], ...] = (
    (Customer.RfmSegment.CHURNED, (("churned", "=", 1),)),
    (Customer.RfmSegment.DORMANT, (("dormant", "=", 1),)),
    (Customer.RfmSegment.FIRST_TIME_BUYER, (("order_days_ever", "=", 1),)),
    (Customer.RfmSegment.CHAMPION, (("r", ">=", 4), ("f", ">=", 4), ("m", ">=", 4))),
    (Customer.RfmSegment.AT_RISK, (("r", "<=", 2), ("f", ">=", 3))),
    (Customer.RfmSegment.HIGH_FREQUENCY, (("f", "=", 5),)),
    (Customer.RfmSegment.REGULAR, ()),
)
SEGMENT_MEASURES = ("churned", "dormant", "order_days_ever", "r", "f", "m")
_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "=": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
}


def segment_for(measures: Mapping[str, int]) -> str:
    """The first SEGMENT_RULES segment whose conditions all hold for `measures`."""
    for segment, conditions in SEGMENT_RULES:
        if all(
            _COMPARISONS[comparison](measures[measure], number)
            for measure, comparison, number in conditions
        ):
            return str(segment)
    return ""


def segment_case_sql(columns: Mapping[str, tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """SEGMENT_RULES as one SQL CASE; `columns` gives each measure's (expression, params).

    An expression is repeated (with its params) wherever a rule reads it.
    """
    branches: list[str] = []
    params: list[Any] = []
    fallback = "''"
    for segment, conditions in SEGMENT_RULES:
        if not conditions:
            fallback = f"'{segment}'"
            break
        tests = []
        for measure, comparison, number in conditions:
            expression, values = columns[measure]
            tests.append(f"({expression}) {comparison} {int(number)}")
            params += values
        branches.append(f"WHEN {' AND '.join(tests)} THEN '{segment}'")
    return f"CASE {' '.join(branches)} ELSE {fallback} END", params


def named_segment(
    *,
    r: int,
    f: int,
    m: int,
    order_days_ever: int,
    churned: bool,
    days_since_last_order: Decimal,
    inactivity_days: int,
) -> str:
    """The named segment for one customer's measures (SEGMENT_RULES)."""
    return segment_for(
        {
            "churned": int(churned),
            "dormant": int(days_since_last_order > Decimal(inactivity_days) / 2),
            "order_days_ever": order_days_ever,
            "r": r,
            "f": f,
            "m": m,
        }
    )


def rfm_rows(*, as_of: dt.datetime) -> Iterator[CustomerRfm]:
    """One grouped query with three window functions; yields every customer with an order."""
    tz = org_tz()
    counted = _counted_orders(as_of, "orders__")
    trailing = counted & Q(orders__ordered_at__gte=as_of - dt.timedelta(days=TRAILING_DAYS))
    order_day = TruncDate("orders__ordered_at", tzinfo=tz)
    rows = (
        Customer.objects.filter(
            Exists(Order.objects.filter(_counted_orders(as_of), customer=OuterRef("pk")))
        )
        .annotate(
            last_order_at=Max("orders__ordered_at", filter=counted),
            last_order_day=Max(order_day, filter=counted),
            order_days_ever=Count(order_day, filter=counted, distinct=True),
            frequency=Count(order_day, filter=trailing, distinct=True),
            monetary=Coalesce(Sum("orders__net_amount", filter=trailing), Value(Decimal("0"))),
            inactivity_days=Coalesce(
                F("segment__inactivity_days"), Value(settings.CRM_INACTIVITY_DAYS)
            ),
        )
        .annotate(
            r_rank=Window(PercentRank(), order_by=F("last_order_day").asc()),
            f_rank=Window(PercentRank(), order_by=F("frequency").asc()),
            m_rank=Window(PercentRank(), order_by=F("monetary").asc()),
        )
        .values_list(
            "id",
            "last_order_at",
            "last_order_day",
            "order_days_ever",
            "frequency",
            "monetary",
            "inactivity_days",
            "churned_at",
            "contract_end_date",
            "r_rank",
            "f_rank",
            "m_rank",
        )
        .order_by()
    )
    as_of_day = as_of.astimezone(tz).date()
    for (
        customer_id,
        last_order_at,
        last_order_day,
        order_days_ever,
        frequency,
        monetary,
        inactivity_days,
        churned_at,
        contract_end_date,
        r_rank,
        f_rank,
        m_rank,
    ) in rows.iterator(chunk_size=BATCH_SIZE):
        r, f, m = quintile(r_rank), quintile(f_rank), quintile(m_rank)
        since_last = Decimal((as_of - last_order_at).total_seconds()) / 86400
        if churned_at is not None and churned_at <= as_of and last_order_at <= churned_at:
            churned = True
        elif churned_at is None and contract_end_date is not None:
            churned = contract_end_date <= as_of_day
        else:
            churned = since_last > inactivity_days
        yield CustomerRfm(
            customer_id=customer_id,
            recency_days=(as_of_day - last_order_day).days,
            frequency=frequency,
            monetary=Decimal(monetary),
            order_days_ever=order_days_ever,
            r=r,
            f=f,
            m=m,
            segment=named_segment(
                r=r,
                f=f,
                m=m,
                order_days_ever=order_days_ever,
                churned=churned,
                days_since_last_order=since_last,
                inactivity_days=inactivity_days,
            ),
            last_order_at=last_order_at,
        )


@dataclass(frozen=True)
class RfmSummary:
    as_of: dt.datetime
    customers: int
    segments: dict[str, int]
    # The order measures behind the scores, for the health score of the same moment (the same
    # three measures: kpis.health reuses them instead of a second pass over the orders).
    order_measures: OrderMeasures = field(default_factory=dict, repr=False, compare=False)


@transaction.atomic
def rfm_recompute(
    *, as_of: dt.datetime, granularity: str | None = None, period_start: dt.date | None = None
) -> RfmSummary:
    """Store RFM scores and segments on Customer and, for a KPI period, its history rows.

    Idempotent: a re-run for the same (granularity, period_start) replaces that period's rows.
    """
    results = list(rfm_rows(as_of=as_of))
    bulk_set(
        Customer,
        ["rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_segment"],
        [(row.customer_id, row.r, row.f, row.m, row.segment) for row in results],
    )
    # Customers whose orders were all cancelled (or lie after as_of) lose their scores.
    Customer.objects.filter(
        ~Exists(Order.objects.filter(_counted_orders(as_of), customer=OuterRef("pk")))
    ).exclude(rfm_segment="", rfm_recency__isnull=True).update(
        rfm_segment="", rfm_recency=None, rfm_frequency=None, rfm_monetary=None
    )
    if granularity is not None and period_start is not None:
        CustomerSegmentSnapshot.objects.filter(
            granularity=granularity, period_start=period_start
        ).delete()
        bulk_insert(
            CustomerSegmentSnapshot,
            SEGMENT_SNAPSHOT_FIELDS,
            (
                (
                    row.customer_id,
                    granularity,
                    period_start,
                    as_of,
                    row.segment,
                    row.r,
                    row.f,
                    row.m,
                    row.recency_days,
                    row.frequency,
                    row.monetary,
                )
                for row in results
            ),
        )
    return RfmSummary(
        as_of=as_of,
        customers=len(results),
        segments=dict(Counter(row.segment for row in results)),
        order_measures={
            row.customer_id: (row.last_order_at, row.frequency, row.monetary)
            for row in results
            if row.last_order_at is not None
        },
    )

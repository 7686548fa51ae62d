"""The per-run customer frame: every customer-activity figure of one period from one pass.

The customer KPIs (active, churn, retention, reactivation, up-sell, cross-sell, repeat,
returning, engagement, complaint denominators, historic and predictive CLV) all ask the same
questions of the same customers: was the customer active (catalogue §1) at P.start, at P.end and
at the twelve trailing month starts; did they order in P, before P, on two days of P, from a new
product line. Asking them in one query per KPI and dimension re-evaluated the activity rule
dozens of times per run. The frame answers all of them once:

1. one grouped pass over the countable orders placed before P.end, per customer: the last order
   placed after any explicit churn before each instant t (the activity rule only needs that
   maximum — "an order in [t − d, t) after the churn" holds exactly when the last such order
   before t is on or after t − d), first order, order count/days/revenue in P and in the
   trailing 12 months, revenue to date;
2. the customers joined to it, with the activity rule evaluated per instant and the customer
   sets of the other questions (interactions, won up-sells, new product lines) as `IN`
   sub-queries, into a temporary table;
3. one aggregate per dimension over that table — `GROUPING SETS` on PostgreSQL (one scan for
   every dimension), one `GROUP BY` per dimension elsewhere (SQLite has no GROUPING SETS).

The result is a small dict of counts per dimension value; the temporary table is dropped at
once. The engine shares one frame between the KPIs of a run (`KpiContext.shared`); without it
(a definition computed on its own) each call builds its own, so figures never go stale.
The per-KPI `records()` querysets (drill-down) keep the `kpis.activity` Q rules: both are held
to the same figures by the tests and by the benchmark's cross-check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Context, Decimal
from typing import Any, ClassVar, cast

from django.db import connection
from django.db.models import Count, F, Field, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.models import Customer
from kpis.activity import countable_orders
from kpis.definitions.base import KpiContext, KpiResult, RatioKpi, group_key, ratio, to_decimal
from kpis.models import CustomerHealthSnapshot, CustomerSegmentSnapshot
from kpis.periods import organisation_tz, previous_period, shift_date, to_datetime_range
from kpis.rfm import TRAILING_DAYS, segment_case_sql

FRAME_TABLE = "kpis_customer_frame"
TOP_SHARE_DIMENSIONS = ("all", "segment", "team", "channel")
CLV_MONTHS = 12
CENT = Decimal("0.01")
# Dimension → Customer field grouped on (as customer_paths()); rfm_segment and health_band are
# the values at the period's end, not the customer's current ones.
FRAME_DIMENSIONS: dict[str, str | None] = {
    "all": None,
    "segment": "segment",
    "team": "team",
    "owner": "owner",
    "channel": "channel",
    "rfm_segment": "rfm_segment",
    "health_band": "health_band",
}

# Providers of customer-id sets asked of every customer (name → querysets of customer ids; a
# customer is in the set when in any of them). Registered by the definition modules that own the
# rule, so the frame and their drill-down querysets share one definition. Importing this module
# runs the package's __init__ first, which imports every definition module: all sets are
# registered before the first frame is built.
CustomerSet = Callable[[KpiContext], list[QuerySet[Any]]]
CUSTOMER_SETS: dict[str, CustomerSet] = {}


def register_customer_set(name: str) -> Callable[[CustomerSet], CustomerSet]:
    def register(provider: CustomerSet) -> CustomerSet:
        CUSTOMER_SETS[name] = provider
        return provider

    return register


def shift_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clipped to the target month's last day."""
    return shift_date("month", day, months)


def clv_month_starts(ctx: KpiContext) -> list[dt.datetime]:
    """The 13 instants bounding the 12 trailing months that end at P.end (oldest first)."""
    return [
        to_datetime_range(shift_months(ctx.period_end, months - CLV_MONTHS), ctx.period_end)[0]
        for months in range(CLV_MONTHS + 1)
    ]


def _aware(value: Any) -> dt.datetime:
    """A timestamp read back from the temporary table (SQLite returns UTC text)."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
    parsed = parse_datetime(str(value))
    assert parsed is not None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def money(number: Any) -> Decimal:
    """A money sum as the ORM returns it: exact on PostgreSQL; SQLite sums in floating point,
    which Django reads with 15 significant digits and quantizes to the field's 2 places."""
    if number is None:
        return Decimal("0.00")
    if isinstance(number, float):
        return Context(prec=15).create_decimal_from_float(number).quantize(CENT)
    return Decimal(number).quantize(CENT)


class CustomerFrame:
    """Per-dimension counts of one period's customer facts (see the module docstring)."""

    def __init__(self, ctx: KpiContext) -> None:
        self.ctx = ctx
        months = clv_month_starts(ctx)
        instants = sorted({ctx.start, ctx.end, *months})
        self.instants = instants
        self.column_of = {instant: f"a{index}" for index, instant in enumerate(instants)}
        self.a_start = self.column_of[ctx.start]
        self.a_end = self.column_of[ctx.end]
        self.month_columns = [self.column_of[month] for month in months]
        # The moment of the period's point-in-time RFM segments: its end, or now while it is open.
        self.as_of = min(ctx.now, ctx.end)
        self.segments_written = 0
        # Per customer with an order before `as_of`: (last order, order days and net revenue
        # in the trailing 365 days) — the health score's order measures (kpis.health).
        self.order_measures: dict[int, tuple[dt.datetime, int, Decimal]] = {}
        self.stats: dict[str, dict[str, dict[str, Any]]] = {}
        self.top_share: dict[str, dict[str, tuple[Any, Any, int]]] = {}
        self._build()

    # --- SQL ------------------------------------------------------------------------------

    def _adapt(self, value: dt.datetime | dt.date) -> Any:
        if isinstance(value, dt.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        return connection.ops.adapt_datefield_value(value)

    def _order_summary(self) -> tuple[str, list[Any]]:
        """Per customer, over countable orders before P.end (one grouped pass)."""
        ctx, tz = self.ctx, organisation_tz()
        local_day = TruncDate("ordered_at", tzinfo=tz)
        # kpis.activity._orders_after_explicit_churn, as an aggregate filter.
        after_churn = (
            Q(customer__churned_at__isnull=True) | Q(ordered_at__gt=F("customer__churned_at"))
        ) & (
            Q(customer__contract_end_date__isnull=True)
            | Q(GreaterThan(local_day, F("customer__contract_end_date")))
        )
        in_p = Q(ordered_at__gte=ctx.start)
        previous_start, _previous_end = previous_period(ctx.granularity, ctx.period_start)
        in_previous = Q(ordered_at__gte=to_datetime_range(previous_start, ctx.period_start)[0])
        in_previous &= Q(ordered_at__lt=ctx.start)
        trailing = Q(ordered_at__gte=self.instants[0])
        aggregates: dict[str, Any] = {
            f"l{index}": Max("ordered_at", filter=after_churn & Q(ordered_at__lt=instant))
            for index, instant in enumerate(self.instants)
        }
        aggregates |= {
            "first_order": Min("ordered_at"),
            "orders_p": Count("pk", filter=in_p),
            "day_min": Min(local_day, filter=in_p),
            "day_max": Max(local_day, filter=in_p),
            "revenue_p": Sum("net_amount", filter=in_p),
            # The previous period of the same granularity (net revenue retention).
            "orders_prev": Count("pk", filter=in_previous),
            "revenue_prev": Sum("net_amount", filter=in_previous),
            "revenue_e": Sum("net_amount"),
            "orders_12": Count("pk", filter=trailing),
            "revenue_12": Sum("net_amount", filter=trailing),
        }
        # The RFM measures as of `as_of` (kpis.rfm.rfm_rows, in the same pass).
        before = Q(ordered_at__lt=self.as_of)
        year = before & Q(ordered_at__gte=self.as_of - dt.timedelta(days=TRAILING_DAYS))
        aggregates |= {
            "rfm_last": Max("ordered_at", filter=before),
            "rfm_last_day": Max(local_day, filter=before),
            "rfm_days_ever": Count(local_day, filter=before, distinct=True),
            "rfm_frequency": Count(local_day, filter=year, distinct=True),
            "rfm_monetary": Sum("net_amount", filter=year),
        }
        summary = (
            countable_orders()
            .filter(ordered_at__lt=ctx.end)
            .order_by()
            .values("customer_id")
            .annotate(**aggregates)
        )
        sql, params = summary.query.sql_with_params()
        return self._with_rfm_scores(sql), list(params)

    def _with_rfm_scores(self, summary_sql: str) -> str:
        """The order summary with each buyer's R, F and M quintile scores (kpis.rfm: PERCENT_RANK
        among the customers with an order before `as_of`, recency inverted)."""
        floor = "FLOOR({})" if connection.vendor == "postgresql" else "CAST({} AS INTEGER)"

        def score(rank: str) -> str:
            # kpis.rfm.quintile: min(5, floor(rank · 5 + ε) + 1)
            scaled = f"{rank} * 5 + 0.000000001"
            return (
                f"CASE WHEN s.rfm_last IS NULL THEN NULL WHEN {scaled} >= 4 THEN 5 "
                f"ELSE CAST({floor.format(scaled)} AS INTEGER) + 1 END"
            )

        buyers = "PARTITION BY CASE WHEN s.rfm_last IS NULL THEN 0 ELSE 1 END"
        ranked = (
            f"SELECT s.*, "
            f"PERCENT_RANK() OVER ({buyers} ORDER BY s.rfm_last_day) AS r_rank, "
            f"PERCENT_RANK() OVER ({buyers} ORDER BY s.rfm_frequency) AS f_rank, "
            f"PERCENT_RANK() OVER ({buyers} ORDER BY COALESCE(s.rfm_monetary, 0)) AS m_rank "
            f"FROM ({summary_sql}) s"
        )
        return (
            f"SELECT s.*, {score('s.r_rank')} AS rfm_r, {score('s.f_rank')} AS rfm_f, "
            f"{score('s.m_rank')} AS rfm_m FROM ({ranked}) s"
        )

    def _segment_sql(self, col: dict[str, str]) -> tuple[str, list[Any]]:
        """The customer's named segment at `as_of` (kpis.rfm.SEGMENT_RULES), '' without orders.

        churned / dormant follow kpis.rfm.rfm_rows: an explicit churn not followed by an order,
        else a contract end on or before the day, else no order within d (dormant: d/2) days,
        with d the customer's segment override or the default.
        """
        as_of = self.as_of
        as_of_day = timezone.localtime(as_of, organisation_tz()).date()
        rules = self.ctx.rules
        by_days: dict[int, list[int]] = {}
        for segment_id, days in rules.segment_days:
            by_days.setdefault(days, []).append(segment_id)

        def lapsed(fraction: int) -> tuple[str, list[Any]]:
            """No order for more than d / fraction days (d per segment override)."""
            branches, params = [], []
            for days, ids in sorted(by_days.items()):
                marks = ", ".join(["%s"] * len(ids))
                branches.append(f"WHEN {col['segment']} IN ({marks}) THEN o.rfm_last < %s")
                params += [*ids, self._adapt(as_of - dt.timedelta(days=days / fraction))]
            default = as_of - dt.timedelta(days=rules.default_days / fraction)
            sql = (
                f"CASE {' '.join(branches)} ELSE o.rfm_last < %s END"
                if branches
                else ("o.rfm_last < %s")
            )
            return f"CASE WHEN {sql} THEN 1 ELSE 0 END", [*params, self._adapt(default)]

        inactive_sql, inactive_params = lapsed(1)
        churned = (
            f"CASE WHEN {col['churned_at']} IS NOT NULL AND {col['churned_at']} <= %s "
            f"AND o.rfm_last <= {col['churned_at']} THEN 1 "
            f"WHEN {col['churned_at']} IS NULL AND {col['contract_end_date']} IS NOT NULL THEN "
            f"CASE WHEN {col['contract_end_date']} <= %s THEN 1 ELSE 0 END "
            f"ELSE {inactive_sql} END"
        )
        case_sql, case_params = segment_case_sql(
            {
                "churned": (
                    churned,
                    [self._adapt(as_of), self._adapt(as_of_day), *inactive_params],
                ),
                "dormant": lapsed(2),
                "order_days_ever": ("o.rfm_days_ever", []),
                "r": ("o.rfm_r", []),
                "f": ("o.rfm_f", []),
                "m": ("o.rfm_m", []),
            }
        )
        return f"CASE WHEN o.rfm_r IS NULL THEN '' ELSE {case_sql} END", case_params

    def _recency_sql(self) -> tuple[str, list[Any]]:
        """Days from the last order's local day to `as_of`'s local day."""
        day = timezone.localtime(self.as_of, organisation_tz()).date()
        if connection.vendor == "postgresql":
            return "(CAST(%s AS date) - o.rfm_last_day)", [self._adapt(day)]
        return "CAST(julianday(%s) - julianday(o.rfm_last_day) AS INTEGER)", [self._adapt(day)]

    def _active_sql(self, index: int, at: dt.datetime, col: dict[str, str]) -> tuple[str, list]:
        """kpis.activity.active_at_q for the frame row (`o.l{index}` = last order after churn)."""
        rules = self.ctx.rules
        local_day = timezone.localtime(at, organisation_tz()).date()
        is_contract = f"({col['churned_at']} IS NOT NULL OR {col['contract_end_date']} IS NOT NULL)"
        no_contract = f"({col['churned_at']} IS NULL AND {col['contract_end_date']} IS NULL)"
        parts = [
            f"({is_contract} AND ({col['churned_at']} IS NULL OR {col['churned_at']} >= %s) "
            f"AND ({col['contract_end_date']} IS NULL OR {col['contract_end_date']} >= %s))"
        ]
        params: list[Any] = [self._adapt(at), self._adapt(local_day)]
        by_days: dict[int, list[int]] = {}
        for segment_id, days in rules.segment_days:
            by_days.setdefault(days, []).append(segment_id)
        overridden = [segment_id for segment_id, _days in rules.segment_days]
        groups: list[tuple[int, str, list[Any]]] = []
        if overridden:
            marks = ", ".join(["%s"] * len(overridden))
            groups.append(
                (
                    rules.default_days,
                    f"({col['segment']} IS NULL OR {col['segment']} NOT IN ({marks}))",
                    list(overridden),
                )
            )
        else:
            groups.append((rules.default_days, "1 = 1", []))
        for days, ids in sorted(by_days.items()):
            marks = ", ".join(["%s"] * len(ids))
            groups.append((days, f"{col['segment']} IN ({marks})", list(ids)))
        for days, condition, ids in groups:
            since = self._adapt(at - dt.timedelta(days=days))
            parts.append(
                f"({condition} AND (o.l{index} >= %s OR ({no_contract} "
                f"AND {col['acquired_at']} >= %s)))"
            )
            params += [*ids, since, since]
        sql = f"CASE WHEN {col['acquired_at']} < %s AND ({' OR '.join(parts)}) THEN 1 ELSE 0 END"
        return sql, [self._adapt(at), *params]

    def _frame_sql(self) -> tuple[str, list[Any]]:
        ctx = self.ctx
        quote = connection.ops.quote_name
        opts = Customer._meta
        col = {
            name: f"c.{quote(cast(Field, opts.get_field(name)).column)}"
            for name in (
                "id",
                "segment",
                "team",
                "owner",
                "channel",
                "acquired_at",
                "churned_at",
                "contract_end_date",
            )
        }
        select = [f"{col['id']} AS id"]
        params: list[Any] = []
        for name in FRAME_DIMENSIONS:
            if name == "rfm_segment":
                # The segment the customer had at the period's end, not today's.
                segment_sql, segment_params = self._segment_sql(col)
                select.append(f"{segment_sql} AS d_rfm_segment")
                params += segment_params
            elif name == "health_band":
                # Filled from the period's stored health bands once they are written.
                select.append("CAST('' AS VARCHAR(20)) AS d_health_band")
            elif name != "all":
                select.append(f"{col[name]} AS d_{name}")
        recency_sql, recency_params = self._recency_sql()
        select += [
            "o.rfm_last AS rfm_last",
            "o.rfm_r AS rfm_r",
            "o.rfm_f AS rfm_f",
            "o.rfm_m AS rfm_m",
            f"{recency_sql} AS rfm_recency",
            "COALESCE(o.rfm_frequency, 0) AS rfm_frequency",
            "COALESCE(o.rfm_monetary, 0) AS rfm_monetary",
        ]
        params += recency_params
        for index, instant in enumerate(self.instants):
            sql, values = self._active_sql(index, instant, col)
            select.append(f"{sql} AS a{index}")
            params += values
        flag = "CASE WHEN {} THEN 1 ELSE 0 END"
        select.append(f"{flag.format(col['acquired_at'] + ' < %s')} AS acq_before_s")
        params.append(self._adapt(ctx.start))
        in_p = f"{col['acquired_at']} >= %s AND {col['acquired_at']} < %s"
        select.append(f"{flag.format(in_p)} AS acq_in_p")
        params += [self._adapt(ctx.start), self._adapt(ctx.end)]
        select.append(f"{flag.format(col['acquired_at'] + ' < %s')} AS acq_before_e")
        params.append(self._adapt(ctx.end))
        select.append(f"{flag.format('o.orders_p > 0')} AS ord_p")
        select.append(f"{flag.format(f'o.l{self.instants.index(ctx.end)} >= %s')} AS ord_p_ac")
        params.append(self._adapt(ctx.start))
        select.append(f"{flag.format('o.first_order < %s')} AS before_s")
        params.append(self._adapt(ctx.start))
        select.append(f"{flag.format('o.day_min < o.day_max')} AS repeat_p")
        select += [
            "COALESCE(o.orders_p, 0) AS orders_p",
            "COALESCE(o.revenue_p, 0) AS revenue_p",
            "COALESCE(o.orders_prev, 0) AS orders_prev",
            "COALESCE(o.revenue_prev, 0) AS revenue_prev",
            "COALESCE(o.revenue_e, 0) AS revenue_e",
            "COALESCE(o.orders_12, 0) AS orders_12",
            "COALESCE(o.revenue_12, 0) AS revenue_12",
        ]
        for name, provider in sorted(CUSTOMER_SETS.items()):
            members = []
            for queryset in provider(ctx):
                sub_sql, sub_params = queryset.order_by().query.sql_with_params()
                members.append(f"{col['id']} IN ({sub_sql})")
                params += list(sub_params)
            select.append(f"{flag.format(' OR '.join(members))} AS s_{name}")
        # The segment at P.start: the one stored for the previous period (as of its end).
        select.append("COALESCE(p.rfm_segment, '') AS start_segment")
        summary_sql, summary_params = self._order_summary()
        history = CustomerSegmentSnapshot._meta
        previous_start, _previous_end = previous_period(ctx.granularity, ctx.period_start)
        sql = (
            f"CREATE TEMPORARY TABLE {quote(FRAME_TABLE)} AS SELECT {', '.join(select)} "
            f"FROM {quote(opts.db_table)} c "
            f"LEFT JOIN ({summary_sql}) o ON o.customer_id = {col['id']} "
            f"LEFT JOIN {quote(history.db_table)} p ON p.customer_id = {col['id']} "
            f"AND p.granularity = %s AND p.period_start = %s"
        )
        return sql, [
            *params,
            *summary_params,
            ctx.granularity,
            self._adapt(previous_start),
        ]

    def measures(self) -> dict[str, str]:
        """Measure name → aggregate over the frame table (flags are 0/1 integers)."""
        a_s, a_e = self.a_start, self.a_end
        during = (
            f"(CASE WHEN {a_s} = 1 OR acq_in_p = 1 OR (acq_before_e = 1 AND ord_p = 1) "
            "THEN 1 ELSE 0 END)"
        )
        measures = {
            "customers": "COUNT(*)",
            "active_start": f"SUM({a_s})",
            "active_end": f"SUM({a_e})",
            "churned": f"SUM({a_s} * (1 - {a_e}))",
            "retained": f"SUM({a_s} * {a_e})",
            "lapsed_start": f"SUM(acq_before_s * (1 - {a_s}))",
            "reactivated": f"SUM(acq_before_s * (1 - {a_s}) * ord_p_ac)",
            "ordering": "SUM(ord_p)",
            "orders_p": "SUM(orders_p)",
            "revenue_p": "SUM(revenue_p)",
            "returning": "SUM(ord_p * before_s)",
            "repeat": "SUM(repeat_p)",
            "active_during": f"SUM({during})",
            "revenue_active_end": f"SUM(CASE WHEN {a_e} = 1 THEN revenue_e ELSE 0 END)",
            # The customers active at P.start: their orders and revenue in P and in P − 1.
            "orders_p_active_start": f"SUM(CASE WHEN {a_s} = 1 THEN orders_p ELSE 0 END)",
            "revenue_p_active_start": f"SUM(CASE WHEN {a_s} = 1 THEN revenue_p ELSE 0 END)",
            "orders_prev_active_start": f"SUM(CASE WHEN {a_s} = 1 THEN orders_prev ELSE 0 END)",
            "revenue_prev_active_start": f"SUM(CASE WHEN {a_s} = 1 THEN revenue_prev ELSE 0 END)",
            "revenue_12": "SUM(revenue_12)",
            "orders_12": "SUM(orders_12)",
            "customers_12": "SUM(CASE WHEN orders_12 > 0 THEN 1 ELSE 0 END)",
            "clv_active": "SUM(" + " + ".join(self.month_columns[:-1]) + ")",
            "clv_churned": "SUM("
            + " + ".join(
                f"{before} * (1 - {after})"
                for before, after in zip(
                    self.month_columns[:-1], self.month_columns[1:], strict=True
                )
            )
            + ")",
        }
        # Segment transitions between P.start and P.end (kpis.definitions.segments).
        for name, segment in (
            ("first_time", "first_time_buyer"),
            ("dormant", "dormant"),
            ("high_frequency", "high_frequency"),
        ):
            measures[f"{name}_start"] = self._flag_sum(f"start_segment = '{segment}'")
        measures["first_time_repeat"] = self._flag_sum(
            "start_segment = 'first_time_buyer' AND ord_p = 1"
        )
        measures["dormant_reactivated"] = self._flag_sum("start_segment = 'dormant' AND ord_p = 1")
        measures["high_frequency_retained"] = self._flag_sum(
            "start_segment = 'high_frequency' AND d_rfm_segment = 'high_frequency'"
        )
        if "engaged" in CUSTOMER_SETS:
            measures["engaged"] = f"SUM({during} * s_engaged)"
        if "upsold" in CUSTOMER_SETS:
            measures["upsold"] = f"SUM({a_s} * s_upsold)"
        if "cross_sold" in CUSTOMER_SETS:
            measures["cross_sold"] = "SUM(ord_p * before_s * s_cross_sold)"
        return measures

    @staticmethod
    def _flag_sum(condition: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    def _aggregate(self) -> None:
        quote = connection.ops.quote_name
        measures = self.measures()
        names = list(measures)
        # Aliases prefixed: some measure names are SQL keywords (RETURNING, REPEAT).
        aggregates = ", ".join(f"{measures[name]} AS m_{name}" for name in names)
        dimensions = [name for name in FRAME_DIMENSIONS if name != "all"]
        self.stats = {dimension: {} for dimension in FRAME_DIMENSIONS}
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                flags = ", ".join(f"GROUPING(d_{name})" for name in dimensions)
                sets = ", ".join(["()", *(f"(d_{name})" for name in dimensions)])
                cursor.execute(
                    f"SELECT {flags}, {', '.join(f'd_{name}' for name in dimensions)}, "
                    f"{aggregates} FROM {quote(FRAME_TABLE)} GROUP BY GROUPING SETS ({sets})"
                )
                width = len(dimensions)
                for row in cursor.fetchall():
                    grouping, keys, values = row[:width], row[width : 2 * width], row[2 * width :]
                    grouped_on = [i for i, flag in enumerate(grouping) if flag == 0]
                    if grouped_on:
                        dimension, key = dimensions[grouped_on[0]], group_key(keys[grouped_on[0]])
                    else:
                        dimension, key = "all", ""
                    self.stats[dimension][key] = dict(zip(names, values, strict=True))
            else:
                cursor.execute(f"SELECT {aggregates} FROM {quote(FRAME_TABLE)}")
                self.stats["all"][""] = dict(zip(names, cursor.fetchone(), strict=True))
                for name in dimensions:
                    cursor.execute(
                        f"SELECT d_{name}, {aggregates} FROM {quote(FRAME_TABLE)} GROUP BY d_{name}"
                    )
                    for key, *values in cursor.fetchall():
                        self.stats[name][group_key(key)] = dict(zip(names, values, strict=True))
        zeros = dict.fromkeys(names, 0)
        self.stats["all"].setdefault("", zeros)
        self._aggregate_top_share()

    def _aggregate_top_share(self) -> None:
        """Per dimension value: revenue in P of the top ceil(20 %) ordering customers (ranked by
        revenue in P, ties by id), revenue in P and ordering customers — window functions over
        the frame (PostgreSQL and SQLite both have them)."""
        quote = connection.ops.quote_name
        self.top_share = {}
        with connection.cursor() as cursor:
            for dimension in TOP_SHARE_DIMENSIONS:
                column = "0" if dimension == "all" else f"d_{dimension}"
                # ceil(cnt / 5) customers: rn <= ceil(cnt/5)  ⇔  5·rn <= cnt + 4 (integers).
                cursor.execute(
                    "SELECT dim, SUM(CASE WHEN 5 * rn <= cnt + 4 THEN rev ELSE 0 END), "
                    "SUM(rev), COUNT(*) FROM ("
                    f"SELECT {column} AS dim, revenue_p AS rev, "
                    f"ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY revenue_p DESC, id) AS rn, "
                    f"COUNT(*) OVER (PARTITION BY {column}) AS cnt "
                    f"FROM {quote(FRAME_TABLE)} WHERE orders_p > 0) ranked GROUP BY dim"
                )
                self.top_share[dimension] = {
                    ("" if dimension == "all" else group_key(dim)): (top, total, customers)
                    for dim, top, total, customers in cursor.fetchall()
                }

    def _build(self) -> None:
        quote = connection.ops.quote_name
        sql, params = self._frame_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(FRAME_TABLE)}")
            cursor.execute(sql, params)
        try:
            if self.ctx.segment_history:
                self._store_segments()
                if self.ctx.store_health is not None:
                    self.ctx.store_health(self.as_of, self.order_measures)
            self._set_health_bands()
            self._aggregate()
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {quote(FRAME_TABLE)}")

    def _store_segments(self) -> None:
        """Replace the period's CustomerSegmentSnapshot rows with the frame's segments: one
        INSERT … SELECT from the temporary table (every customer with an order before `as_of`)."""
        ctx = self.ctx
        quote = connection.ops.quote_name
        opts = CustomerSegmentSnapshot._meta
        CustomerSegmentSnapshot.objects.filter(
            granularity=ctx.granularity, period_start=ctx.period_start
        ).delete()
        columns = ", ".join(
            quote(cast(Field, opts.get_field(name)).column)
            for name in (
                "customer",
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
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(opts.db_table)} ({columns}) "
                "SELECT id, %s, %s, %s, d_rfm_segment, rfm_r, rfm_f, rfm_m, rfm_recency, "
                f"rfm_frequency, rfm_monetary FROM {quote(FRAME_TABLE)} WHERE rfm_r IS NOT NULL",
                [
                    ctx.granularity,
                    self._adapt(ctx.period_start),
                    self._adapt(self.as_of),
                ],
            )
            self.segments_written = cursor.rowcount
            cursor.execute(
                f"SELECT id, rfm_last, rfm_frequency, rfm_monetary FROM {quote(FRAME_TABLE)} "
                "WHERE rfm_r IS NOT NULL"
            )
            self.order_measures = {
                customer_id: (_aware(last), int(frequency), money(monetary))
                for customer_id, last, frequency, monetary in cursor.fetchall()
            }

    def _set_health_bands(self) -> None:
        """Each customer's health band stored for the period (as of its end), "" without one."""
        ctx = self.ctx
        quote = connection.ops.quote_name
        history = CustomerHealthSnapshot._meta
        frame = quote(FRAME_TABLE)
        stored = (
            f"FROM {quote(history.db_table)} h WHERE h.granularity = %s AND h.period_start = %s "
            "AND h.band <> ''"
        )
        key = [ctx.granularity, self._adapt(ctx.period_start)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {frame} SET d_health_band = (SELECT h.band {stored} "
                f"AND h.customer_id = {frame}.id) WHERE id IN (SELECT h.customer_id {stored})",
                [*key, *key],
            )

    # --- reading ------------------------------------------------------------------------

    def dimension(self, dimension: str) -> dict[str, dict[str, Any]]:
        """{dimension value: {measure: number}} (the `all` total under "")."""
        return self.stats[dimension]


def customer_frame(ctx: KpiContext) -> CustomerFrame:
    """The run's frame (built once per run when the engine shares a cache), else a fresh one."""
    if ctx.shared is None:
        return CustomerFrame(ctx)
    frame = ctx.shared.get("customer_frame")
    if frame is None:
        frame = ctx.shared["customer_frame"] = CustomerFrame(ctx)
    return frame


class FrameRatioKpi(RatioKpi):
    """A customer RatioKpi whose figures come from the customer frame.

    `frame_numerator` / `frame_denominator` name frame measures (`CustomerFrame.measures`); the
    rows are exactly `RatioKpi.compute_dimension`'s: the `all` row always, other values where
    the denominator (or, without one, the numerator) counts a customer. `records()` keeps the
    querysets of the subclass (drill-down), RatioKpi's point-in-time dimensions included.
    """

    frame_numerator: ClassVar[str]
    frame_denominator: ClassVar[str | None] = None
    frame_money_numerator: ClassVar[bool] = False
    # Money over money (e.g. revenue ÷ revenue): the measures counting each part's rows. A value
    # is stored where either part has rows, as RatioKpi's union of groups; the denominator's rows
    # are the sample size.
    frame_money_parts: ClassVar[tuple[str, str] | None] = None
    # Without a denominator: the measure counting the numerator's rows (sample size; a value
    # without rows has no result), when it is not the numerator itself (e.g. a revenue sum).
    frame_rows: ClassVar[str | None] = None

    def compute(self, ctx: KpiContext) -> list[KpiResult]:
        if ctx.shared is None:  # computed on its own: one frame for all its dimensions
            ctx = replace(ctx, shared={})
        return super().compute(ctx)

    def frame_numerators(
        self, ctx: KpiContext, dimension: str
    ) -> dict[str, tuple[Any, int]] | None:
        """Numerators from elsewhere than the frame ({value: (number, rows)}), or None."""
        return None

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        self.path(dimension)  # refuses a dimension the KPI does not have
        stats = customer_frame(ctx).dimension(dimension)
        results: list[KpiResult] = []
        if self.frame_denominator is None:
            for key, row in sorted(stats.items()):
                count = int(row[self.frame_rows or self.frame_numerator] or 0)
                if count == 0 and dimension != "all":
                    continue
                if self.frame_money_numerator:
                    numerator = to_decimal(money(row[self.frame_numerator]))
                else:
                    numerator = to_decimal(int(row[self.frame_numerator] or 0))
                results.append(KpiResult(dimension, key, numerator, None, numerator, count))
            return results
        if self.frame_money_parts is not None:
            return self._money_ratio(stats, dimension, *self.frame_money_parts)
        outside = self.frame_numerators(ctx, dimension)
        keys = {key for key, row in stats.items() if row[self.frame_denominator]}
        if dimension == "all":
            keys.add("")
        keys |= set(outside or {})
        for key in sorted(keys):
            row = stats.get(key, {})
            if outside is not None:
                number = outside.get(key, (0, 0))[0]
            elif self.frame_money_numerator:
                number = money(row.get(self.frame_numerator))
            else:
                number = int(row.get(self.frame_numerator) or 0)
            count = int(row.get(self.frame_denominator) or 0)
            numerator = to_decimal(number or 0)
            denominator = to_decimal(count)
            results.append(
                KpiResult(
                    dimension,
                    key,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator, self.scale),
                    sample_size=count,
                )
            )
        return results

    def _money_ratio(
        self,
        stats: dict[str, dict[str, Any]],
        dimension: str,
        numerator_rows: str,
        denominator_rows: str,
    ) -> list[KpiResult]:
        assert self.frame_denominator is not None
        keys = {key for key, row in stats.items() if row[numerator_rows] or row[denominator_rows]}
        if dimension == "all":
            keys.add("")
        results = []
        for key in sorted(keys):
            row = stats.get(key, {})
            numerator = to_decimal(money(row.get(self.frame_numerator)))
            denominator = to_decimal(money(row.get(self.frame_denominator)))
            results.append(
                KpiResult(
                    dimension,
                    key,
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator, self.scale),
                    sample_size=int(row.get(denominator_rows) or 0),
                )
            )
        return results

"""Customer activity, churn and reactivation as queries (catalogue §1).

Every function returns a `Q` on Customer (or a queryset), so a KPI combines them into one grouped
query instead of looping over customers in Python.

The rule, as implemented:

- *Active at t* = `acquired_at < t` and either
  - **contract customers** (an explicit `churned_at` or a `contract_end_date` is set): not churned
    before t (`churned_at` is NULL or `>= t`) and the contract has not ended (`contract_end_date`
    is NULL or on/after t's local date) — the explicit date replaces the inactivity rule; or
  - **order-based**: a non-cancelled order in `[t − d, t)` placed after any explicit churn /
    contract end (that is a reactivation), or (without a contract) `acquired_at` in `[t − d, t)` — a
    customer converted from a lead without an order yet is active for `d` days — where `d` is the
    customer's `Segment.inactivity_days` or else settings.CRM_INACTIVITY_DAYS.
- *Churned in P = [s, e)* = `A(s) \\ A(e)`; *retained* = `A(s) ∩ A(e)`; *churned at s* =
  acquired before s and not in `A(s)`; *reactivated in P* = churned at s with a non-cancelled order
  in P.

Per-segment `d` is handled by splitting customers into the few groups sharing one `d` value, so the
SQL stays a fixed number of EXISTS clauses whatever the number of customers.

These Q objects serve drill-downs, lifecycle and cohorts. A KPI run does not evaluate them per KPI
and dimension: `kpis.definitions.frame.CustomerFrame` evaluates the same rule once per run for
every customer and instant (one grouped pass over orders; "an order in [t − d, t) after the
churn" is "the last such order before t is on or after t − d"), and the tests and the benchmark
cross-check hold both to the same figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.lookups import IsNull
from django.utils import timezone

from customers.models import Customer, Segment
from kpis.periods import organisation_tz, period_bounds, to_datetime_range
from sales.models import Order


@dataclass(frozen=True)
class ActivityRules:
    """Inactivity windows: the default and each segment override (catalogue §1, `d`)."""

    default_days: int
    segment_days: tuple[tuple[int, int], ...]  # (segment id, days) for overrides only

    @classmethod
    def load(cls) -> ActivityRules:
        default = int(settings.CRM_INACTIVITY_DAYS)
        overrides = tuple(
            Segment.objects.filter(inactivity_days__isnull=False)
            .exclude(inactivity_days=default)
            .order_by("id")
            .values_list("id", "inactivity_days")
        )
        return cls(default_days=default, segment_days=overrides)  # type: ignore[arg-type]

    def groups(self) -> list[tuple[int, Q]]:
        """(days, customer filter) pairs covering every customer exactly once."""
        by_days: dict[int, list[int]] = {}
        for segment_id, days in self.segment_days:
            by_days.setdefault(days, []).append(segment_id)
        overridden = [segment_id for segment_id, _ in self.segment_days]
        default_q = Q(segment__isnull=True) | ~Q(segment_id__in=overridden) if overridden else Q()
        groups = [(self.default_days, default_q)]
        groups += [(days, Q(segment_id__in=ids)) for days, ids in sorted(by_days.items())]
        return groups


def countable_orders() -> QuerySet[Order]:
    """Orders that count in any KPI: cancelled orders never do (catalogue §0.9)."""
    return Order.objects.exclude(status=Order.Status.CANCELLED)


CONTRACT_Q = Q(churned_at__isnull=False) | Q(contract_end_date__isnull=False)


def _orders_after_explicit_churn() -> QuerySet[Order]:
    """Countable orders placed after the outer customer's explicit churn/contract end
    (reactivations). The churn dates come from the outer row (`OuterRef`) rather than a join back
    to the customers table, so each EXISTS stays a probe of the (customer, ordered_at) index."""
    churned_at, contract_end = OuterRef("churned_at"), OuterRef("contract_end_date")
    return (
        countable_orders()
        .annotate(local_day=TruncDate("ordered_at", tzinfo=organisation_tz()))
        .filter(
            Q(IsNull(churned_at, True)) | Q(ordered_at__gt=churned_at),
            Q(IsNull(contract_end, True)) | Q(local_day__gt=contract_end),
        )
    )


def ordered_in_q(start: dt.datetime, end: dt.datetime, *, after_churn: bool = False) -> Q:
    """Customers (the outer Customer row) with a countable order in [start, end)."""
    orders = _orders_after_explicit_churn() if after_churn else countable_orders()
    return Q(
        Exists(orders.filter(customer=OuterRef("pk"), ordered_at__gte=start, ordered_at__lt=end))
    )


def active_at_q(at: dt.datetime, rules: ActivityRules) -> Q:
    """Customers active at instant `at` (see the module docstring)."""
    local_day = timezone.localtime(at, organisation_tz()).date()
    contract_active = (
        CONTRACT_Q
        & (Q(churned_at__isnull=True) | Q(churned_at__gte=at))
        & (Q(contract_end_date__isnull=True) | Q(contract_end_date__gte=local_day))
    )
    order_active = Q(pk__in=[])
    for days, group_q in rules.groups():
        since = at - dt.timedelta(days=days)
        window = ordered_in_q(since, at, after_churn=True)
        # Acquisition (lead conversion) starts the clock like a first order would.
        recently_acquired = ~CONTRACT_Q & Q(acquired_at__gte=since)
        order_active |= group_q & (window | recently_acquired)
    return Q(acquired_at__lt=at) & (contract_active | order_active)


def active_during_q(start: dt.datetime, end: dt.datetime, rules: ActivityRules) -> Q:
    """Customers active at any time in [start, end): active at start, acquired or ordering in it."""
    return Q(acquired_at__lt=end) & (
        active_at_q(start, rules) | Q(acquired_at__gte=start) | ordered_in_q(start, end)
    )


def churned_in_q(start: dt.datetime, end: dt.datetime, rules: ActivityRules) -> Q:
    """Active at start and not at end: churned in P and not back by its end (A(s) \\ A(e))."""
    return active_at_q(start, rules) & ~active_at_q(end, rules)


def retained_q(start: dt.datetime, end: dt.datetime, rules: ActivityRules) -> Q:
    return active_at_q(start, rules) & active_at_q(end, rules)


def churned_at_q(at: dt.datetime, rules: ActivityRules) -> Q:
    """Customers acquired before `at` who are not active at `at`."""
    return Q(acquired_at__lt=at) & ~active_at_q(at, rules)


def reactivated_in_q(start: dt.datetime, end: dt.datetime, rules: ActivityRules) -> Q:
    """Churned at start, with a non-cancelled order in [start, end) after the explicit churn."""
    return churned_at_q(start, rules) & ordered_in_q(start, end, after_churn=True)


def new_in_q(start: dt.datetime, end: dt.datetime) -> Q:
    return Q(acquired_at__gte=start, acquired_at__lt=end)


def active_customers_at(at: dt.datetime, rules: ActivityRules | None = None) -> QuerySet[Customer]:
    return Customer.objects.filter(active_at_q(at, rules or ActivityRules.load()))


# --- lifecycle and cohorts (read-time helpers; not stored as snapshots) -------------------------


def lifecycle_counts(
    start: dt.datetime,
    end: dt.datetime,
    previous_start: dt.datetime,
    rules: ActivityRules,
) -> dict[str, int]:
    """PostHog-style lifecycle of P = [start, end) against the previous period, in one query.

    NEW: acquired in P; RETURNING: active in P and in the previous period; RESURRECTING: active
    in P, not in the previous period, not new; DORMANT: active in the previous period, not in P.
    "Active in" a period means active at any time in it (`active_during_q`).
    """
    in_p = active_during_q(start, end, rules)
    in_previous = active_during_q(previous_start, start, rules)
    new = new_in_q(start, end)
    return Customer.objects.aggregate(
        new=Count("pk", filter=new),
        returning=Count("pk", filter=in_p & in_previous & ~new),
        resurrecting=Count("pk", filter=in_p & ~in_previous & ~new),
        dormant=Count("pk", filter=in_previous & ~in_p),
    )


@dataclass(frozen=True)
class CohortRow:
    """One acquisition month of the cohort retention matrix."""

    cohort: dt.date
    size: int
    cells: list[float | None]  # share active in month cohort + k; None while immature


def cohort_retention_matrix(
    first_month: dt.date, months: int, rules: ActivityRules, now: dt.datetime | None = None
) -> list[CohortRow]:
    """Share of customers acquired in month c who are active (at any time) in month c + k.

    One grouped query per target month (GROUP BY acquisition month), plus one for the cohort
    sizes. Cells of months not yet ended are None (immature), as the catalogue asks.
    One CohortRow per month, cells for k = 0 … (months − 1 − its index).
    """
    now = now or timezone.now()
    tz = organisation_tz()
    month_starts = [first_month.replace(day=1)]
    for _ in range(months - 1):
        month_starts.append(period_bounds("month", month_starts[-1])[1])
    last_end = period_bounds("month", month_starts[-1])[1]
    first_dt, last_dt = to_datetime_range(month_starts[0], last_end)

    def cohort_key(raw: dt.date | dt.datetime) -> dt.date:
        return raw.date() if isinstance(raw, dt.datetime) else raw

    cohorts = (
        Customer.objects.filter(acquired_at__gte=first_dt, acquired_at__lt=last_dt)
        .annotate(cohort=TruncMonth("acquired_at", tzinfo=tz))
        .order_by()
        .values("cohort")
        .annotate(n=Count("pk"))
    )
    sizes = {cohort_key(row["cohort"]): row["n"] for row in cohorts}
    active: dict[tuple[dt.date, dt.date], int] = {}
    for month in month_starts:
        month_start, month_end = to_datetime_range(month, period_bounds("month", month)[1])
        if month_end > now:
            break
        rows = (
            Customer.objects.filter(acquired_at__gte=first_dt, acquired_at__lt=month_end)
            .filter(active_during_q(month_start, month_end, rules))
            .annotate(cohort=TruncMonth("acquired_at", tzinfo=tz))
            .order_by()
            .values("cohort")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            active[(cohort_key(row["cohort"]), month)] = row["n"]
    matrix: list[CohortRow] = []
    for index, cohort in enumerate(month_starts):
        size = sizes.get(cohort, 0)
        cells: list[float | None] = []
        for target in month_starts[index:]:
            target_end = to_datetime_range(target, period_bounds("month", target)[1])[1]
            if target_end > now or not size:
                cells.append(None)
            else:
                cells.append(round(active.get((cohort, target), 0) / size, 4))
        matrix.append(CohortRow(cohort=cohort, size=size, cells=cells))
    return matrix


def lifecycle_status_at(at: dt.datetime, rules: ActivityRules) -> Case:
    """The status a person reads on a customer, by this module's rule at instant `at`:
    "prospect" (not acquired yet), "active" (active_at_q) or "churned" (acquired, not active).

    An expression on Customer, so a page annotates it instead of trusting the stored `status`
    column, which records acquisition and explicit churn but never the inactivity rule.
    """
    return Case(
        When(Q(acquired_at__isnull=True) | Q(acquired_at__gte=at), then=Value("prospect")),
        When(active_at_q(at, rules), then=Value("active")),
        default=Value("churned"),
        output_field=CharField(),
    )

"""Segment movement: where the customers of each named RFM segment at one period's end were at
another period's end, and what they bought in the later period.

Reads the point-in-time segments every KPI run stores (CustomerSegmentSnapshot, one row per buyer
and period). A customer without a row for a period had no order before its end: segment "" (no
orders). The movement is one grouped query whatever the number of customers; the customers of
one cell are the same query filtered to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from customers.models import Customer
from customers.selectors import customers_visible_to
from kpis.activity import countable_orders
from kpis.models import CustomerSegmentSnapshot
from kpis.periods import last_closed_period, period_bounds, previous_period, to_datetime_range

# Display order: no orders, then the lifecycle from first purchase to churn.
SEGMENT_ORDER: tuple[str, ...] = (
    Customer.RfmSegment.NONE,
    Customer.RfmSegment.FIRST_TIME_BUYER,
    Customer.RfmSegment.REGULAR,
    Customer.RfmSegment.HIGH_FREQUENCY,
    Customer.RfmSegment.CHAMPION,
    Customer.RfmSegment.AT_RISK,
    Customer.RfmSegment.DORMANT,
    Customer.RfmSegment.CHURNED,
)
ZERO = Decimal("0.00")
# The customer field behind each dimension a movement can be narrowed by.
CUSTOMER_FIELDS = {
    "segment": "segment_id",
    "team": "team_id",
    "owner": "owner_id",
    "channel": "channel_id",
}


def segment_label(segment: str) -> str:
    return str(dict(Customer.RfmSegment.choices).get(segment, segment))


def movement_population(user: Any, *, dimension: str, value: str) -> QuerySet[Customer]:
    """The customers `user` may see, narrowed to one cell: `value` of `dimension` ("" is none;
    a dimension not in CUSTOMER_FIELDS narrows nothing)."""
    customers = customers_visible_to(user)
    if dimension in CUSTOMER_FIELDS:
        field = CUSTOMER_FIELDS[dimension]
        if value == "":
            return customers.filter(**{f"{field}__isnull": True})
        try:
            return customers.filter(**{field: int(value)})
        except ValueError:
            return customers.none()
    return customers


def stored_segment_periods(granularity: str) -> list[dt.date]:
    """Period starts of `granularity` with stored segments, newest first."""
    return list(
        CustomerSegmentSnapshot.objects.filter(granularity=granularity)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .distinct()
    )


def default_movement_periods(
    granularity: str, now: dt.datetime | None = None
) -> tuple[dt.date, dt.date]:
    """(from, to): the last two closed periods of `granularity`."""
    target, _end = last_closed_period(granularity, now)
    source, _source_end = previous_period(granularity, target)
    return source, target


def _segment_at(granularity: str, period_start: dt.date) -> Any:
    stored = CustomerSegmentSnapshot.objects.filter(
        customer=OuterRef("pk"), granularity=granularity, period_start=period_start
    )
    return Coalesce(Subquery(stored.values("rfm_segment")[:1]), Value(""), output_field=CharField())


def movement_queryset(
    customers: QuerySet[Customer], *, granularity: str, source: dt.date, target: dt.date
) -> QuerySet[Customer]:
    """`customers` with a segment at either period's end, annotated with `source_segment`,
    `target_segment` and `revenue` (net revenue of their non-cancelled orders in the `target`
    period)."""
    start, end = to_datetime_range(*period_bounds(granularity, target))
    revenue = (
        countable_orders()
        .filter(customer=OuterRef("pk"), ordered_at__gte=start, ordered_at__lt=end)
        .order_by()
        .values("customer")
        .annotate(total=Sum("net_amount"))
        .values("total")
    )
    stored = CustomerSegmentSnapshot.objects.filter(
        customer=OuterRef("pk"), granularity=granularity
    )
    return customers.filter(
        Exists(stored.filter(period_start=source)) | Exists(stored.filter(period_start=target))
    ).annotate(
        source_segment=_segment_at(granularity, source),
        target_segment=_segment_at(granularity, target),
        revenue=Coalesce(
            Subquery(revenue),
            Value(ZERO),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        ),
    )


@dataclass(frozen=True)
class MovementCell:
    source: str
    target: str
    customers: int
    revenue: Decimal


@dataclass(frozen=True)
class SegmentMovement:
    """Customers and revenue from each segment at `source`'s end to each at `target`'s end."""

    granularity: str
    source: dt.date
    target: dt.date
    cells: tuple[MovementCell, ...]
    # Whether each period's segments were stored at all (a period never computed has none).
    source_stored: bool
    target_stored: bool

    @property
    def customers(self) -> int:
        return sum(cell.customers for cell in self.cells)

    @property
    def revenue(self) -> Decimal:
        return sum((cell.revenue for cell in self.cells), ZERO)

    @property
    def segments(self) -> list[str]:
        """The segments of any cell, in SEGMENT_ORDER."""
        present = {cell.source for cell in self.cells} | {cell.target for cell in self.cells}
        return [segment for segment in SEGMENT_ORDER if segment in present]

    def cell(self, source: str, target: str) -> MovementCell:
        for cell in self.cells:
            if (cell.source, cell.target) == (source, target):
                return cell
        return MovementCell(source, target, 0, ZERO)

    def row_total(self, source: str) -> tuple[int, Decimal]:
        cells = [cell for cell in self.cells if cell.source == source]
        return sum(cell.customers for cell in cells), sum((c.revenue for c in cells), ZERO)

    def column_total(self, target: str) -> tuple[int, Decimal]:
        cells = [cell for cell in self.cells if cell.target == target]
        return sum(cell.customers for cell in cells), sum((c.revenue for c in cells), ZERO)


def segment_movement(
    customers: QuerySet[Customer], *, granularity: str, source: dt.date, target: dt.date
) -> SegmentMovement:
    """The movement table of `customers` (already narrowed to what the reader may see): one
    grouped query, plus one for which periods are stored."""
    # Any: the annotations are not fields the type checker can see.
    annotated: Any = movement_queryset(
        customers, granularity=granularity, source=source, target=target
    )
    rows = (
        annotated.order_by()
        .values("source_segment", "target_segment")
        .annotate(customers=Count("pk"), total=Sum("revenue"))
    )
    cells = tuple(
        MovementCell(
            row["source_segment"],
            row["target_segment"],
            row["customers"],
            (row["total"] or ZERO).quantize(Decimal("0.01")),
        )
        for row in rows
    )
    stored = set(
        CustomerSegmentSnapshot.objects.filter(
            Q(period_start=source) | Q(period_start=target), granularity=granularity
        )
        .order_by()
        .values_list("period_start", flat=True)
        .distinct()
    )
    return SegmentMovement(
        granularity=granularity,
        source=source,
        target=target,
        cells=tuple(
            sorted(
                cells,
                key=lambda cell: (
                    SEGMENT_ORDER.index(cell.source) if cell.source in SEGMENT_ORDER else 99,
                    SEGMENT_ORDER.index(cell.target) if cell.target in SEGMENT_ORDER else 99,
                ),
            )
        ),
        source_stored=source in stored,
        target_stored=target in stored,
    )


def movement_customers(
    customers: QuerySet[Customer],
    *,
    granularity: str,
    source: dt.date,
    target: dt.date,
    source_segment: str,
    target_segment: str,
) -> QuerySet[Customer]:
    """The customers of one cell, highest revenue in the later period first."""
    annotated: Any = movement_queryset(
        customers, granularity=granularity, source=source, target=target
    )
    return annotated.filter(source_segment=source_segment, target_segment=target_segment).order_by(
        "-revenue", "name", "pk"
    )

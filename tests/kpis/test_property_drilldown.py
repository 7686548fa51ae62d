"""The number and its records agree, whatever the data (issue 19, item 7).

Hypothesis generates small companies whose orders, conversions, churn dates, contract ends,
won deals, interactions and complaints sit on and around period bounds and activity-window edges
(an instant before, on, after; a day either side; midday). For every customer KPI — every KPI
whose figures come from the customer frame (`kpis/definitions/frame.py`) — every dimension value
stored and the four granularities week, month, quarter and year, the drill-down list (the
`kpis.activity` Q rules, via `kpis.selectors.snapshot_drilldown`) must account for the stored
figures: as many records as a stored count, the same money as a stored sum. The customer frame's
KPIs are found in the registry (`test_every_customer_frame_kpi_is_compared`): a new one fails
until it is compared here or excluded with a reason.

Bounded for CI: a fixed number of examples (KPI_PROPERTY_EXAMPLES, default 10), derandomised so
every run checks the same companies, no deadline (a period computation takes ~100 ms), and a
fixed `now` (NOW) so the same periods are open (quarter, year) and closed (week, month).
"""

import datetime as dt
import os
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.definitions.frame import CustomerFrame, FrameRatioKpi
from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from kpis.periods import period_bounds, previous_period, to_datetime_range
from kpis.selectors import snapshot_drilldown
from sales.models import Opportunity, Order, OrderLine
from support.models import Ticket
from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory
from tests.kpis.boundaries import at
from tests.sales.factories import (
    ActivityFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    PipelineStageFactory,
    ProductFactory,
    ProductLineFactory,
)
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]

REFERENCE = dt.date(2026, 4, 1)  # a Wednesday: month, quarter start; inside ISO week Mar 30
# After the week and month around REFERENCE, inside its quarter and year (open periods: the
# point-in-time segments are taken at `now`, not at the period's end).
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
GRANULARITIES = ("week", "month", "quarter", "year")
CENT = Decimal("0.01")


class Check(NamedTuple):
    """One comparison: `measure` of the `part` drill-down list equals the stored `field`.

    Measures: "rows" (records listed), "customers" (distinct customers of the listed records),
    "orders" (distinct orders of the listed orders or order lines), "money" (Σ net_amount of
    the listed orders; of listed order lines, each line's share of its order's net amount).
    """

    part: str
    measure: str
    field: str


def counts(numerator: bool = True, denominator: bool = True) -> tuple[Check, ...]:
    """A customer ratio: each list has as many records as the stored numerator / denominator."""
    return (
        *([Check("numerator", "rows", "numerator")] if numerator else []),
        *([Check("denominator", "rows", "denominator")] if denominator else []),
    )


# KPI → the comparisons of its drill-down with its stored figures. Every customer-frame KPI is
# here or in EXCLUDED (test_every_customer_frame_kpi_is_compared); customers_new is not a frame
# KPI (a grouped query on Customer.acquired_at) but shares the generated data.
CHECKED: dict[str, tuple[Check, ...]] = {
    "active_customers": counts(denominator=False),
    "churn_rate": counts(),
    "retention_rate": counts(),
    "reactivation_rate": counts(),
    "repeat_purchase_rate": counts(),
    "returning_customer_rate": counts(),
    "cross_sell_rate": counts(),
    "upsell_rate": counts(),
    "engagement_rate": counts(),
    "first_to_repeat_rate": counts(),
    "dormant_reactivated_rate": counts(),
    "high_frequency_retained_rate": counts(),
    # Complaint tickets ÷ customers active at any time in P.
    "complaint_rate": counts(),
    "orders": counts(denominator=False),
    "customers_new": counts(denominator=False),
    # Money KPIs: the listed orders' net amounts add up to the stored sums, and the orders behind
    # a sum are its sample size (by product line: the distinct orders of the listed lines).
    "revenue": (
        Check("numerator", "money", "numerator"),
        Check("numerator", "orders", "sample_size"),
    ),
    "aov": (
        Check("numerator", "money", "numerator"),
        Check("numerator", "rows", "sample_size"),
        Check("denominator", "rows", "denominator"),
    ),
    # Revenue to date of the customers active at P.end ÷ those customers.
    "clv_historic": (Check("numerator", "money", "numerator"), *counts(numerator=False)),
    # Revenue in P ÷ revenue in P − 1 of the customers active at P.start; sample size: the
    # previous period's orders.
    "net_revenue_retention": (
        Check("numerator", "money", "numerator"),
        Check("denominator", "money", "denominator"),
        Check("denominator", "rows", "sample_size"),
    ),
    # The drill-down lists P's orders: their money is the denominator (revenue in P), their
    # customers the sample size (ordering customers). See UNCOMPARED for the numerator.
    "top20_revenue_share": (
        Check("numerator", "money", "denominator"),
        Check("numerator", "customers", "sample_size"),
    ),
    # The drill-down lists the trailing 12 months' orders: their money is the stored numerator
    # (12-month revenue), their customers the denominator (12-month ordering customers).
    "clv": (
        Check("numerator", "money", "numerator"),
        Check("numerator", "customers", "denominator"),
    ),
}
# Customer-frame KPIs deliberately not compared, each with the reason (none today).
EXCLUDED: dict[str, str] = {}
# Stored figures of a compared KPI that no drill-down list accounts for, with the reason.
UNCOMPARED: dict[tuple[str, str], str] = {
    # The revenue of the ceil(20 %) best customers is a ranking over the listed orders' customers,
    # not a list of its own; its parts (revenue in P, ordering customers) are compared.
    ("top20_revenue_share", "numerator"): "a top-fifth revenue, not a list",
}
KPI_KEYS = list(CHECKED)
# Dimensions whose values split the records (each record under exactly one value): the stored
# figures of their values add up to the `all` figure. Not product_line: an order with lines in
# two product lines is counted under both.
PARTITIONS = ("segment", "team", "owner", "channel", "rfm_segment", "health_band")
# KPI_PROPERTY_SHRINK=0 reports the first failing company at once (shrinking one takes minutes).
PHASES = (
    [Phase.explicit, Phase.generate]
    if os.environ.get("KPI_PROPERTY_SHRINK") == "0"
    else [Phase.explicit, Phase.generate, Phase.shrink]
)


def _edges() -> list[dt.datetime]:
    """Period bounds of every granularity around REFERENCE and their activity-window edges."""
    instants: set[dt.datetime] = set()
    for granularity in GRANULARITIES:
        start, end = to_datetime_range(*period_bounds(granularity, REFERENCE))
        for bound in (start, end):
            instants.add(bound)
            instants.update(bound - dt.timedelta(days=days) for days in (30, 60, 90))
    return sorted(instants)


EDGES = _edges()
OFFSETS = (
    dt.timedelta(microseconds=-1),
    dt.timedelta(0),
    dt.timedelta(0),  # date-only imports (midnight) are the most common: weighted twice
    dt.timedelta(microseconds=1),
    dt.timedelta(days=-1),
    dt.timedelta(days=1),
    dt.timedelta(hours=12),
)
instants = st.builds(
    lambda edge, offset: edge + offset, st.sampled_from(EDGES), st.sampled_from(OFFSETS)
)
# Interactions and tickets: engagement counts completed calls (done_at), open e-mails
# (created_at), public customer messages on countable tickets and survey responses, not notes or
# mass mailings; complaint_rate counts complaint tickets that are not spam.
TOUCHES = ("call", "email", "note", "mass_mail", "message", "survey", "complaint", "spam_complaint")
orders = st.tuples(
    instants,
    st.sampled_from([False, False, False, True]),  # cancelled
    st.lists(st.sampled_from([0, 1]), max_size=2),  # product lines of its order lines
    st.sampled_from([False, False, True]),  # half refunded
)
customers = st.fixed_dictionaries(
    {
        "segment": st.sampled_from([None, 0, 1]),
        "team": st.sampled_from([None, 0, 1]),
        "orders": st.lists(orders, max_size=4),
        "converted_at": st.none() | instants,
        "churned_at": st.none() | st.none() | instants,
        "contract_end": st.none() | st.none() | instants.map(lambda when: when.date()),
        # (closed at, kind, won)
        "deals": st.lists(
            st.tuples(
                instants,
                st.sampled_from(["upsell", "cross_sell", "new"]),
                st.sampled_from([True, True, False]),
            ),
            max_size=1,
        ),
        "touches": st.lists(st.tuples(st.sampled_from(TOUCHES), instants), max_size=2),
    }
)
companies = st.fixed_dictionaries(
    {
        # inactivity days of the two segments (None: the default 90)
        "segment_days": st.tuples(st.sampled_from([None, 30, 60]), st.sampled_from([None, 30, 90])),
        "customers": st.lists(customers, min_size=1, max_size=6),
    }
)


def _customer(orders=(), *, team=None, converted_at=None, contract_end=None, deals=(), touches=()):
    """A customer spec as `customers` generates it (orders: (at, lines, half refunded))."""
    return {
        "segment": None,
        "team": team,
        "orders": [(ordered_at, False, lines, refunded) for ordered_at, lines, refunded in orders],
        "converted_at": converted_at,
        "churned_at": None,
        "contract_end": contract_end,
        "deals": list(deals),
        "touches": list(touches),
    }


# A company where every compared KPI of April 2026 has a numerator, compared month by month in its
# own test: the segment KPIs need customers in a named segment at 2026-04-01 (stored for March),
# which generated companies seldom have (a high-frequency customer must out-order the others
# without being a champion). Default inactivity (90 days: dormant after 45), orders at midday.
SHOWCASE = {
    "segment_days": (None, None),
    "customers": [
        # High-frequency at Apr 1 and May 1 (most order days, least money: F 5, M 1); an
        # up-sell won and a call in April.
        _customer(
            [(at(2026, 3, day, 12), [0], True) for day in (10, 17, 24)]
            + [(at(2026, 4, day, 12), [0], True) for day in (7, 14)],
            team=0,
            deals=[(at(2026, 4, 15, 12), "upsell", True)],
            touches=[("call", at(2026, 4, 8, 12))],
        ),
        # High-frequency at Apr 1 too, then a champion at May 1 (a big order in April lifts M to
        # 4): not retained as high-frequency although it ordered.
        _customer(
            [(at(2026, 3, day, 12), [0], True) for day in (11, 18, 25)]
            + [(at(2026, 4, 21, 12), [0, 1], False)]
        ),
        # First-time buyer at Apr 1 who orders again in April; a complaint and a message.
        _customer(
            [(at(2026, 3, 20, 12), [0, 1], False), (at(2026, 4, 20, 12), [0, 1], False)],
            team=1,
            touches=[("complaint", at(2026, 4, 9, 12)), ("message", at(2026, 4, 9, 12))],
        ),
        # Dormant at Apr 1 (59 days), back in April from a product line new to them.
        _customer([(at(2026, 2, 1, 12), [0, 0], False), (at(2026, 4, 10, 12), [1], False)]),
        # Active at Apr 1 by contract, which ends Apr 15: churned in April.
        _customer([(at(2026, 3, 1, 12), [0, 1], False)], contract_end=dt.date(2026, 4, 15)),
        # Lapsed at Apr 1 (121 days), reactivated in April.
        _customer(
            [(at(2025, 12, 1, 12), [0, 1], False), (at(2026, 4, 20, 12), [0, 1], False)],
            team=0,
        ),
        # Converted from a lead in April, without orders; answers a survey.
        _customer(converted_at=at(2026, 4, 2, 12), touches=[("survey", at(2026, 4, 3, 12))]),
    ],
}


def _touch(person: Customer, kind: str, when: dt.datetime, survey: Any) -> None:
    if kind in {"call", "email", "note", "mass_mail"}:
        ActivityFactory(
            customer=person,
            kind={"call": "call", "note": "note"}.get(kind, "email"),
            is_bulk=kind == "mass_mail",
            # A completed call counts at done_at (created a month before); an e-mail without
            # done_at at created_at.
            done_at=when if kind in {"call", "note"} else None,
            created_at=when - dt.timedelta(days=30) if kind in {"call", "note"} else when,
        )
    elif kind == "message":
        ticket = TicketFactory(customer=person, created_at=when)
        TicketMessageFactory(ticket=ticket, created_at=when)
    elif kind == "survey":
        SurveyResponseFactory(survey=survey, customer=person, responded_at=when)
    else:
        TicketFactory(
            customer=person,
            created_at=when,
            category=Ticket.Category.COMPLAINT,
            is_spam=kind == "spam_complaint",
        )


def build(company: dict) -> None:
    segments = [
        SegmentFactory(code=f"s{index}", inactivity_days=days)
        for index, days in enumerate(company["segment_days"])
    ]
    teams = [TeamFactory(name=f"t{index}") for index in range(2)]
    products = [ProductFactory(product_line=ProductLineFactory(code=f"l{i}")) for i in range(2)]
    stage = PipelineStageFactory(code="deal")
    survey = SurveyFactory(name="relationship")
    for spec in company["customers"]:
        counted = [when for when, cancelled, _lines, _refunded in spec["orders"] if not cancelled]
        starts = counted + ([spec["converted_at"]] if spec["converted_at"] else [])
        acquired_at = min(starts) if starts else None
        churned_at = spec["churned_at"]
        if churned_at is not None and acquired_at is not None and churned_at < acquired_at:
            churned_at = acquired_at  # the database refuses a churn before the acquisition
        person = CustomerFactory(
            segment=None if spec["segment"] is None else segments[spec["segment"]],
            team=None if spec["team"] is None else teams[spec["team"]],
            acquired_at=acquired_at,
            churned_at=churned_at,
            contract_end_date=spec["contract_end"],
        )
        for ordered_at, cancelled, lines, refunded in spec["orders"]:
            total = Decimal(10 * max(len(lines), 1))
            order = OrderFactory(
                customer=person,
                ordered_at=ordered_at,
                status=Order.Status.CANCELLED if cancelled else Order.Status.COMPLETED,
                total=total,
                refunded_total=total / 2 if refunded else Decimal(0),  # net_amount follows
            )
            for line in lines:
                OrderLineFactory(order=order, product=products[line], unit_price=Decimal(10))
        for closed_at, kind, won in spec["deals"]:
            OpportunityFactory(
                customer=person,
                stage=stage,
                kind=kind,
                outcome=Opportunity.Outcome.WON if won else Opportunity.Outcome.LOST,
                closed_at=closed_at,
            )
        for kind, when in spec["touches"]:
            _touch(person, kind, when, survey)


def measures(records: QuerySet[Any]) -> dict[str, Decimal | int]:
    """The measures of one drill-down list (see Check), from one query."""
    if records.model is Order:
        row = records.aggregate(
            rows=Count("pk"), customers=Count("customer", distinct=True), money=Sum("net_amount")
        )
        row["orders"], row["money"] = row["rows"], Decimal(row["money"] or 0)
        return row
    if records.model is OrderLine:
        lines = records.values_list("order_id", "line_total", "order__net_amount", "order__total")
        shares = sum((line * net / total for _order, line, net, total in lines), Decimal(0))
        return {
            "rows": len(lines),
            "orders": len({order for order, *_amounts in lines}),
            "money": shares.quantize(CENT),
        }
    return {"rows": records.count()}


def mismatches(granularities: tuple[str, ...] = GRANULARITIES) -> list[str]:
    """Every stored figure that differs from its drill-down list, and every dimension whose
    values' figures do not add up to the `all` figure (records listed under no stored value)."""
    found = []
    for granularity in granularities:
        start = period_bounds(granularity, REFERENCE)[0]
        # The segment KPIs start from the segments stored for the previous period.
        previous = previous_period(granularity, start)[0]
        compute_period(granularity=granularity, period_start=previous, kpi_keys=[], now=NOW)
        compute_period(granularity=granularity, period_start=start, kpi_keys=KPI_KEYS, now=NOW)
        totals: dict[tuple[str, Check, str], Decimal] = {}
        cells = KpiSnapshot.objects.filter(granularity=granularity, period_start=start)
        for cell in cells.order_by("kpi", "dimension", "dimension_value"):
            checks = CHECKED[cell.kpi]
            for part in dict.fromkeys(check.part for check in checks):
                records = snapshot_drilldown(
                    kpi=cell.kpi,
                    granularity=granularity,
                    period_start=start,
                    dimension=cell.dimension,
                    dimension_value=cell.dimension_value,
                    part=part,
                    now=NOW,
                )
                assert records is not None, f"{cell.kpi} has no {part} list"
                listed = measures(records)
                for check in checks:
                    if check.part != part:
                        continue
                    stored = getattr(cell, check.field)
                    if stored is None and cell.dimension == "all" and cell.sample_size == 0:
                        stored = 0  # the placeholder `all` row of a KPI without rows: no figures
                    if stored != listed[check.measure]:
                        found.append(
                            f"{cell.kpi} {granularity} {cell.dimension}={cell.dimension_value!r} "
                            f"{part} {check.measure}: stored {check.field} {stored}, "
                            f"listed {listed[check.measure]}"
                        )
                    total_key = (cell.kpi, check, cell.dimension)
                    totals[total_key] = totals.get(total_key, Decimal(0)) + (stored or 0)
        for (kpi, check, dimension), total in sorted(totals.items(), key=str):
            whole = totals[(kpi, check, "all")]
            if dimension in PARTITIONS and total != whole:
                found.append(
                    f"{kpi} {granularity} {dimension}: the values' {check.field} add up to "
                    f"{total}, all {whole}"
                )
    return found


@settings(
    max_examples=int(os.environ.get("KPI_PROPERTY_EXAMPLES", "10")),
    deadline=None,
    derandomize=True,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(company=companies)
def test_every_drilldown_lists_as_many_records_as_its_stored_figure(company):
    with transaction.atomic():
        build(company)
        try:
            found = mismatches()
            if found and os.environ.get("KPI_PROPERTY_DUMP"):
                with open(os.environ["KPI_PROPERTY_DUMP"], "a") as dump:
                    dump.write(repr(company) + "\n" + "\n".join(found) + "\n\n")
            assert found == []
        finally:
            transaction.set_rollback(True)


class FrameReads:
    """Stands in for a run's customer frame and notes whether a definition read its figures."""

    def __init__(self, frame: CustomerFrame) -> None:
        self.frame = frame
        self.read = False

    def __getattr__(self, name: str) -> Any:
        self.read = True
        return getattr(self.frame, name)


def customer_frame_kpis() -> set[str]:
    """The registered KPIs whose figures come from the customer frame: each is computed once with
    a shared frame that notes reads (the prediction KPIs build the frame in an engine run only to
    store the period's segments; they do not read it and are not customer-frame KPIs)."""
    start, end = period_bounds("month", REFERENCE)
    ctx = KpiContext.build(granularity="month", period_start=start, period_end=end, now=NOW)
    frame = CustomerFrame(ctx)
    found = set()
    for definition in registry.all():
        reads = FrameReads(frame)
        definition.compute(replace(ctx, shared={"customer_frame": reads}))
        if reads.read:
            found.add(definition.key)
    return found


def test_every_customer_frame_kpi_is_compared():
    frame_kpis = customer_frame_kpis()
    ratio_kpis = {d.key for d in registry.all() if isinstance(d, FrameRatioKpi)}

    # The detection sees every FrameRatioKpi and the frame KPIs built otherwise.
    assert ratio_kpis <= frame_kpis
    assert {"top20_revenue_share", "clv"} <= frame_kpis - ratio_kpis
    assert "predicted_clv" not in frame_kpis
    # Each is compared with its drill-down or excluded with a reason, never both.
    assert sorted(frame_kpis - set(CHECKED) - set(EXCLUDED)) == []
    assert set(CHECKED) & set(EXCLUDED) == set()
    assert set(EXCLUDED) <= frame_kpis
    # A compared KPI has its numerator and (if it has one) its denominator accounted for.
    for key in sorted(frame_kpis & set(CHECKED)):
        definition = registry.get(key)
        has_denominator = getattr(definition, "frame_denominator", True) is not None
        fields = {"numerator", "denominator"} if has_denominator else {"numerator"}
        compared = {check.field for check in CHECKED[key]}
        left = fields - compared - {field for kpi, field in UNCOMPARED if kpi == key}
        assert left == set(), f"{key}: {sorted(left)} not compared"


def test_the_showcase_company_agrees_with_a_numerator_in_every_compared_kpi():
    build(SHOWCASE)

    found = mismatches(("month",))
    cells = KpiSnapshot.objects.filter(granularity="month", period_start=REFERENCE, dimension="all")
    numerators = {cell.kpi: cell.numerator for cell in cells}

    assert found == []
    # Not vacuous: in April 2026 every compared KPI counts someone.
    assert sorted(kpi for kpi in KPI_KEYS if not numerators[kpi]) == []

"""Point-in-time RFM segments: every KPI run stores each customer's segment as of its period's
end, and KPIs by RFM segment attribute to it. A small company over the four quarters of 2025."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer
from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.engine import compute_period, compute_range
from kpis.models import CustomerHealthSnapshot, CustomerSegmentSnapshot, KpiSnapshot
from kpis.periods import period_bounds, to_datetime_range
from kpis.rfm import rfm_rows
from tests.customers.factories import CustomerFactory, SegmentFactory
from tests.kpis.conftest import local, snapshot
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

Q1, Q2, Q3, Q4 = (dt.date(2025, month, 1) for month in (1, 4, 7, 10))
QUARTERS = (Q1, Q2, Q3, Q4)
YEAR_END = dt.date(2026, 1, 1)
NOW = dt.datetime(2026, 2, 15, 12, 0, tzinfo=dt.UTC)
SEGMENT_KPIS = ["first_to_repeat_rate", "dormant_reactivated_rate", "high_frequency_retained_rate"]


def person(name, *orders):
    """A customer acquired at their first order, with an order of `total` at each time."""
    someone = CustomerFactory.create(name=name, acquired_at=min(when for when, _ in orders))
    for when, total in orders:
        OrderFactory.create(customer=someone, ordered_at=when, total=Decimal(total))
    return someone


def twice_monthly(months):
    """A 10.00 order on the 10th and the 25th of each month of 2025."""
    return [(local(2025, month, day), "10.00") for month in months for day in (10, 25)]


def build_company():
    # Six customers of one 500.00 order in October 2024: churned all year, they give the
    # quintiles their mass (F 1, M high) and leave the trailing year by 1 January 2026.
    for index in range(6):
        person(f"C{index}", (local(2024, 10, 15), "500.00"))
    person("H1", *twice_monthly(range(1, 13)))  # ordering all year
    person("H2", *twice_monthly(range(1, 11)))  # stops after 25 October
    person("H3", *twice_monthly(range(1, 4)), (local(2025, 5, 1), "10.00"))  # stops in May
    person("B1", (local(2025, 3, 10), "1000.00"))  # one order, never back
    person("B2", (local(2025, 3, 10), "1000.00"), (local(2025, 6, 1), "1000.00"))
    person(
        "D",
        (local(2025, 1, 5), "50.00"),
        (local(2025, 2, 1), "50.00"),
        (local(2025, 5, 20), "50.00"),
    )
    # skips Q2 and comes back in Q3
    person(
        "S",
        (local(2025, 2, 20), "100.00"),
        (local(2025, 3, 5), "100.00"),
        (local(2025, 8, 10), "100.00"),
        (local(2025, 9, 1), "100.00"),
    )
    # Today's stored segment says champion for everyone: history must not read it.
    Customer.objects.update(rfm_segment=Customer.RfmSegment.CHAMPION)


@pytest.fixture
def year(post_compute_calls):
    build_company()
    compute_range(
        granularity="quarter",
        start=Q1,
        end=YEAR_END,
        kpi_keys=["revenue", *SEGMENT_KPIS],
        now=NOW,
    )


def segments(period_start):
    return dict(
        CustomerSegmentSnapshot.objects.filter(granularity="quarter", period_start=period_start)
        .exclude(customer__name__startswith="C")
        .values_list("customer__name", "rfm_segment")
    )


def test_each_quarter_stores_the_segment_at_its_end(year):
    # Q1 (as of 1 April), 13 buyers. F: H* 6 order days, D and S 2, the rest 1 → H* rank 11 of
    # 13, percent rank 10/12 = 0.83 → F 5; their M (60.00, the lowest) is 1 → not champions.
    # D's last order, 1 February, is 59 days before 1 April > 45 (d/2) → dormant.
    assert segments(Q1) == {
        "H1": "high_frequency",
        "H2": "high_frequency",
        "H3": "high_frequency",
        "B1": "first_time_buyer",
        "B2": "first_time_buyer",
        "D": "dormant",
        "S": "regular",
    }
    # 3 high-frequency in Q1 → 2 still high-frequency, 1 dormant in Q2 (H3: last order 1 May,
    # 61 days before 1 July). B1: 113 days without an order > 90 → churned; B2 ordered again →
    # two order days, regular; D came back on 20 May → regular; S skipped Q2: 118 days → churned.
    assert segments(Q2) == {
        "H1": "high_frequency",
        "H2": "high_frequency",
        "H3": "dormant",
        "B1": "churned",
        "B2": "regular",
        "D": "regular",
        "S": "churned",
    }
    # S comes back (10 August, 1 September) → regular again; H3, B2, D have been 90+ days away.
    assert segments(Q3) == {
        "H1": "high_frequency",
        "H2": "high_frequency",
        "H3": "churned",
        "B1": "churned",
        "B2": "churned",
        "D": "churned",
        "S": "regular",
    }
    # 1 January 2026: the C* revenue left the trailing year (M 0), so H1's 240.00 ranks 10th of
    # 13 → percent rank 9/12 = 0.75 → M 4, with R 5 and F 5 → champion. H2's last order,
    # 25 October, is 68 days back → dormant. S: 122 days → churned.
    assert segments(Q4) == {
        "H1": "champion",
        "H2": "dormant",
        "H3": "churned",
        "B1": "churned",
        "B2": "churned",
        "D": "churned",
        "S": "churned",
    }
    # the six C* are churned in every quarter
    assert set(
        CustomerSegmentSnapshot.objects.filter(customer__name__startswith="C").values_list(
            "rfm_segment", flat=True
        )
    ) == {"churned"}


def test_the_frame_segments_match_the_rfm_pass_of_the_same_moment(year):
    # One statement of the rules (kpis.rfm.SEGMENT_RULES), two evaluations: SQL in the frame,
    # Python in rfm_rows. Scores and measures agree customer by customer in every quarter.
    for period_start in QUARTERS:
        as_of = to_datetime_range(*period_bounds("quarter", period_start))[1]
        expected = {
            row.customer_id: (row.segment, row.r, row.f, row.m, row.recency_days, row.frequency)
            for row in rfm_rows(as_of=as_of)
        }
        stored = {
            row.customer_id: (
                row.rfm_segment,
                row.r,
                row.f,
                row.m,
                row.recency_days,
                row.frequency,
            )
            for row in CustomerSegmentSnapshot.objects.filter(period_start=period_start)
        }
        assert stored == expected
        assert len(stored) == 13


def test_revenue_by_rfm_segment_is_attributed_to_the_segment_at_the_period_end(year):
    def by_segment(period_start):
        return {
            row.dimension_value: row.value
            for row in KpiSnapshot.objects.filter(
                kpi="revenue", period_start=period_start, dimension="rfm_segment"
            )
        }

    # Q1: B1 + B2 1000 each = 2000 first-time; H* 3 × 6 × 10 = 180; D 2 × 50 = 100; S 200
    assert by_segment(Q1) == {
        "first_time_buyer": Decimal("2000"),
        "high_frequency": Decimal("180"),
        "dormant": Decimal("100"),
        "regular": Decimal("200"),
    }
    # Q2: B2 1000 + D 50 = 1050 regular; H1 + H2 2 × 6 × 10 = 120; H3's May order 10 dormant
    assert by_segment(Q2) == {
        "regular": Decimal("1050"),
        "high_frequency": Decimal("120"),
        "dormant": Decimal("10"),
    }
    # Q4: H1 6 × 10 = 60 as champion; H2's 2 October orders 20 as dormant
    assert by_segment(Q4) == {"champion": Decimal("60"), "dormant": Decimal("20")}
    # no "champion" figure where nobody was one, whatever the customers' segment today
    assert "champion" not in by_segment(Q3)


def test_segment_kpis_over_the_year(year):
    def figures(kpi, period_start):
        row = snapshot(kpi, granularity="quarter", period_start=period_start)
        return row.numerator, row.denominator, row.value

    # Q1 is the first stored quarter: no segment at its start → n/a
    for kpi in SEGMENT_KPIS:
        assert figures(kpi, Q1) == (Decimal("0"), Decimal("0"), None)
    # 2 first-time buyers at 1 April (B1, B2); B2 ordered on 1 June → 1 of 2 → 0.5
    assert figures("first_to_repeat_rate", Q2) == (Decimal("1"), Decimal("2"), Decimal("0.5"))
    # nobody is a first-time buyer at 1 July → n/a
    assert figures("first_to_repeat_rate", Q3)[2] is None
    # D dormant at 1 April, ordered on 20 May → 1 of 1; H3 dormant at 1 July, no order → 0 of 1
    assert figures("dormant_reactivated_rate", Q2) == (Decimal("1"), Decimal("1"), Decimal("1"))
    assert figures("dormant_reactivated_rate", Q3) == (Decimal("0"), Decimal("1"), Decimal("0"))
    # 3 high-frequency at 1 April → H1, H2 still at 1 July: 2 of 3; 2 of 2 in Q3; in Q4 H1
    # became a champion and H2 dormant → 0 of 2
    assert figures("high_frequency_retained_rate", Q2)[:2] == (Decimal("2"), Decimal("3"))
    assert figures("high_frequency_retained_rate", Q2)[2] == Decimal("0.666667")
    assert figures("high_frequency_retained_rate", Q3) == (Decimal("2"), Decimal("2"), Decimal("1"))
    assert figures("high_frequency_retained_rate", Q4) == (Decimal("0"), Decimal("2"), Decimal("0"))


def test_drilldowns_list_the_customers_behind_the_figures(year):
    ctx = KpiContext.build(granularity="quarter", period_start=Q2, period_end=Q3, now=NOW)
    retained = registry.get("high_frequency_retained_rate")
    names = lambda queryset: sorted(queryset.values_list("name", flat=True))  # noqa: E731
    assert names(retained.records(ctx, part="denominator")) == ["H1", "H2", "H3"]
    assert names(retained.records(ctx, part="numerator")) == ["H1", "H2"]
    assert names(registry.get("first_to_repeat_rate").records(ctx)) == ["B2"]
    # the revenue of Q2's dormant customers: H3's order of 1 May
    orders = registry.get("revenue").records(ctx, "rfm_segment", "dormant")
    assert orders is not None
    assert [(order.customer.name, order.net_amount) for order in orders] == [
        ("H3", Decimal("10.00"))
    ]


def test_a_restatement_replaces_the_period_and_any_run_stores_segments(post_compute_calls):
    build_company()
    compute_period(granularity="quarter", period_start=Q2, kpi_keys=["revenue"], now=NOW)
    compute_period(granularity="quarter", period_start=Q2, kpi_keys=["revenue"], now=NOW)
    # a run of a KPI that does not read the customer frame still stores the segments
    compute_period(
        granularity="month", period_start=dt.date(2025, 6, 1), kpi_keys=["csat"], now=NOW
    )

    # 13 buyers by 1 July, once each despite the second run
    assert CustomerSegmentSnapshot.objects.filter(granularity="quarter").count() == 13
    assert CustomerSegmentSnapshot.objects.filter(granularity="month").count() == 13
    assert segments(Q2)["H3"] == "dormant"


def test_every_period_stores_health_bands_but_only_the_latest_sets_todays_scores():
    build_company()
    compute_range(granularity="quarter", start=Q2, end=Q4, kpi_keys=["revenue"], now=NOW)

    # health history for both quarters, every customer acquired before each quarter's end
    assert CustomerHealthSnapshot.objects.filter(period_start=Q2).count() == 13
    assert CustomerHealthSnapshot.objects.filter(period_start=Q3).count() == 13
    h3 = Customer.objects.get(name="H3")
    # today's scores come from Q3, the latest period run: H3 churned → his stored segment
    assert h3.rfm_segment == "churned"
    assert h3.health_score == CustomerHealthSnapshot.objects.get(customer=h3, period_start=Q3).score


def test_segment_overrides_and_contracts_follow_the_same_rules(post_compute_calls):
    build_company()
    fast = SegmentFactory(name="Fast", inactivity_days=30)
    # last order 20 days before 1 April: past d/2 = 15 days of its segment → dormant (the
    # default 90 days would make it regular-looking)
    person_in_fast = person("F", (local(2025, 1, 5), "50.00"), (local(2025, 3, 12), "50.00"))
    Customer.objects.filter(pk=person_in_fast.pk).update(segment=fast)
    # a contract customer churned on 1 March after an order on 1 February → churned, however
    # recent the order
    contract = person("K", (local(2025, 2, 1), "900.00"), (local(2025, 2, 2), "900.00"))
    Customer.objects.filter(pk=contract.pk).update(churned_at=local(2025, 3, 1))

    compute_period(granularity="quarter", period_start=Q1, kpi_keys=["orders"], now=NOW)

    stored = {
        row.customer_id: (row.rfm_segment, row.r, row.f, row.m, row.recency_days)
        for row in CustomerSegmentSnapshot.objects.filter(period_start=Q1)
    }
    as_of = to_datetime_range(*period_bounds("quarter", Q1))[1]
    assert stored == {
        row.customer_id: (row.segment, row.r, row.f, row.m, row.recency_days)
        for row in rfm_rows(as_of=as_of)
    }
    assert stored[person_in_fast.pk][0] == "dormant"
    assert stored[contract.pk][0] == "churned"

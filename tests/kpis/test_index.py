"""Composite index: normalisation, rescaling, coverage, bands, versions and preview."""

import datetime as dt
from decimal import Decimal
from typing import cast

import pytest
from django.core.exceptions import ValidationError

from kpis.index import IndicatorConfig, band_for, compute_index, normalise, preview_index
from kpis.models import (
    Direction,
    GroupWeight,
    IndexContribution,
    IndexSnapshot,
    IndicatorWeight,
    KpiSnapshot,
    LifecycleGroup,
    Normalisation,
    WeightVersion,
    default_bands,
)
from kpis.services import (
    weight_version_activate,
    weight_version_create_draft,
    weight_version_update,
    weight_version_validate,
)
from kpis.targets import period_end_of
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db

Q1 = dt.date(2026, 1, 1)
GROUPS = [
    {"group": "retention", "weight": 3, "priority": 1},
    {"group": "service", "weight": 1, "priority": 2},
]
INDICATORS = [
    # churn: lower is better (best < worst)
    {"kpi": "churn_rate", "group": "retention", "weight": 2, "best": "0.02", "worst": "0.10"},
    {"kpi": "reactivation_rate", "group": "retention", "weight": 1, "best": "0.20", "worst": "0"},
    {"kpi": "first_response_time", "group": "service", "weight": 1, "best": 30, "worst": 480},
    {
        "kpi": "sla_first_response_attainment",
        "group": "service",
        "weight": 1,
        "normalisation": "target_ratio",
        "target": "0.95",
    },
]


def kpi_value(kpi, value, *, period_start=Q1, low_sample=False, granularity="quarter"):
    return KpiSnapshot.objects.create(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        period_end=period_end_of(granularity, period_start),
        value=None if value is None else Decimal(value),
        low_sample=low_sample,
    )


def make_version(name="Test weights", min_coverage=None):
    version = WeightVersion.objects.create(name=name)
    return weight_version_update(
        version=version, groups=GROUPS, indicators=INDICATORS, min_coverage=min_coverage
    )


def worked_example_values(**overrides):
    values = {
        "churn_rate": "0.04",  # (0.04 − 0.10) / (0.02 − 0.10) = 0.75 → 75
        "reactivation_rate": "0.05",  # 0.05 / 0.20 = 0.25 → 25
        "first_response_time": "255",  # (255 − 480) / (30 − 480) = 0.5 → 50
        "sla_first_response_attainment": "0.76",  # 0.76 / 0.95 = 0.8 → 80
    }
    values.update(overrides)
    for kpi, value in values.items():
        if isinstance(value, tuple):
            kpi_value(kpi, value[0], low_sample=value[1])
        else:
            kpi_value(kpi, value)


def test_worked_example_with_weights_that_do_not_sum_to_100():
    # given group weights 3 + 1 = 4 and indicator weights 2 + 1 and 1 + 1
    version = make_version()
    worked_example_values()

    # when
    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # then retention = (2·75 + 1·25) / 3 = 58.33…, service = (50 + 80) / 2 = 65,
    # index = (3·58.33… + 1·65) / 4 = (175 + 65) / 4 = 60.00
    assert snapshot.value == Decimal("60.00")
    assert snapshot.coverage == Decimal("1.0000")
    assert snapshot.published is True
    assert snapshot.band == "yellow"  # 50 < 60 ≤ 75
    assert snapshot.period_end == dt.date(2026, 4, 1)
    contributions = {c.kpi: c for c in snapshot.contributions.all()}
    # shares: churn 3/4·2/3 = 0.5, reactivation 3/4·1/3 = 0.25, FRT and SLA 1/4·1/2 = 0.125
    assert contributions["churn_rate"].effective_share == Decimal("0.500000")
    assert contributions["churn_rate"].normalised_score == Decimal("75.0000")
    assert contributions["churn_rate"].contribution == Decimal("37.5000")  # 0.5 · 75
    assert contributions["reactivation_rate"].contribution == Decimal("6.2500")  # 0.25 · 25
    assert contributions["first_response_time"].contribution == Decimal("6.2500")  # 0.125 · 50
    assert contributions["sla_first_response_attainment"].contribution == Decimal("10.0000")
    assert sum(c.contribution for c in contributions.values()) == Decimal("60.0000")
    groups = {g.group: g for g in snapshot.groups.all()}
    assert groups["retention"].score == Decimal("58.3333")
    assert groups["service"].score == Decimal("65.0000")
    assert groups["retention"].effective_share == Decimal("0.750000")


def test_missing_indicator_is_dropped_and_the_rest_rescaled():
    # given reactivation_rate is n/a (zero denominator)
    version = make_version()
    worked_example_values(reactivation_rate=None)

    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # retention = churn alone = 75; index = (3·75 + 1·65) / 4 = 290 / 4 = 72.50
    # coverage = 3/4 · 2/3 (churn present of retention) + 1/4 · 2/2 = 0.5 + 0.25 = 0.75
    assert snapshot.value == Decimal("72.50")
    assert snapshot.coverage == Decimal("0.7500")
    assert snapshot.published is True
    missing = snapshot.contributions.get(kpi="reactivation_rate")
    assert missing.present is False
    assert missing.missing_reason == "n/a"
    assert missing.contribution == 0
    # churn now carries all of retention's 3/4: 0.75 · 75 = 56.25
    assert snapshot.contributions.get(kpi="churn_rate").contribution == Decimal("56.2500")


def test_coverage_below_minimum_is_not_published():
    # given churn_rate is low-sample, so only reactivation is left in retention
    version = make_version()
    worked_example_values(churn_rate=("0.04", True))

    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # coverage = 3/4 · 1/3 + 1/4 · 1 = 0.25 + 0.25 = 0.50 < 0.70 → n/a
    assert snapshot.coverage == Decimal("0.5000")
    assert snapshot.value is None
    assert snapshot.published is False
    assert snapshot.band == ""
    assert snapshot.contributions.get(kpi="churn_rate").missing_reason == "low_sample"


def test_a_lower_minimum_coverage_publishes_the_same_data():
    version = make_version(min_coverage=Decimal("0.5"))
    worked_example_values(churn_rate=("0.04", True))

    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # retention = 25 (reactivation only); index = (3·25 + 1·65) / 4 = 140 / 4 = 35.00 → red
    assert snapshot.value == Decimal("35.00")
    assert snapshot.band == "red"


def test_missing_snapshot_counts_as_missing():
    version = make_version()
    kpi_value("churn_rate", "0.04")  # nothing else stored

    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # coverage = 3/4 · 2/3 = 0.5 → not published
    assert snapshot.coverage == Decimal("0.5000")
    assert snapshot.value is None
    assert snapshot.contributions.get(kpi="first_response_time").missing_reason == "no_snapshot"


def test_compute_index_is_idempotent_per_version():
    version = make_version()
    worked_example_values()

    compute_index(granularity="quarter", period_start=Q1, version=version)
    KpiSnapshot.objects.filter(kpi="churn_rate").update(value=Decimal("0.02"))  # → 100
    snapshot = compute_index(granularity="quarter", period_start=Q1, version=version)

    # retention = (2·100 + 25) / 3 = 75; index = (3·75 + 65) / 4 = 72.50
    assert IndexSnapshot.objects.filter(version=version).count() == 1
    assert IndexContribution.objects.filter(snapshot=snapshot).count() == 4
    assert snapshot.value == Decimal("72.50")


def test_recomputing_under_a_new_version_keeps_the_old_row():
    first = make_version("first")
    second = make_version("second")
    worked_example_values()

    compute_index(granularity="quarter", period_start=Q1, version=first)
    compute_index(granularity="quarter", period_start=Q1, version=second)

    assert IndexSnapshot.objects.filter(period_start=Q1).count() == 2


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (Decimal("0"), "red"),
        (Decimal("50"), "red"),
        (Decimal("50.01"), "yellow"),
        (Decimal("75"), "yellow"),
        (Decimal("75.01"), "green"),
        (Decimal("100"), "green"),
        (None, ""),
    ],
)
def test_default_bands(value, band):
    assert band_for(value, default_bands()) == band


@pytest.mark.parametrize(
    ("indicator", "value", "score"),
    [
        # bounded linear, lower is better: best 30 min, worst 480 min
        (IndicatorConfig("frt", "service", Decimal(1), Direction.LOWER,
                         best=Decimal(30), worst=Decimal(480)), "20", "100"),  # clipped
        (IndicatorConfig("frt", "service", Decimal(1), Direction.LOWER,
                         best=Decimal(30), worst=Decimal(480)), "600", "0"),  # clipped
        (IndicatorConfig("frt", "service", Decimal(1), Direction.LOWER,
                         best=Decimal(30), worst=Decimal(480)), "390", "20"),  # 90 / 450
        # target ratio, lower is better: min(target / v, 1): 0.02 / 0.04 = 0.5
        (IndicatorConfig("churn", "retention", Decimal(1), Direction.LOWER,
                         Normalisation.TARGET_RATIO, target=Decimal("0.02")), "0.04", "50"),
        (IndicatorConfig("churn", "retention", Decimal(1), Direction.LOWER,
                         Normalisation.TARGET_RATIO, target=Decimal("0.02")), "0.01", "100"),
        (IndicatorConfig("churn", "retention", Decimal(1), Direction.LOWER,
                         Normalisation.TARGET_RATIO, target=Decimal("0.02")), "0", "100"),
        # target ratio, higher is better, capped at 100 and floored at 0
        (IndicatorConfig("nps", "maintenance", Decimal(1), Direction.HIGHER,
                         Normalisation.TARGET_RATIO, target=Decimal(50)), "60", "100"),
        (IndicatorConfig("nps", "maintenance", Decimal(1), Direction.HIGHER,
                         Normalisation.TARGET_RATIO, target=Decimal(50)), "-10", "0"),
    ],
)  # fmt: skip
def test_normalisation(indicator, value, score):
    assert normalise(indicator, Decimal(value)) == Decimal(score)


def test_default_version_from_the_migration_is_active_and_valid():
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)

    weight_version_validate(version=active)

    assert set(GroupWeight.objects.filter(version=active).values_list("group", flat=True)) == set(
        LifecycleGroup.values
    )
    assert set(
        IndicatorWeight.objects.filter(version=active).values_list("group", flat=True)
    ) == set(LifecycleGroup.values)


def test_activation_retires_the_previous_version_and_records_who():
    admin = UserFactory()
    previous = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    draft = weight_version_create_draft(actor=admin)
    assert draft.indicators.count() == previous.indicators.count()  # copied

    weight_version_activate(version=draft, actor=admin)

    previous.refresh_from_db()
    draft.refresh_from_db()
    assert previous.status == WeightVersion.Status.RETIRED
    assert previous.retired_at is not None
    assert draft.status == WeightVersion.Status.ACTIVE
    assert draft.activated_by == admin
    assert draft.activated_at is not None
    assert WeightVersion.objects.filter(status=WeightVersion.Status.ACTIVE).count() == 1


def test_active_and_retired_versions_are_immutable():
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    weights_before = list(active.indicators.values_list("kpi", "weight"))

    with pytest.raises(ValidationError, match="cannot be changed"):
        weight_version_update(version=active, indicators=INDICATORS, groups=GROUPS)
    with pytest.raises(ValidationError, match="cannot be changed"):
        weight_version_activate(version=active)

    assert list(active.indicators.values_list("kpi", "weight")) == weights_before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"indicators": [{**INDICATORS[0], "weight": -1}]}, "indicators"),
        ({"groups": [{"group": "retention", "weight": -2}]}, "groups"),
        ({"indicators": [{**INDICATORS[0], "kpi": "happiness"}]}, "indicators"),
        ({"bands": [{"name": "red", "min": 0, "max": 60},
                    {"name": "green", "min": 50, "max": 100}]}, "bands"),  # overlap
        ({"bands": [{"name": "red", "min": 0, "max": 40},
                    {"name": "green", "min": 50, "max": 100}]}, "bands"),  # gap
        ({"bands": [{"name": "all", "min": 0, "max": 90}]}, "bands"),  # does not reach 100
        ({"bands": [{"name": "a-very-long-name", "min": 0, "max": 100}]}, "bands"),
        ({"health_bands": [{"name": "", "min": 0, "max": 100}]}, "health_bands"),
        ({"indicators": [{**INDICATORS[0], "direction": "higher"}]}, "indicators"),
        ({"health_config": [{"component": "mood", "weight": 1, "best": 1, "worst": 0}]},
         "health_config"),
    ],
)  # fmt: skip
def test_invalid_changes_are_refused_and_nothing_is_written(changes, field):
    draft = make_version()
    before = (
        list(draft.indicators.values_list("kpi", "weight")),
        list(draft.groups.values_list("group", "weight")),
        draft.bands,
    )

    with pytest.raises(ValidationError) as error:
        weight_version_update(version=draft, name="renamed", **changes)

    assert field in error.value.message_dict
    draft.refresh_from_db()
    assert draft.name == "Test weights"
    assert before == (
        list(draft.indicators.values_list("kpi", "weight")),
        list(draft.groups.values_list("group", "weight")),
        draft.bands,
    )


def test_preview_recomputes_under_a_draft_and_writes_nothing(django_assert_max_num_queries):
    # given four quarters of churn and FRT snapshots
    quarters = [dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1), Q1]
    for quarter in quarters:
        kpi_value("churn_rate", "0.06", period_start=quarter)  # (0.06 − 0.10)/(−0.08) = 50
        kpi_value("reactivation_rate", "0.10", period_start=quarter)  # 0.10 / 0.20 = 50
        kpi_value("first_response_time", "30", period_start=quarter)  # best → 100
        kpi_value("sla_first_response_attainment", "0.95", period_start=quarter)  # 100
    kpi_value("churn_rate", "0.06", period_start=dt.date(2025, 1, 1))  # a fifth, older quarter
    draft = make_version()

    with django_assert_max_num_queries(4):
        rows = preview_index(version=draft)

    # the latest 4 quarters, oldest first; index = (3·50 + 1·100) / 4 = 62.50
    assert [row.period_start for row in rows] == quarters
    assert [row.result.value for row in rows] == [Decimal("62.50")] * 4
    assert IndexSnapshot.objects.count() == 0


def test_after_period_computed_runs_scores_index_and_alerts_for_the_latest_period():
    from customers.models import Customer
    from kpis.models import AlertEvaluation, CustomerHealthSnapshot, CustomerSegmentSnapshot
    from kpis.post_compute import after_period_computed
    from kpis.services import alert_rule_create
    from tests.customers.factories import CustomerFactory
    from tests.sales.factories import OrderFactory

    # given two quarters of churn snapshots, a buyer and a rule
    older = dt.date(2025, 10, 1)
    kpi_value("churn_rate", "0.04", period_start=older)
    kpi_value("churn_rate", "0.20", period_start=Q1)
    # scores are as of the quarter's end (1 April): the order 12 days before is recent
    bought = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    buyer = cast(Customer, CustomerFactory(acquired_at=bought))
    OrderFactory(customer=buyer, ordered_at=bought)
    alert_rule_create(name="Churn", kpi="churn_rate", granularity="quarter", upper_threshold=1)

    # when the engine finishes the latest quarter, then an older one (a backfill)
    after_period_computed(granularity="quarter", period_start=Q1, period_end=dt.date(2026, 4, 1))
    after_period_computed(granularity="quarter", period_start=older, period_end=Q1)

    # then both periods get an index under the active version and an alert evaluation,
    # but the customers' current scores are refreshed by the latest period only (the segment
    # history is written by the engine's customer frame, not by this hook)
    active = WeightVersion.objects.get(status="active")
    assert set(
        IndexSnapshot.objects.filter(version=active).values_list("period_start", flat=True)
    ) == {
        older,
        Q1,
    }
    assert AlertEvaluation.objects.count() == 2
    assert not CustomerSegmentSnapshot.objects.exists()
    # health history for both periods; the buyer, acquired in March, is scored in Q1 only
    assert set(CustomerHealthSnapshot.objects.values_list("period_start", flat=True)) == {Q1}
    buyer.refresh_from_db()
    assert buyer.rfm_segment == "first_time_buyer"
    assert buyer.health_score is not None

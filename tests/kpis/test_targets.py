"""Targets: resolved absolute value per kind and progress toward it (catalogue §4)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kpis.models import KpiSnapshot, Target
from kpis.selectors import target_progress, targets_progress
from kpis.services import target_create, target_update
from kpis.targets import period_end_of

pytestmark = pytest.mark.django_db

Q1, Q2 = dt.date(2026, 1, 1), dt.date(2026, 4, 1)


def kpi_value(kpi, value, period_start, granularity="quarter", **cell):
    KpiSnapshot.objects.create(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        period_end=period_end_of(granularity, period_start),
        value=Decimal(value),
        **cell,
    )


@pytest.fixture
def churn():
    kpi_value("churn_rate", "0.12", Q1)  # baseline: 12 %
    kpi_value("churn_rate", "0.117", Q2)  # current: 11.7 %


def test_absolute_target(churn):
    target = target_create(
        kpi="churn_rate", granularity="quarter", period_start=Q2, kind="absolute", amount="0.10"
    )

    progress = target_progress(target=target)

    # no baseline for an absolute target; lower is better: 0.10 / 0.117 = 0.8547
    assert target.baseline_period_start is None
    assert progress.resolved_value == Decimal("0.10")
    assert progress.progress is not None
    assert progress.progress.quantize(Decimal("0.0001")) == Decimal("0.8547")
    assert progress.achieved is False


def test_relative_change_reduce_churn_by_five_percent(churn):
    target = target_create(
        kpi="churn_rate",
        granularity="quarter",
        period_start=Q2,
        kind="relative_change_pct",
        amount=Decimal("-5"),
    )

    progress = target_progress(target=target)

    # baseline defaults to the previous quarter; 0.12 × (1 − 5/100) = 0.114
    # progress = (0.117 − 0.12) / (0.114 − 0.12) = −0.003 / −0.006 = 0.5
    assert target.baseline_period_start == Q1
    assert progress.baseline == Decimal("0.12")
    assert progress.resolved_value == Decimal("0.114")
    assert progress.progress == Decimal("0.5")
    assert progress.achieved is False


def test_percentage_point_change_reduce_churn_by_five_points(churn):
    target = target_create(
        kpi="churn_rate", granularity="quarter", period_start=Q2, kind="pp_change", amount=-5
    )

    progress = target_progress(target=target)

    # 0.12 − 5 points (0.05) = 0.07; progress = −0.003 / −0.05 = 0.06
    assert progress.resolved_value == Decimal("0.07")
    assert progress.progress == Decimal("0.06")


def test_points_on_nps_are_nps_points():
    kpi_value("nps", "20", Q1)
    kpi_value("nps", "35", Q2)
    target = target_create(
        kpi="nps", granularity="quarter", period_start=Q2, kind="pp_change", amount=10
    )

    progress = target_progress(target=target)

    # 20 + 10 = 30; progress = (35 − 20) / (30 − 20) = 1.5, achieved (higher is better)
    assert progress.resolved_value == Decimal("30")
    assert progress.progress == Decimal("1.5")
    assert progress.achieved is True


def test_relative_change_on_money_for_a_dimension_value():
    kpi_value("revenue", "1000", Q1, dimension="team", dimension_value="7")
    kpi_value("revenue", "1050", Q2, dimension="team", dimension_value="7")
    kpi_value("revenue", "99999", Q2)  # the `all` cell is not the target's
    target = target_create(
        kpi="revenue",
        granularity="quarter",
        period_start=Q2,
        kind="relative_change_pct",
        amount=10,
        dimension="team",
        dimension_value="7",
    )

    progress = target_progress(target=target)

    # 1000 × 1.10 = 1100; progress = (1050 − 1000) / (1100 − 1000) = 0.5
    assert progress.resolved_value == Decimal("1100")
    assert progress.current == Decimal("1050")
    assert progress.progress == Decimal("0.5")


def test_relative_target_without_baseline_snapshot_is_unresolved():
    target = target_create(
        kpi="churn_rate", granularity="quarter", period_start=Q2, kind="relative_change_pct",
        amount=-5,
    )  # fmt: skip

    progress = target_progress(target=target)

    assert (progress.resolved_value, progress.progress, progress.achieved) == (None, None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kpi": "revenue", "kind": "pp_change"}, "kind"),  # points make no sense on money
        ({"kpi": "happiness"}, "kpi"),
        ({"period_start": dt.date(2026, 2, 1)}, "period_start"),  # not a quarter start
        ({"kind": "relative_change_pct", "baseline_period_start": Q2}, "baseline_period_start"),
        ({"kind": "absolute", "baseline_period_start": Q1}, "baseline_period_start"),
    ],
)
def test_invalid_targets_are_refused(fields, field):
    arguments = {
        "kpi": "churn_rate",
        "granularity": "quarter",
        "period_start": Q2,
        "kind": "absolute",
        "amount": Decimal("0.1"),
        **fields,
    }

    with pytest.raises(ValidationError) as error:
        target_create(**arguments)

    assert field in error.value.message_dict
    assert Target.objects.count() == 0


def test_progress_of_many_targets_reads_snapshots_once(churn, django_assert_max_num_queries):
    targets = [
        target_create(
            kpi="churn_rate", granularity="quarter", period_start=Q2, kind=kind, amount=amount
        )
        for kind, amount in [("absolute", "0.1")]
    ] + [
        target_create(
            kpi="churn_rate", granularity="quarter", period_start=dt.date(2026, 7, 1),
            kind="pp_change", amount=-1,
        )
    ]  # fmt: skip

    with django_assert_max_num_queries(2):
        results = targets_progress(targets=targets)

    # Q3 target: baseline Q2 0.117 − 0.01 = 0.107; no Q3 value yet
    assert results[1].resolved_value == Decimal("0.107")
    assert results[1].current is None


@pytest.mark.django_db
def test_a_target_edit_is_checked_on_the_merged_values_and_nothing_half_saved():
    target = target_create(
        kpi="revenue",
        granularity="month",
        period_start=dt.date(2026, 6, 1),
        kind="absolute",
        amount="5000",
    )

    with pytest.raises(ValidationError) as misaligned:
        # A month target must start on the 1st: the 15th is refused, the amount not applied.
        target_update(target=target, period_start=dt.date(2026, 6, 15), amount="9000")
    relative = target_update(target=target, kind="relative_change_pct", amount="-5")

    assert "period_start" in misaligned.value.message_dict
    # Relative without a baseline: the previous period, as on creation (June → May).
    assert relative.baseline_period_start == dt.date(2026, 5, 1)
    assert Target.objects.get().amount == Decimal("-5")

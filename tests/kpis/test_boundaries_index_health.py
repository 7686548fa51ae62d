"""Composite index and customer health at their edges (catalogue §3; issue 19, item 4):
missing groups and indicators, coverage at the minimum and just below, bounded-linear and
target-ratio normalisation at and beyond their bounds in both directions, band edges.
Pure arithmetic: no database."""

from decimal import Decimal

import pytest

from kpis.health import health_score_for
from kpis.index import IndexConfig, IndicatorConfig, Reading, band_for, evaluate_index, normalise
from kpis.models import Direction, Normalisation, default_bands

D = Decimal


def linear(kpi: str, group: str, weight: str, best: str = "1", worst: str = "0"):
    return IndicatorConfig(kpi=kpi, group=group, weight=D(weight), best=D(best), worst=D(worst))


def config(groups: dict[str, str], indicators, min_coverage: str = "0.70") -> IndexConfig:
    return IndexConfig(
        group_weights={group: D(weight) for group, weight in groups.items()},
        indicators=indicators,
        min_coverage=D(min_coverage),
        bands=default_bands(),
    )


def test_a_missing_group_is_dropped_and_the_others_rescaled_not_all_groups():
    setup = config(
        {"retention": "3", "service": "1"},
        [linear("churn_rate", "retention", "1"), linear("reopen_rate", "service", "1")],
    )
    # retention scores 0.8 on [0, 1] → 80; service's only indicator is n/a
    result = evaluate_index(setup, {"churn_rate": Reading(D("0.8")), "reopen_rate": Reading(None)})

    # present groups only: 3 · 80 / 3 = 80 (over all groups it would be 3 · 80 / 4 = 60)
    assert result.value == D("80.00")
    # coverage = retention's configured share 3 / 4 = 0.75 ≥ 0.70 → published
    assert result.coverage == D("0.7500")
    assert result.published is True
    # the contributions of a published index add up to it: 1 · 80
    assert sum(c.contribution for c in result.contributions) == D("80")


def test_a_missing_indicator_is_dropped_inside_its_group():
    setup = config(
        {"retention": "1", "service": "1"},
        [
            linear("churn_rate", "retention", "1"),
            linear("retention_rate", "retention", "3"),
            linear("reopen_rate", "service", "1"),
        ],
        min_coverage="0.60",
    )
    readings = {
        "churn_rate": Reading(D("1")),  # 100
        "retention_rate": Reading(D("0.9"), "low_sample"),  # low sample → missing
        "reopen_rate": Reading(D("0.4")),  # 40
    }

    result = evaluate_index(setup, readings)

    # retention = 1 · 100 / 1 = 100 (weights rescaled over the present indicator);
    # index = (1 · 100 + 1 · 40) / 2 = 70
    assert result.value == D("70.00")
    # coverage = ½ · ¼ (churn's share of retention) + ½ · 1 (service) = 0.625
    assert result.coverage == D("0.6250")
    retention = next(group for group in result.groups if group.group == "retention")
    assert (retention.score, retention.coverage) == (D("100"), D("0.25"))
    low = next(c for c in result.contributions if c.kpi == "retention_rate")
    assert (low.score, low.missing_reason, low.contribution) == (None, "low_sample", D("0"))


@pytest.mark.parametrize(
    ("present_weight", "missing_weight", "coverage", "published"),
    [
        # coverage = present / (present + missing), rounded to 4 places, against 0.70
        ("7", "3", "0.7000", True),  # exactly at the minimum
        ("6999", "3001", "0.6999", False),  # one unit of the 4th place below
        ("69995", "30005", "0.7000", True),  # 0.69995 rounds half up to 0.7000
        ("69994", "30006", "0.6999", False),  # 0.69994 rounds down
    ],
)
def test_coverage_exactly_at_the_minimum_and_just_below(
    present_weight, missing_weight, coverage, published
):
    setup = config(
        {"retention": present_weight, "service": missing_weight},
        [linear("churn_rate", "retention", "1"), linear("reopen_rate", "service", "1")],
    )
    result = evaluate_index(setup, {"churn_rate": Reading(D("0.5"))})  # reopen: no snapshot

    assert result.coverage == D(coverage)
    assert result.published is published
    # below the minimum the index is n/a but its would-be value (50) is kept for diagnosis
    assert result.value == (D("50.00") if published else None)
    assert result.unpublished_value == (None if published else D("50.00"))


def test_no_present_indicator_leaves_the_index_unpublished():
    setup = config({"retention": "1"}, [linear("churn_rate", "retention", "1")])
    result = evaluate_index(setup, {"churn_rate": Reading(None, "n/a")})
    assert (result.value, result.coverage, result.published, result.band) == (
        None,
        D("0.0000"),
        False,
        "",
    )


@pytest.mark.parametrize(
    ("value", "score"),
    [
        # higher is better, best 0.9, worst 0.5: (v − 0.5) / 0.4 · 100, clipped to [0, 100]
        ("0.9", "100"),  # at best
        ("0.5", "0"),  # at worst
        ("0.95", "100"),  # beyond best: clipped
        ("0.45", "0"),  # beyond worst: clipped
        ("0.7", "50"),  # halfway
    ],
)
def test_bounded_linear_higher_is_better_at_and_beyond_its_bounds(value, score):
    indicator = linear("retention_rate", "retention", "1", best="0.9", worst="0.5")
    assert normalise(indicator, D(value)) == D(score)


@pytest.mark.parametrize(
    ("value", "score"),
    [
        # lower is better, best 0.02 < worst 0.10: (v − 0.10) / (0.02 − 0.10) · 100, clipped
        ("0.02", "100"),  # at best
        ("0.10", "0"),  # at worst
        ("0.01", "100"),  # better than best: clipped
        ("0.12", "0"),  # worse than worst: clipped
        ("0.06", "50"),  # halfway
    ],
)
def test_bounded_linear_lower_is_better_at_and_beyond_its_bounds(value, score):
    indicator = linear("churn_rate", "retention", "1", best="0.02", worst="0.10")
    assert normalise(indicator, D(value)) == D(score)


@pytest.mark.parametrize(
    ("direction", "value", "score"),
    [
        # higher is better, target 0.8: min(max(v, 0) / 0.8, 1) · 100
        (Direction.HIGHER, "0.8", "100"),  # at the target
        (Direction.HIGHER, "0.4", "50"),
        (Direction.HIGHER, "0.9", "100"),  # above: capped
        (Direction.HIGHER, "-0.1", "0"),  # negative: floored
        # lower is better, target 0.02: min(0.02 / v, 1) · 100; v ≤ 0 → 100
        (Direction.LOWER, "0.02", "100"),  # at the target
        (Direction.LOWER, "0.04", "50"),  # twice the target: 0.02 / 0.04
        (Direction.LOWER, "0.01", "100"),  # better than the target: capped
        (Direction.LOWER, "0", "100"),
    ],
)
def test_target_ratio_both_directions(direction, value, score):
    indicator = IndicatorConfig(
        kpi="x",
        group="retention",
        weight=D(1),
        direction=direction,
        normalisation=Normalisation.TARGET_RATIO,
        target=D("0.8") if direction == Direction.HIGHER else D("0.02"),
    )
    assert normalise(indicator, D(value)) == D(score)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        # default bands (min, max]: red (0, 50] with 0 included, yellow (50, 75], green (75, 100]
        ("0", "red"),
        ("50", "red"),
        ("50.01", "yellow"),
        ("75", "yellow"),
        ("75.01", "green"),
        ("100", "green"),
    ],
)
def test_band_edges(value, band):
    assert band_for(D(value), default_bands()) == band


def test_health_score_drops_a_missing_component_and_rescales():
    health_config = [
        {"component": "recency", "weight": 25, "best": 0, "worst": 180},
        {"component": "frequency", "weight": 20, "best": 12, "worst": 0},
        {"component": "satisfaction", "weight": 15, "best": 100, "worst": 0},
    ]
    # recency 180 days = worst → 0; frequency 12 = best → 100; satisfaction never answered
    score, components = health_score_for(
        {"recency": D(180), "frequency": D(12), "satisfaction": None}, health_config
    )

    # (25 · 0 + 20 · 100) / (25 + 20) = 2000 / 45 = 44.44
    assert score == D("44.44")
    assert components["satisfaction"]["score"] is None
    assert components["recency"]["score"] == "0.00"


def test_health_score_beyond_the_bounds_is_clipped_and_none_without_components():
    health_config = [{"component": "recency", "weight": 25, "best": 0, "worst": 180}]
    # 200 days is worse than the worst (180) → 0, not negative
    assert health_score_for({"recency": D(200)}, health_config)[0] == D("0.00")
    # a day on the best edge: (0 − 180) / (0 − 180) = 1 → 100
    assert health_score_for({"recency": D(0)}, health_config)[0] == D("100.00")
    assert health_score_for({"recency": None}, health_config)[0] is None

"""The bounded-linear direction rule, in one place (kpis.index.bounded_linear_direction): the
index's validation, the health components and the editor's new-indicator bounds read it."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kpis.health import _indicators
from kpis.index import (
    IndicatorConfig,
    bounded_linear_direction,
    bounded_linear_unit_bounds,
    normalise,
    validate_indicators,
)
from kpis.models import Direction, LifecycleGroup, Normalisation


def indicator(best: str, worst: str) -> IndicatorConfig:
    best_value, worst_value = Decimal(best), Decimal(worst)
    return IndicatorConfig(
        kpi="x",
        group="",
        weight=Decimal(1),
        direction=bounded_linear_direction(best_value, worst_value),
        best=best_value,
        worst=worst_value,
    )


def test_best_above_worst_is_higher_is_better_and_scores_100_at_best_0_at_worst():
    # An SLA attainment: best 0.9, worst 0.5.
    sla = indicator("0.9", "0.5")

    assert sla.direction == Direction.HIGHER
    # At best: (0.9 − 0.5) / (0.9 − 0.5) = 1 → 100.
    assert normalise(sla, Decimal("0.9")) == Decimal(100)
    # At worst: (0.5 − 0.5) / 0.4 = 0 → 0.
    assert normalise(sla, Decimal("0.5")) == Decimal(0)
    # Halfway: (0.7 − 0.5) / 0.4 = 0.5 → 50.
    assert normalise(sla, Decimal("0.7")) == Decimal(50)


def test_best_below_worst_is_lower_is_better_and_scores_100_at_best_0_at_worst():
    # A resolution time in hours: best 2, worst 10.
    resolution = indicator("2", "10")

    assert resolution.direction == Direction.LOWER
    # At best: (2 − 10) / (2 − 10) = −8 / −8 = 1 → 100.
    assert normalise(resolution, Decimal(2)) == Decimal(100)
    # At worst: (10 − 10) / −8 = −0, clipped → 0 (not "−0").
    assert str(normalise(resolution, Decimal(10))) == "0"
    # Beyond worst: (12 − 10) / −8 = −0.25, clipped → 0.
    assert normalise(resolution, Decimal(12)) == Decimal(0)


@pytest.mark.parametrize("direction", [Direction.HIGHER, Direction.LOWER])
def test_a_new_indicators_unit_bounds_read_back_as_its_direction(direction):
    best, worst = bounded_linear_unit_bounds(direction)

    # higher: (best 1, worst 0); lower: (best 0, worst 1).
    assert {best, worst} == {Decimal(0), Decimal(1)}
    assert bounded_linear_direction(best, worst) == direction


def row(best: str, worst: str, direction: str = "") -> dict:
    return {
        "kpi": "churn_rate",
        "group": LifecycleGroup.RETENTION,
        "weight": "1",
        "normalisation": Normalisation.BOUNDED_LINEAR,
        "best": best,
        "worst": worst,
        "direction": direction,
    }


def test_the_index_takes_the_direction_the_bounds_imply():
    (higher,) = validate_indicators([row("0.9", "0.5")])
    (lower,) = validate_indicators([row("0.02", "0.10")])

    assert (higher.direction, lower.direction) == (Direction.HIGHER, Direction.LOWER)


def test_the_index_refuses_a_direction_the_bounds_contradict():
    with pytest.raises(ValidationError, match="best < worst means lower is better"):
        validate_indicators([row("0.02", "0.10", direction=Direction.HIGHER)])


def test_health_components_take_the_direction_of_their_bounds():
    components = _indicators(
        [
            {"component": "recency", "weight": "1", "best": "0", "worst": "180"},
            {"component": "frequency", "weight": "1", "best": "12", "worst": "0"},
        ]
    )

    assert [c.direction for c in components] == [Direction.LOWER, Direction.HIGHER]

"""Fitting: bad input refused, too little data or no convergence → a failed run, not used."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from predictions import maths
from predictions.models import PredictionRun
from predictions.selectors import runs_in_use
from predictions.services import PredictionInputError, prediction_fit
from tests.customers.factories import CustomerFactory, SegmentFactory
from tests.predictions.conftest import buy, simulate_buyers

pytestmark = pytest.mark.django_db

START = dt.date(2025, 1, 6)


def population(count: int, *, repeat_every: int = 3, segment=None, start=START):
    """`count` customers, first purchases a day apart; every `repeat_every`-th buys again 1, 2 or
    3 times in turn (2, 5 and 9 weeks later), with a spend that varies by customer."""
    for index in range(count):
        customer = CustomerFactory.create(segment=segment)
        first = start + dt.timedelta(days=index % 60)
        buy(customer, first, total="40.00")
        if index % repeat_every == 0:
            spend = f"{20 + index % 17}.00"
            for weeks in (2, 5, 9)[: 1 + (index // repeat_every) % 3]:
                buy(customer, first + dt.timedelta(weeks=weeks), total=spend)


def test_a_calibration_end_in_the_future_is_refused_and_nothing_is_stored():
    population(3)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    with pytest.raises(PredictionInputError, match="in the future"):
        prediction_fit(calibration_end=tomorrow)
    assert not PredictionRun.objects.exists()


def test_a_calibration_end_before_the_first_order_is_refused():
    population(3)

    with pytest.raises(PredictionInputError, match=r"before the first order \(2025-01-06\)"):
        prediction_fit(calibration_end=START - dt.timedelta(days=1))
    assert not PredictionRun.objects.exists()


def test_too_few_customers_is_a_failed_run_and_the_previous_run_stays_in_use(
    settings, published_run
):
    settings.PREDICTIONS_MIN_CUSTOMERS = 100
    population(12)  # 12 customers, 4 repeat buyers

    run = prediction_fit(calibration_end=dt.date(2025, 6, 30))

    assert run.status == PredictionRun.Status.FAILED
    assert "12 customers (at least 100 needed)" in run.error
    assert "4 bought again" in run.error
    assert run.r is None
    assert runs_in_use() == [published_run]


def test_non_convergence_is_a_failed_run(settings, monkeypatch, published_run):
    settings.PREDICTIONS_MIN_CUSTOMERS = 10
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 3
    population(12)

    class Stuck:
        success, fun, x = False, 1e9, np.zeros(4)
        message = "Maximum number of iterations has been exceeded."

    monkeypatch.setattr(maths, "minimize", lambda *args, **kwargs: Stuck())
    run = prediction_fit(calibration_end=dt.date(2025, 6, 30))

    assert run.status == PredictionRun.Status.FAILED
    assert run.error == "Maximum number of iterations has been exceeded."
    assert runs_in_use() == [published_run]


def test_a_fit_stores_parameters_window_and_zero_value_exclusions(settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 30
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 10
    end = dt.date(2025, 9, 28)
    histories = simulate_buyers(200, seed=17, start=START, end=end)
    # Two repeat buyers whose repeat purchases are worth nothing: out of the spend model.
    for _ in range(2):
        freebie = CustomerFactory.create()
        buy(freebie, START, total="10.00")
        buy(freebie, START + dt.timedelta(weeks=3), total="0.00")
    repeat_buyers = sum(1 for days in histories if len(set(days)) > 1)
    repeat_days = sum(len(set(days)) - 1 for days in histories)

    run = prediction_fit(calibration_end=end)

    assert run.status == PredictionRun.Status.SUCCEEDED, run.error
    assert (run.customers, run.repeat_customers) == (202, repeat_buyers + 2)
    assert run.value_customers == repeat_buyers
    assert run.exclusions["zero_value_repeat_customers"]["count"] == 2
    assert run.data_start == START
    parameters = (run.r, run.alpha, run.a, run.b, run.p, run.q, run.v)
    assert all(value is not None and 0 < value < 1e6 for value in parameters)
    assert run.log_likelihood is not None
    assert run.log_likelihood < 0
    assert run.fit_seconds is not None
    assert run.finished_at is not None
    # The tracking counts every repeat purchase day once (the freebies' one each included).
    assert sum(run.tracking["actual"]) == repeat_days + 2
    assert run.tracking["holdout"]["days"] == 0


def test_a_maximum_at_the_edge_of_the_parameter_space_is_a_failed_run(settings):
    """Every repeat buyer buys 1–3 times at the same weeks and stops: the likelihood rises
    towards a, b → ∞ (one dropout probability for all) and has no interior maximum."""
    settings.PREDICTIONS_MIN_CUSTOMERS = 30
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 10
    population(120)

    run = prediction_fit(calibration_end=dt.date(2025, 6, 30))

    assert run.status == PredictionRun.Status.FAILED
    assert "edge of the parameter space" in run.error


def test_a_segment_fit_uses_only_that_segments_customers(settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 30
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 10
    smb = SegmentFactory.create(code="smb")
    end = dt.date(2025, 9, 28)
    simulate_buyers(150, seed=5, start=START, end=end, segment=smb)
    simulate_buyers(40, seed=6, start=START, end=end)

    run = prediction_fit(calibration_end=end, segment=smb)

    assert run.status == PredictionRun.Status.SUCCEEDED, run.error
    assert run.segment == smb
    assert run.customers == 150

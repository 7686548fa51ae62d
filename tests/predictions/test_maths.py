"""The model formulas on small arrays, against values worked out by hand."""

import math

import numpy as np
import pytest

from predictions import maths

PUBLISHED = maths.BgNbdParameters(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258, log_likelihood=0)
SPEND = maths.GammaGammaParameters(p=6.25, q=3.74, v=15.44, log_likelihood=0)


def test_a_customer_without_repeat_purchases_is_certainly_alive():
    # δ(x>0) = 0 → P(alive) = 1 / (1 + 0) = 1, whatever t_x and T.
    alive = maths.probability_alive(PUBLISHED, np.array([0.0]), np.array([0.0]), np.array([30.0]))
    assert alive[0] == 1.0


def test_log_likelihood_of_a_one_time_buyer():
    # x = 0: LL = ln Γ(r)/Γ(r) + r ln α + ln B(a, b)/B(a, b) − r ln(α + T) = r ln(α / (α + T)).
    terms = maths.bgnbd_log_likelihood_terms(
        0.5, 2.0, 1.0, 3.0, np.array([0.0]), np.array([0.0]), np.array([8.0])
    )
    assert terms[0] == pytest.approx(0.5 * math.log(2.0 / 10.0))


def test_expected_order_value_weights_own_mean_against_the_population_mean():
    # Population mean p·v/(q−1) = 6.25 × 15.44 / 2.74 = 35.2190; x = 0 gets it.
    # x = 2, m̄ = 20: weight p·x/(p·x + q − 1) = 12.5/15.24 = 0.820210;
    # 0.179790 × 35.2190 + 0.820210 × 20 = 22.7363.
    values = maths.expected_order_value(SPEND, np.array([0.0, 2.0]), np.array([0.0, 20.0]))
    assert values[0] == pytest.approx(35.2190, abs=1e-4)
    assert values[1] == pytest.approx(22.7363, abs=1e-4)


def test_clv_without_discount_is_value_times_twelve_months_of_purchases():
    x, t_x, T = np.array([3.0]), np.array([20.0]), np.array([30.0])
    value = np.array([50.0])
    clv = maths.predictive_clv(PUBLISHED, value, x, t_x, T, months=12, monthly_discount_rate=0)
    twelve_months = maths.expected_purchases(PUBLISHED, 365.25 / 7, x, t_x, T)
    # The monthly increments telescope to E[Y(12 months)].
    assert clv[0] == pytest.approx(50.0 * twelve_months[0])
    discounted = maths.predictive_clv(
        PUBLISHED, value, x, t_x, T, months=12, monthly_discount_rate=0.01
    )
    assert discounted[0] < clv[0]


def test_a_flat_optimiser_result_is_reported_as_not_converged(monkeypatch):
    class Stuck:
        success = False
        fun = math.inf
        message = "Maximum number of function evaluations has been exceeded."
        x = np.zeros(4)

    monkeypatch.setattr(maths, "minimize", lambda *args, **kwargs: Stuck())
    with pytest.raises(maths.ModelNotConverged, match="function evaluations"):
        maths.bgnbd_fit(np.array([1.0]), np.array([1.0]), np.array([2.0]))

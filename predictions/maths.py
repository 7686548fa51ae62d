"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b) fits by
maximum likelihood.

Pure numpy/scipy over arrays of customers: no database here, so the formulas can be checked by hand.
Time is in weeks. A customer is (x, t_x, T): x repeat transactions, t_x the week of the last one
counted from the first, T the weeks from the first transaction to the end of calibration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

FloatArray = NDArray[np.float64]

# The optimiser works on log-parameters (every parameter is > 0), starting at 1 for each, as the
# published fits do. L-BFGS-B with the analytic gradient takes a few dozen steps on 100k
# customers; when it stops without convergence (a flat or badly scaled surface) the
# derivative-free Nelder-Mead continues from where it stopped, and only if that fails too is
# the fit refused. The objective is the mean log-likelihood per customer so the tolerances mean
# the same for 2,000 customers as for 100,000.
_START = 0.0
# A fitted parameter outside [1e-6, 1e6] means the optimiser ran off to a boundary.
_LOG_BOUND = math.log(1e6)
_LBFGS_OPTIONS = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000}
_NELDER_MEAD_OPTIONS = {"xatol": 1e-7, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000}


def _maximise(
    mean_ll_and_gradient: Callable[[FloatArray], tuple[float, FloatArray]], size: int
) -> tuple[FloatArray, float]:
    """(log-parameters, mean log-likelihood) at the maximum; raises ModelNotConverged."""

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = mean_ll_and_gradient(log_params)
        if not (math.isfinite(value) and np.all(np.isfinite(gradient))):
            return math.inf, np.zeros(size)
        return -value, -gradient

    result = minimize(
        objective, np.full(size, _START), jac=True, method="L-BFGS-B", options=_LBFGS_OPTIONS
    )
    if not (result.success and math.isfinite(result.fun)):
        start = result.x if np.all(np.isfinite(result.x)) else np.full(size, _START)
        result = minimize(
            lambda log_params: objective(log_params)[0],
            start,
            method="Nelder-Mead",
            options=_NELDER_MEAD_OPTIONS,
        )
    if not (result.success and math.isfinite(result.fun)):
        raise ModelNotConverged(str(result.message))
    log_params = np.asarray(result.x, dtype=np.float64)
    if np.any(np.abs(log_params) > _LOG_BOUND):
        # The likelihood keeps rising towards a limit (e.g. a, b → ∞: the same dropout
        # probability for everyone): the data do not identify the model.
        raise ModelNotConverged(
            "The maximum lies at the edge of the parameter space (parameters "
            + ", ".join(f"{value:.3g}" for value in np.exp(log_params))
            + "): the data do not identify the model."
        )
    return log_params, -float(result.fun)


class ModelNotConverged(Exception):
    """The optimiser stopped without a maximum (or at an infinite or non-finite likelihood)."""


@dataclass(frozen=True)
class BgNbdParameters:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    v: float
    log_likelihood: float


def bgnbd_log_likelihood_terms(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Each customer's log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # ln(a / (b + x − 1)) − (r + x) ln(α + t_x), only where x > 0 (δ_{x>0} in the paper).
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_fit(x: FloatArray, t_x: FloatArray, T: FloatArray) -> BgNbdParameters:
    """Maximum-likelihood r, α, a, b; raises ModelNotConverged when the optimiser fails.

    The log-gamma and digamma terms depend on x only, so they are evaluated once per distinct
    x (a few hundred values) rather than once per customer.
    """
    size = len(x)
    distinct, index = np.unique(x, return_inverse=True)
    repeat = x > 0

    def mean_ll_and_gradient(log_params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        rx = r + x
        log_t = np.log(alpha + T)
        log_tx = np.log(alpha + t_x)
        a1 = (gammaln(r + distinct) - gammaln(r))[index] + r * np.log(alpha)
        a2 = (
            (gammaln(b + distinct) - gammaln(a + b + distinct))[index] - gammaln(b) + gammaln(a + b)
        )
        a3 = -rx * log_t
        a4 = np.full(size, -np.inf)
        a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - rx[repeat] * log_tx[repeat]
        mix = np.logaddexp(a3, a4)
        ll = a1 + a2 + mix
        # w: the share of the "dropped out after the last purchase" term in the mixture.
        w = np.exp(a4 - mix)
        psi_abx = digamma(a + b + distinct)[index]
        d_r = (digamma(r + distinct)[index] - digamma(r) + np.log(alpha)
               - (1 - w) * log_t - w * log_tx)  # fmt: skip
        d_alpha = r / alpha - (1 - w) * rx / (alpha + T) - w * rx / (alpha + t_x)
        d_a = -psi_abx + digamma(a + b) + w / a
        with np.errstate(divide="ignore", invalid="ignore"):
            w_over = np.where(repeat, w / (b + x - 1), 0.0)
        d_b = digamma(b + distinct)[index] - psi_abx - digamma(b) + digamma(a + b) - w_over
        gradient = np.array(
            [r * d_r.mean(), alpha * d_alpha.mean(), a * d_a.mean(), b * d_b.mean()]
        )
        return float(ll.mean()), gradient

    log_params, mean_ll = _maximise(mean_ll_and_gradient, 4)
    r, alpha, a, b = (float(value) for value in np.exp(log_params))
    log_likelihood = float(np.sum(bgnbd_log_likelihood_terms(r, alpha, a, b, x, t_x, T)))
    return BgNbdParameters(r=r, alpha=alpha, a=a, b=b, log_likelihood=log_likelihood)


def gamma_gamma_log_likelihood_terms(
    p: float, q: float, v: float, x: FloatArray, mean_value: FloatArray
) -> FloatArray:
    """Each customer's log-density of the mean transaction value m̄ given x (x ≥ 1, m̄ > 0)."""
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(mean_value)
        + px * np.log(x)
        - (px + q) * np.log(x * mean_value + v)
    )


def gamma_gamma_fit(x: FloatArray, mean_value: FloatArray) -> GammaGammaParameters:
    """Maximum-likelihood p, q, v on repeat buyers with a positive mean value."""
    distinct, index = np.unique(x, return_inverse=True)
    log_m, log_x = np.log(mean_value), np.log(x)

    def mean_ll_and_gradient(log_params: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = np.exp(log_params)
        px = p * x
        log_total = np.log(x * mean_value + v)
        pxq = p * distinct + q
        ll = (
            (gammaln(pxq) - gammaln(p * distinct))[index]
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * log_m
            + px * log_x
            - (px + q) * log_total
        )
        psi_pxq = digamma(pxq)[index]
        d_p = x * (psi_pxq - digamma(p * distinct)[index] + log_m + log_x - log_total)
        d_q = psi_pxq - digamma(q) + np.log(v) - log_total
        d_v = q / v - (px + q) / (x * mean_value + v)
        gradient = np.array([p * d_p.mean(), q * d_q.mean(), v * d_v.mean()])
        return float(ll.mean()), gradient

    log_params, _mean_ll = _maximise(mean_ll_and_gradient, 3)
    p, q, v = (float(value) for value in np.exp(log_params))
    log_likelihood = float(np.sum(gamma_gamma_log_likelihood_terms(p, q, v, x, mean_value)))
    return GammaGammaParameters(p=p, q=q, v=v, log_likelihood=log_likelihood)


def _odds_dead(
    params: BgNbdParameters, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x): the odds the customer has dropped out."""
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    odds[repeat] = np.exp(
        np.log(params.a)
        - np.log(params.b + xr - 1)
        + (params.r + xr) * (np.log(params.alpha + T[repeat]) - np.log(params.alpha + t_x[repeat]))
    )
    return odds


def probability_alive(
    params: BgNbdParameters, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) (Fader, Hardie & Lee 2005, equation 11)."""
    return 1.0 / (1.0 + _odds_dead(params, x, t_x, T))


def expected_purchases(
    params: BgNbdParameters, t: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected transactions in the next t weeks (equation 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if t <= 0:
        return np.zeros_like(x)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ratio * hyp)
    return numerator / (1.0 + _odds_dead(params, x, t_x, T))


def unconditional_expected_purchases(params: BgNbdParameters, t: FloatArray) -> FloatArray:
    """E[X(t)] for a customer just acquired: expected transactions in the first t weeks (eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - np.power(alpha / (alpha + t), r) * hyp)


def expected_order_value(
    params: GammaGammaParameters, x: FloatArray, mean_value: FloatArray
) -> FloatArray:
    """E[M | x, m̄]: a weighted mean of the population mean pv/(q−1) and the customer's own m̄.

    With x = 0 it is the population mean. Needs q > 1 (a finite population mean).
    """
    p, q, v = params.p, params.q, params.v
    weight = p * x / (p * x + q - 1)
    population_mean = p * v / (q - 1)
    own = np.where(x > 0, mean_value, 0.0)
    return (1 - weight) * population_mean + weight * own


def predictive_clv(
    bgnbd: BgNbdParameters,
    value: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    months: int,
    monthly_discount_rate: float,
) -> FloatArray:
    """Σ_{i=1..months} (E[Y(t_i)] − E[Y(t_{i−1})]) · E[M] / (1 + d)^i, with t_i = i months in weeks.

    The purchases expected in month i are discounted at the end of that month.
    """
    weeks_per_month = 365.25 / 12 / 7
    clv = np.zeros_like(x)
    previous = np.zeros_like(x)
    for month in range(1, months + 1):
        cumulative = expected_purchases(bgnbd, month * weeks_per_month, x, t_x, T)
        clv += (cumulative - previous) * value / (1 + monthly_discount_rate) ** month
        previous = cumulative
    return clv

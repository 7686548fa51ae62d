"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b) fits by
maximum likelihood.

Pure numpy/scipy over arrays of customers: no database here, so the formulas can be checked by hand.
Time is in weeks. A customer is (x, t_x, T): x repeat transactions, t_x the week of the last one
counted from the first, T the weeks from the first transaction to the end of calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

FloatArray = NDArray[np.float64]

# The optimiser works on log-parameters (every parameter is > 0); starting at 1 for each is what
# the published fits use and converges for the data sets we have seen.
_START = 0.0
# Nelder-Mead is derivative-free and does not stop on the flat, badly scaled regions the BG/NBD
# likelihood has; these tolerances give 5 significant figures on the parameters.
_OPTIONS = {"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20000, "maxfev": 40000}


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
    """Maximum-likelihood r, α, a, b; raises ModelNotConverged when the optimiser fails."""

    def negative_ll(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        total = float(np.sum(bgnbd_log_likelihood_terms(r, alpha, a, b, x, t_x, T)))
        return -total if math.isfinite(total) else math.inf

    result = minimize(negative_ll, np.full(4, _START), method="Nelder-Mead", options=_OPTIONS)
    if not result.success or not math.isfinite(result.fun):
        raise ModelNotConverged(str(result.message))
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BgNbdParameters(r=r, alpha=alpha, a=a, b=b, log_likelihood=-float(result.fun))


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

    def negative_ll(log_params: FloatArray) -> float:
        p, q, v = np.exp(log_params)
        total = float(np.sum(gamma_gamma_log_likelihood_terms(p, q, v, x, mean_value)))
        return -total if math.isfinite(total) else math.inf

    result = minimize(negative_ll, np.full(3, _START), method="Nelder-Mead", options=_OPTIONS)
    if not result.success or not math.isfinite(result.fun):
        raise ModelNotConverged(str(result.message))
    p, q, v = (float(val) for val in np.exp(result.x))
    return GammaGammaParameters(p=p, q=q, v=v, log_likelihood=-float(result.fun))


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

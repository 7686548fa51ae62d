"""Writes for predictions: fit the models (a PredictionRun) and score every customer with them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Segment
from predictions import maths
from predictions.models import CustomerPrediction, PredictionRun
from predictions.selectors import (
    PurchaseSummary,
    first_transaction_day,
    last_transaction_day,
    purchase_summary,
    runs_in_use,
)
from sales.models import RetentionCase
from sales.services import retention_case_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXPECTED_PURCHASES_DAYS = 90
CLV_MONTHS = 12
SCORE_BATCH = 2000
# The tracking chart stops after this many weeks (ten years) so a run's JSON stays small.
TRACKING_MAX_WEEKS = 520


class PredictionInputError(ValidationError):
    """Refused before fitting (a date that cannot be a calibration end); no run is stored."""


class InsufficientData(Exception):
    """Too few customers or repeat buyers for a fit; the run is stored as failed."""


class PredictionUnavailable(Exception):
    """Scoring asked for before any run succeeded."""


def _check_calibration_end(
    *, calibration_end: dt.date, segment: Segment | None, today: dt.date
) -> dt.date:
    if calibration_end > today:
        raise PredictionInputError(
            _("The calibration end %(end)s is in the future (today is %(today)s).")
            % {"end": calibration_end.isoformat(), "today": today.isoformat()}
        )
    first = first_transaction_day(segment_id=segment.pk if segment else None)
    if first is None:
        raise PredictionInputError(_("There are no orders to fit on."))
    if calibration_end < first:
        raise PredictionInputError(
            _("The calibration end %(end)s is before the first order (%(first)s).")
            % {"end": calibration_end.isoformat(), "first": first.isoformat()}
        )
    return first


def _require_enough(customers: int, repeat: int, *, what: str) -> None:
    minimum_customers = settings.PREDICTIONS_MIN_CUSTOMERS
    minimum_repeat = settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS
    if customers < minimum_customers or repeat < minimum_repeat:
        raise InsufficientData(
            _(
                "Too few customers to fit %(what)s: %(customers)s customers (at least "
                "%(min_customers)s needed) of whom %(repeat)s bought again (at least "
                "%(min_repeat)s needed)."
            )
            % {
                "what": what,
                "customers": customers,
                "min_customers": minimum_customers,
                "repeat": repeat,
                "min_repeat": minimum_repeat,
            }
        )


def _tracking(
    *,
    bgnbd: maths.BgNbdParameters,
    summary: PurchaseSummary,
    calibration_end: dt.date,
    data_end: dt.date,
) -> dict[str, Any]:
    """Actual vs expected repeat transactions per week from the first transaction, through the
    calibration period and on into the holdout (the days after calibration end with orders).

    Expected: Σ over first-purchase days c of n_c · E[X(t)], E[X] the unconditional BG/NBD
    expectation (Fader, Hardie & Lee 2005, eq. 9), differenced week by week.
    """
    start: dt.date = summary.first_day.min().item()
    weeks = min(-(-((data_end - start).days + 1) // 7), TRACKING_MAX_WEEKS)
    # The last day of week k (1-based) is start + 7k − 1; the final week may be partial.
    week_ends = [min(start + dt.timedelta(days=7 * k - 1), data_end) for k in range(1, weeks + 1)]
    cohorts, sizes = np.unique(summary.first_day, return_counts=True)
    ends = np.array([day.isoformat() for day in week_ends], dtype="datetime64[D]")
    elapsed = (ends[:, None] - cohorts[None, :]).astype(np.float64) / 7.0
    cumulative = (
        maths.unconditional_expected_purchases(bgnbd, np.clip(elapsed, 0, None)) * sizes
    ).sum(axis=1)
    expected = np.diff(cumulative, prepend=0.0)
    actual = [0] * weeks
    for day, count in summary.repeat_days:
        if day <= week_ends[-1]:
            actual[(day - start).days // 7] += count
    holdout_days = (data_end - calibration_end).days
    holdout: dict[str, Any] = {"days": holdout_days}
    if holdout_days > 0:
        conditional = maths.expected_purchases(
            bgnbd, holdout_days / 7.0, summary.frequency, summary.recency, summary.age
        )
        after = sum(count for day, count in summary.repeat_days if day > calibration_end)
        holdout.update(
            {
                "end": data_end.isoformat(),
                "actual": after,
                "expected": round(float(np.nansum(conditional)), 2),
            }
        )
    return {
        "week_ends": [day.isoformat() for day in week_ends],
        "actual": actual,
        # A non-finite value (an overflowing term) is a gap in the chart, not invalid JSON.
        "expected": [round(float(value), 3) if np.isfinite(value) else None for value in expected],
        "calibration_weeks": sum(1 for day in week_ends if day <= calibration_end),
        "holdout": holdout,
    }


def prediction_fit(
    *,
    calibration_end: dt.date,
    segment: Segment | None = None,
    started_by: User | None = None,
    trigger: str = PredictionRun.Trigger.COMMAND,
    today: dt.date | None = None,
) -> PredictionRun:
    """Fit BG/NBD and Gamma-Gamma on the orders up to `calibration_end` (the last day included).

    Refuses a calibration end in the future or before the first order (PredictionInputError,
    nothing stored). Too few customers or no convergence → a failed run with the reason; the
    previous succeeded run stays in use.
    """
    first = _check_calibration_end(
        calibration_end=calibration_end,
        segment=segment,
        today=today or timezone.localdate(),
    )
    run = PredictionRun.objects.create(
        calibration_end=calibration_end,
        segment=segment,
        data_start=first,
        trigger=trigger,
        started_by=started_by,
    )
    clock = time.perf_counter()
    segment_id = segment.pk if segment else None
    try:
        # Followed past the calibration end to the last order: the holdout, when there is one.
        data_end = max(last_transaction_day() or calibration_end, calibration_end)
        summary = purchase_summary(
            as_of=calibration_end, segment_id=segment_id, follow_until=data_end
        )
        repeat = summary.frequency > 0
        run.customers, run.repeat_customers = len(summary), int(repeat.sum())
        _require_enough(run.customers, run.repeat_customers, what="BG/NBD")
        bgnbd = maths.bgnbd_fit(summary.frequency, summary.recency, summary.age)
        spends = repeat & (summary.repeat_mean_value > 0)
        zero_spend = int((repeat & ~spends).sum())
        if zero_spend:
            run.exclusions["zero_value_repeat_customers"] = {
                "count": zero_spend,
                "reason": _(
                    "Repeat buyers whose repeat purchases are worth 0 are left out of the spend "
                    "model (Gamma-Gamma needs a positive mean value)."
                ),
            }
        run.value_customers = int(spends.sum())
        _require_enough(run.customers, run.value_customers, what="Gamma-Gamma")
        spend = maths.gamma_gamma_fit(summary.frequency[spends], summary.repeat_mean_value[spends])
        if spend.q <= 1:
            raise maths.ModelNotConverged(
                _("Gamma-Gamma q = %(q).3f ≤ 1: the mean spend per purchase is not finite.")
                % {"q": spend.q}
            )
        run.tracking = _tracking(
            bgnbd=bgnbd, summary=summary, calibration_end=calibration_end, data_end=data_end
        )
    except (InsufficientData, maths.ModelNotConverged) as exc:
        run.status = PredictionRun.Status.FAILED
        run.error = str(exc)
    else:
        run.status = PredictionRun.Status.SUCCEEDED
        run.r, run.alpha, run.a, run.b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
        run.log_likelihood = bgnbd.log_likelihood
        run.p, run.q, run.v = spend.p, spend.q, spend.v
        run.gamma_gamma_log_likelihood = spend.log_likelihood
    run.fit_seconds = round(time.perf_counter() - clock, 3)
    run.finished_at = timezone.now()
    run.save()
    return run


def prediction_fit_all(
    *, started_by: User | None = None, trigger: str = PredictionRun.Trigger.SCHEDULE
) -> list[PredictionRun]:
    """The organisation's fit at yesterday (the last whole day), then one per segment with at
    least PREDICTIONS_SEGMENT_MIN_CUSTOMERS customers with orders."""
    calibration_end = timezone.localdate() - dt.timedelta(days=1)
    runs = [prediction_fit(calibration_end=calibration_end, started_by=started_by, trigger=trigger)]
    summary = purchase_summary(as_of=calibration_end)
    segment_ids, sizes = np.unique(summary.segment_ids, return_counts=True)
    large = [
        int(segment_id)
        for segment_id, size in zip(segment_ids, sizes, strict=True)
        if segment_id >= 0 and size >= settings.PREDICTIONS_SEGMENT_MIN_CUSTOMERS
    ]
    for segment in Segment.objects.filter(pk__in=large).order_by("pk"):
        runs.append(
            prediction_fit(
                calibration_end=calibration_end,
                segment=segment,
                started_by=started_by,
                trigger=trigger,
            )
        )
    return runs


def _fitted(value: float | None) -> float:
    if value is None:
        raise ValueError("a run without fitted parameters cannot score")
    return value


def run_parameters(run: PredictionRun) -> tuple[maths.BgNbdParameters, maths.GammaGammaParameters]:
    """A succeeded run's parameters as the maths module takes them."""
    bgnbd = maths.BgNbdParameters(
        r=_fitted(run.r),
        alpha=_fitted(run.alpha),
        a=_fitted(run.a),
        b=_fitted(run.b),
        log_likelihood=_fitted(run.log_likelihood),
    )
    spend = maths.GammaGammaParameters(
        p=_fitted(run.p),
        q=_fitted(run.q),
        v=_fitted(run.v),
        log_likelihood=_fitted(run.gamma_gamma_log_likelihood),
    )
    return bgnbd, spend


def _scores(
    run: PredictionRun, summary: PurchaseSummary, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bgnbd, spend = run_parameters(run)
    x, t_x, age = summary.frequency[mask], summary.recency[mask], summary.age[mask]
    p_alive = maths.probability_alive(bgnbd, x, t_x, age)
    purchases = maths.expected_purchases(bgnbd, EXPECTED_PURCHASES_DAYS / 7.0, x, t_x, age)
    value = maths.expected_order_value(spend, x, summary.repeat_mean_value[mask])
    clv = maths.predictive_clv(
        bgnbd,
        value,
        x,
        t_x,
        age,
        months=CLV_MONTHS,
        monthly_discount_rate=settings.PREDICTIONS_MONTHLY_DISCOUNT_RATE,
    )
    return p_alive, purchases, value, clv


def _decimals(values: np.ndarray, places: int, upper: float | None = None) -> list[Decimal]:
    # A non-finite value (an overflowing hypergeometric term) is stored as 0, not as NaN.
    clean = np.clip(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0), 0, upper)
    return [Decimal(f"{value:.{places}f}") for value in clean]


@transaction.atomic
def prediction_score(*, as_of: dt.date | None = None) -> int:
    """Score every customer with a transaction by `as_of` (default today) with the runs in use:
    the customer's segment's own run where there is one, else the organisation's.

    Replaces the stored predictions (customers without orders by `as_of` lose theirs); returns
    the number of customers scored.
    """
    as_of = as_of or timezone.localdate()
    runs = runs_in_use()
    organisation = next((run for run in runs if run.segment_id is None), None)
    if organisation is None:
        raise PredictionUnavailable(
            _("No model has been fitted yet: run `manage.py predict fit` first.")
        )
    summary = purchase_summary(as_of=as_of)
    count = len(summary)
    run_of = np.full(count, organisation.pk, dtype=np.int64)
    for run in runs:
        if run.segment_id is not None:
            run_of[summary.segment_ids == run.segment_id] = run.pk
    p_alive = np.zeros(count)
    purchases = np.zeros(count)
    value = np.zeros(count)
    clv = np.zeros(count)
    for run in runs:
        mask = run_of == run.pk
        if mask.any():
            p_alive[mask], purchases[mask], value[mask], clv[mask] = _scores(run, summary, mask)
    scored_at = timezone.now()
    rows = zip(
        summary.customer_ids.tolist(),
        run_of.tolist(),
        [as_of] * count,
        [scored_at] * count,
        (int(frequency) + 1 for frequency in summary.frequency.tolist()),
        summary.last_day.tolist(),
        _decimals(p_alive, 4, 1.0),
        _decimals(purchases, 4),
        _decimals(value, 2),
        _decimals(clv, 2),
        strict=True,
    )
    # Every score is replaced in this transaction; readers see the previous ones until commit.
    CustomerPrediction.objects.all().delete()
    _insert_predictions(rows)
    return count


PREDICTION_COLUMNS = (
    "customer_id",
    "run_id",
    "as_of",
    "scored_at",
    "transactions",
    "last_purchase_on",
    "p_alive",
    "expected_purchases_90d",
    "expected_order_value",
    "predicted_clv",
)


def _insert_predictions(rows: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY (100k rows in about a second; an INSERT … ON CONFLICT of the same rows
    took half a minute, mostly preparing values). Elsewhere: bulk_create in batches."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(CustomerPrediction._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(column) for column in PREDICTION_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    batch: list[CustomerPrediction] = []
    for row in rows:
        batch.append(CustomerPrediction(**dict(zip(PREDICTION_COLUMNS, row, strict=True))))
        if len(batch) >= SCORE_BATCH:
            CustomerPrediction.objects.bulk_create(batch)
            batch.clear()
    CustomerPrediction.objects.bulk_create(batch)


def prediction_retention_case_open(*, customer: Customer, owner: User) -> RetentionCase:
    """One click from the at-risk list: a retention case stating what the model said.

    An open case of the customer is returned instead of opening a second one.
    """
    existing = (
        RetentionCase.objects.filter(customer=customer, status=RetentionCase.Status.OPEN)
        .order_by("-opened_at", "-id")
        .first()
    )
    if existing is not None:
        return existing
    prediction = CustomerPrediction.objects.filter(customer=customer).first()
    reason = _("Predicted at risk")
    if prediction is not None:
        reason = _("Predicted at risk: %(alive)s %% likely still active, CLV %(clv)s") % {
            "alive": round(prediction.p_alive * 100),
            "clv": prediction.predicted_clv,
        }
    return retention_case_open(customer=customer, owner=owner, reason=reason[:200])

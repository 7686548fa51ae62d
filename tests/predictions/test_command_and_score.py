"""`manage.py predict` (bad input, JSON shape, score) and what scoring stores."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management.base import CommandError
from django.utils import timezone

from predictions.models import CustomerPrediction, PredictionRun
from predictions.services import PredictionUnavailable, prediction_score
from tests.customers.factories import CustomerFactory, SegmentFactory
from tests.predictions.conftest import AS_OF, buy, simulate_buyers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calibration-end", "2026-13-01"], "must be a date YYYY-MM-DD"),
        (["--calibration-end", "2026-01-01", "--segment", "nope"], "Unknown segment 'nope'"),
        (["--calibration-end", "2024-01-01"], "before the first order (2025-01-06)"),
    ],
)
def test_fit_refuses_bad_input_before_storing_anything(run_predict, args, message):
    buy(CustomerFactory.create(), dt.date(2025, 1, 6))

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_predict("fit", *args)
    assert not PredictionRun.objects.exists()


def test_fit_refuses_a_future_calibration_end(run_predict):
    buy(CustomerFactory.create(), dt.date(2025, 1, 6))
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    with pytest.raises(CommandError, match="is in the future"):
        run_predict("fit", "--calibration-end", tomorrow)


def test_a_failed_fit_exits_with_its_reason(run_predict, settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 100
    buy(CustomerFactory.create(), dt.date(2025, 1, 6), dt.date(2025, 2, 6))

    with pytest.raises(CommandError, match=r"Fit failed \(run \d+, not used\): Too few customers"):
        run_predict("fit", "--calibration-end", "2025-06-30")
    assert PredictionRun.objects.get().status == PredictionRun.Status.FAILED


def test_fit_prints_the_json_shape_and_score_scores_everyone(run_predict, settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 30
    settings.PREDICTIONS_MIN_REPEAT_CUSTOMERS = 10
    end = dt.date(2025, 9, 28)
    histories = simulate_buyers(150, seed=17, start=dt.date(2025, 1, 6), end=end)
    CustomerFactory.create()  # no orders: no prediction

    figures = json.loads(
        run_predict("fit", "--calibration-end", end.isoformat(), "--format", "json")
    )

    assert set(figures) == {"bgnbd", "gamma_gamma", "customers", "repeat_customers"}
    assert set(figures["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(figures["gamma_gamma"]) == {"p", "q", "v"}
    assert figures["customers"] == 150
    assert figures["repeat_customers"] == sum(1 for days in histories if len(set(days)) > 1)

    assert run_predict("score", "--as-of", end.isoformat()).strip() == "Scored 150 customers."
    assert CustomerPrediction.objects.count() == 150


def test_score_without_a_fitted_model_is_refused(run_predict):
    with pytest.raises(CommandError, match="No model has been fitted yet"):
        run_predict("score")
    with pytest.raises(PredictionUnavailable):
        prediction_score(as_of=AS_OF)


def test_scoring_stores_the_models_figures_and_replaces_the_previous_scores(published_run):
    one_timer = CustomerFactory.create()
    buy(one_timer, dt.date(2026, 6, 2), total="50.00")
    regular = CustomerFactory.create()
    buy(regular, dt.date(2026, 4, 7), dt.date(2026, 5, 5), dt.date(2026, 6, 2), total="40.00")
    gone = CustomerFactory.create()
    buy(gone, dt.date(2026, 7, 1))  # after AS_OF: not scored
    CustomerPrediction.objects.create(
        customer=gone,
        run=published_run,
        as_of=dt.date(2026, 6, 1),
        scored_at=timezone.now(),
        transactions=1,
        last_purchase_on=dt.date(2026, 5, 1),
        p_alive=Decimal("1"),
        expected_purchases_90d=Decimal("1"),
        expected_order_value=Decimal("1"),
        predicted_clv=Decimal("1"),
    )

    assert prediction_score(as_of=AS_OF) == 2

    single = CustomerPrediction.objects.get(customer=one_timer)
    # No repeat purchase: P(alive) = 1, and the expected order value is the population mean
    # p·v/(q−1) = 6.25 × 15.44 / 2.74 = 35.22.
    assert single.p_alive == Decimal("1.0000")
    assert single.expected_order_value == Decimal("35.22")
    assert single.transactions == 1
    assert single.run == published_run
    twice = CustomerPrediction.objects.get(customer=regular)
    assert twice.transactions == 3
    assert twice.last_purchase_on == dt.date(2026, 6, 2)
    assert twice.expected_purchases_90d > single.expected_purchases_90d
    assert not CustomerPrediction.objects.filter(customer=gone).exists()


def test_a_segment_with_its_own_run_is_scored_with_it(published_run):
    smb = SegmentFactory.create(code="smb")
    segment_run = PredictionRun.objects.create(
        status=PredictionRun.Status.SUCCEEDED,
        segment=smb,
        calibration_end=AS_OF,
        r=1.0,
        alpha=2.0,
        a=0.5,
        b=3.0,
        log_likelihood=-10.0,
        p=5.0,
        q=3.0,
        v=20.0,
        gamma_gamma_log_likelihood=-5.0,
    )
    PredictionRun.objects.create(  # a later failed run of the segment is never used
        status=PredictionRun.Status.FAILED, segment=smb, calibration_end=AS_OF, error="x"
    )
    in_segment = CustomerFactory.create(segment=smb)
    elsewhere = CustomerFactory.create()
    for customer in (in_segment, elsewhere):
        buy(customer, dt.date(2026, 6, 2))

    prediction_score(as_of=AS_OF)

    assert CustomerPrediction.objects.get(customer=in_segment).run == segment_run
    assert CustomerPrediction.objects.get(customer=elsewhere).run == published_run
    # One-time buyers: the population mean value p·v/(q−1) of each run: 5 × 20 / 2 = 50.00.
    assert CustomerPrediction.objects.get(customer=in_segment).expected_order_value == Decimal(
        "50.00"
    )

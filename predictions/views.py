"""Prediction pages: the model page (managers), its tracking chart, and the at-risk list."""

from __future__ import annotations

import json
from typing import Any

from chartjs.views.lines import BaseLineChartView
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.roles import MANAGER, SALES_REP, is_manager
from crm.views import ManagerRequiredMixin, manager_required, role_required
from customers.models import Customer
from predictions import selectors
from predictions.models import PredictionRun
from predictions.services import prediction_retention_case_open
from predictions.tasks import refresh_predictions

AT_RISK_LIMIT = 50
RECENT_RUNS = 20


@manager_required
def model_page(request: HttpRequest) -> HttpResponse:
    """The runs in use with their parameters, the recent runs (failed ones with their reason)
    and the calibration/holdout chart of the organisation's run."""
    in_use = sorted(
        selectors.runs_in_use(), key=lambda run: (run.segment_id is not None, run.segment_id or 0)
    )
    organisation = next((run for run in in_use if run.segment_id is None), None)
    return render(
        request,
        "predictions/model.html",
        {
            "in_use": in_use,
            "organisation": organisation,
            "runs": list(selectors.run_list()[:RECENT_RUNS]),
            "threshold_percent": round(selectors.at_risk_threshold() * 100),
        },
    )


@require_POST
@manager_required
def fit_now(request: HttpRequest) -> HttpResponse:
    """Refit and rescore on demand, in the background (the weekly task, for this user)."""
    user_id = request.user.pk
    transaction.on_commit(lambda: refresh_predictions.delay(user_id))
    messages.success(request, _("The models are being refitted; the page shows the new run."))
    return redirect("predictions:model")


class ChartEncoder(DjangoJSONEncoder):
    """Chart.js plots numbers: the stored figures are floats already, dates become ISO text."""


class RunChartView(ManagerRequiredMixin, BaseLineChartView):
    """Chart.js `{labels, datasets}`: actual and expected repeat transactions per week of a run,
    from its first transaction through the calibration period into the holdout."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.run = get_object_or_404(
            PredictionRun, pk=kwargs["pk"], status=PredictionRun.Status.SUCCEEDED
        )
        if not self.run.tracking:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "labels": self.get_labels(),
            "datasets": self.get_datasets(),
            "calibrationWeeks": self.run.tracking["calibration_weeks"],
            "calibrationEnd": self.run.calibration_end,
        }

    def get_labels(self) -> list[str]:
        return list(self.run.tracking["week_ends"])

    def get_providers(self) -> list[str]:
        return [_("Actual repeat purchases"), _("Expected (BG/NBD)")]

    def get_data(self) -> list[list[Any]]:
        return [self.run.tracking["actual"], self.run.tracking["expected"]]

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rgb = ", ".join(str(part) for part in color)
        return {
            "borderColor": f"rgba({rgb}, 1)",
            "backgroundColor": f"rgba({rgb}, 0.3)",
            "borderWidth": 2,
            "pointRadius": 0,
            "borderDash": [6, 4] if index == 1 else [],
            "fill": False,
        }

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return json.dumps(context, cls=ChartEncoder, allow_nan=False)


@role_required(SALES_REP, MANAGER)
def at_risk(request: HttpRequest) -> HttpResponse:
    """High predicted value × low P(alive): a rep sees their own customers, a manager every
    customer they may see; the most valuable first."""
    owner_id = None if is_manager(request.user) else request.user.pk
    predictions = list(
        selectors.at_risk_predictions(user=request.user, owner_id=owner_id)[:AT_RISK_LIMIT]
    )
    return render(
        request,
        "predictions/at_risk.html",
        {
            "predictions": predictions,
            "limit": AT_RISK_LIMIT,
            "threshold_percent": round(selectors.at_risk_threshold() * 100),
            "scope_is_own": owner_id is not None,
        },
    )


@require_POST
@role_required(SALES_REP, MANAGER)
def at_risk_case_open(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """One click: open a retention case (or find the open one) for a customer the user sees."""
    try:
        customer = selectors.visible_customer(user=request.user, customer_id=customer_pk)
    except Customer.DoesNotExist:
        raise Http404 from None
    case = prediction_retention_case_open(customer=customer, owner=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        _("Retention case #%(case)s is open for %(customer)s.")
        % {"case": case.pk, "customer": customer.name},
    )
    return redirect("predictions:at_risk")

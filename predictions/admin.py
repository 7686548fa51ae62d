"""Admin for predictions: read-only — runs are made by `predict fit`, scores by `predict score`."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from predictions.models import CustomerPrediction, PredictionRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PredictionRun)
class PredictionRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "segment",
        "calibration_end",
        "status",
        "customers",
        "repeat_customers",
        "log_likelihood",
        "fit_seconds",
        "trigger",
    )
    list_filter = ("status", "segment", "trigger")


@admin.register(CustomerPrediction)
class CustomerPredictionAdmin(ReadOnlyAdmin):
    list_display = (
        "customer",
        "p_alive",
        "expected_purchases_90d",
        "expected_order_value",
        "predicted_clv",
        "as_of",
    )
    list_select_related = ("customer",)
    search_fields = ("customer__name",)
    raw_id_fields = ("customer", "run")

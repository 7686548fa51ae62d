"""Data-quality KPIs: completeness of customer records and probable duplicates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.definitions.base import KpiContext, KpiDefinition, RatioKpi

COMPLETE_Q = (~Q(email="") | ~Q(phone="")) & Q(owner__isnull=False) & Q(segment__isnull=False)


def _duplicate_customers(queryset: QuerySet[Customer], key: Any) -> int:
    """Customers sharing a normalised key with at least one other customer."""
    groups = (
        queryset.annotate(norm=key)
        .exclude(norm="")
        .order_by()
        .values("norm")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    return int(groups.aggregate(total=Sum("n"))["total"] or 0)


class DataCompleteness(RatioKpi):
    """data_completeness = customers with (email or phone), owner and segment set ÷ customers."""

    key = "data_completeness"
    name = _("Data completeness")
    description = _("Share of customer records with contact details, an owner and a segment.")
    stage = "quality"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "team", "owner")
    dimension_paths = {"all": None, "team": "team", "owner": "owner"}
    formula = _(
        "customers created before P.end with (email or phone), owner and segment set ÷ customers "
        "created before P.end; details (all): customers sharing a normalised e-mail / phone"
    )
    period_rule = _("A point-in-time figure over customers created before P.end (current values).")
    edge_cases = _(
        "E-mail normalised as lower(trim()); phone with spaces, dashes, dots, slashes and "
        "parentheses removed."
    )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        # A merged customer lives on in its survivor; counting both would count a duplicate.
        return Customer.objects.filter(created_at__lt=ctx.end, merged_into__isnull=True)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(COMPLETE_Q)

    def extra_details(
        self, ctx: KpiContext, dimension: str, path: str | None
    ) -> dict[str, dict[str, Any]]:
        if dimension != "all":
            return {}
        customers = self.denominator_queryset(ctx)
        return {
            "": {
                # E-mail and phone are encrypted; their blind indexes hash the normalised values
                # (crm/encryption/ciphers.py), so equal digests are equal normalised values.
                "duplicate_email_customers": _duplicate_customers(customers, F("email_bidx")),
                "duplicate_phone_customers": _duplicate_customers(customers, F("phone_bidx")),
            }
        }


DEFINITIONS: tuple[KpiDefinition, ...] = (DataCompleteness(),)

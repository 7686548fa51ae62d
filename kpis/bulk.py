"""Bulk actions on the customers of one cell of the segment movement table (engine: crm.bulk).

The selection is the cell's drill-down: the customers the user may see, within their KPI scope,
whose stored RFM segment was X at the end of one period and Y at the end of the other. Each
customer goes through the customer list's own action (customers.bulk), so its service and its
refusals are the same as there.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import gettext_lazy

from crm.bulk import BulkKind, bulk_kind_register
from crm.roles import MANAGER, SALES_REP
from customers.bulk import OPEN_RETENTION_CASE
from customers.models import Customer
from customers.views import EXPORT_COLUMNS
from kpis.periods import PeriodError
from kpis.segments import SEGMENT_ORDER, movement_customers, movement_population
from kpis.selectors import kpi_scope_for
from kpis.views.segments import SCOPE_KPI, movement_filters


def movement_cell_selection(user: Any, query: QueryDict) -> QuerySet[Customer]:
    """The customers of the cell `query` names (the drill-down's query string); none when the
    cell or its filter is outside the user's KPI scope (the drill-down answers 404 there)."""
    scope = kpi_scope_for(user)
    if not scope.covers(SCOPE_KPI):
        return Customer.objects.none()
    try:
        filters = movement_filters(query, scope, strict=True)
    except (Http404, PeriodError):
        return Customer.objects.none()
    source_segment = query.get("source_segment", "")
    target_segment = query.get("target_segment", "")
    if source_segment not in SEGMENT_ORDER or target_segment not in SEGMENT_ORDER:
        return Customer.objects.none()
    return movement_customers(
        movement_population(user, dimension=filters.dimension, value=filters.value),
        granularity=filters.granularity,
        source=filters.source,
        target=filters.target,
        source_segment=source_segment,
        target_segment=target_segment,
    )


bulk_kind_register(
    BulkKind(
        key="segment_movement",
        label=gettext_lazy("Segment movement"),
        roles=(SALES_REP, MANAGER),
        list_url_name="kpis:segment_movement_customers",
        selection=movement_cell_selection,
        export_columns=EXPORT_COLUMNS,
        export_filename="segment-movement",
        actions=(OPEN_RETENTION_CASE,),
    )
)

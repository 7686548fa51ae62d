"""Who may see the records behind a KPI number.

Each record type a definition's drill-down lists (`KpiDefinition.record_models`) is narrowed by
its own app's visibility selector; `kpis.selectors.drilldown_records_visible_to` applies it for
the pages and the API alike. A record type missing here shows nothing, to admins too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet

from customers.models import Customer
from customers.selectors import customers_visible_to
from predictions.models import CustomerPrediction
from predictions.selectors import predictions_visible_to
from sales.models import Activity, Lead, Opportunity, Order, OrderLine, RetentionCase
from sales.selectors import (
    activities_visible_to,
    leads_visible_to,
    opportunities_visible_to,
    order_lines_visible_to,
    orders_visible_to,
    retention_cases_visible_to,
)
from support.models import Ticket
from support.selectors import tickets_visible_to
from surveys.models import SurveyInvitation, SurveyResponse
from surveys.selectors import invitations_visible_to, responses_visible_to

DRILLDOWN_VISIBILITY: dict[type[Model], Callable[[Any], QuerySet[Any]]] = {
    Customer: customers_visible_to,
    Lead: leads_visible_to,
    Opportunity: opportunities_visible_to,
    Order: orders_visible_to,
    OrderLine: order_lines_visible_to,
    Activity: activities_visible_to,
    RetentionCase: retention_cases_visible_to,
    Ticket: tickets_visible_to,
    SurveyResponse: responses_visible_to,
    SurveyInvitation: invitations_visible_to,
    CustomerPrediction: predictions_visible_to,
}

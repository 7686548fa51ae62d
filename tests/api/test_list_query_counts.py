"""A list page costs the same number of queries for 3 rows as for 25 (no query per row)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.models import IndexSnapshot, KpiSnapshot, Target, WeightVersion
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    MarketingSpendFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    RetentionCaseFactory,
    SalesCostFactory,
)
from tests.support.factories import SLAPolicyFactory, TicketFactory
from tests.surveys.factories import SurveyInvitationFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 1, 1)


def _order_with_lines(crew):
    order = OrderFactory(customer=CustomerFactory(team=crew.team_a))
    OrderLineFactory(order=order)
    OrderLineFactory(order=order)


def _opportunity_with_history(crew):
    deal = OpportunityFactory(team=crew.team_a)
    deal.stage_changes.create(to_stage=deal.stage)


def _kpi_snapshot(crew):
    start = START + dt.timedelta(days=KpiSnapshot.objects.count())
    KpiSnapshot.objects.create(
        kpi="revenue", granularity="day", period_start=start,
        period_end=start + dt.timedelta(days=1), value=Decimal(1),
    )  # fmt: skip


def _index_snapshot(crew):
    start = START + dt.timedelta(days=IndexSnapshot.objects.count())
    snapshot = IndexSnapshot.objects.create(
        granularity="day", period_start=start, period_end=start + dt.timedelta(days=1),
        version=WeightVersion.objects.filter(status="active").get(), coverage=Decimal(0),
    )  # fmt: skip
    snapshot.contributions.create(
        kpi="revenue", group="enhancement", weight=1, effective_share=0, contribution=0
    )


def _target(crew):
    start = dt.date(2020 + Target.objects.count(), 1, 1)
    Target.objects.create(
        kpi="revenue", granularity="year", period_start=start, kind="absolute", amount=1
    )


MAKERS = {
    "kpis/snapshots": _kpi_snapshot,
    "kpis/index": _index_snapshot,
    "kpis/targets": _target,
    "customers": lambda crew: CustomerFactory(team=crew.team_a),
    "contacts": lambda crew: ContactFactory(customer=CustomerFactory(team=crew.team_a)),
    "leads": lambda crew: LeadFactory(team=crew.team_a),
    "opportunities": _opportunity_with_history,
    "orders": _order_with_lines,
    "activities": lambda crew: ActivityFactory(team=crew.team_a, owner=crew.admin),
    "products": lambda crew: ProductFactory(),
    "marketing-spend": lambda crew: MarketingSpendFactory(
        period_start=START, period_end=START + dt.timedelta(days=30), amount=Decimal(1)
    ),
    "sales-costs": lambda crew: SalesCostFactory(
        period_start=START, period_end=START + dt.timedelta(days=30), team=crew.team_a
    ),
    "retention-cases": lambda crew: RetentionCaseFactory(
        customer=CustomerFactory(team=crew.team_a)
    ),
    "tickets": lambda crew: TicketFactory(team=crew.team_a),
    "sla-policies": lambda crew: SLAPolicyFactory(),
    "survey-invitations": lambda crew: SurveyInvitationFactory(
        customer=CustomerFactory(team=crew.team_a)
    ),
    "survey-responses": lambda crew: SurveyResponseFactory(
        customer=CustomerFactory(team=crew.team_a)
    ),
}


def _queries_for_list(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured), response.json()["count"]


@pytest.mark.parametrize("resource", sorted(MAKERS))
def test_list_query_count_is_bounded(crew, client_as, resource, django_assert_max_num_queries):
    client = client_as(crew.admin)
    url = f"/api/v1/{resource}/"
    for _ in range(3):
        MAKERS[resource](crew)
    few_queries, few_rows = _queries_for_list(client, url)
    for _ in range(22):
        MAKERS[resource](crew)

    with django_assert_max_num_queries(few_queries):
        _, many_rows = _queries_for_list(client, url)

    assert many_rows > few_rows

"""A list page costs the same number of queries for 3 rows as for 25 (no query per row)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.models import Alert, AlertRule, IndexSnapshot, KpiSnapshot, Target, WeightVersion
from kpis.services import weight_version_create_draft
from sales.models import OpportunityStageChange
from tests.customers.factories import (
    ChannelFactory,
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
)
from tests.sales.factories import (
    ActivityFactory,
    CampaignFactory,
    LeadFactory,
    MarketingSpendFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    PipelineStageFactory,
    ProductFactory,
    ProductLineFactory,
    RetentionCaseFactory,
    SalesCostFactory,
)
from tests.support.factories import (
    SLAPolicyFactory,
    TicketFactory,
    TicketMessageFactory,
    TicketStatusChangeFactory,
)
from tests.surveys.factories import (
    SurveyFactory,
    SurveyInvitationFactory,
    SurveyResponseFactory,
)

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


def _team(crew):
    team = TeamFactory(manager=crew.manager)
    team.members.add(crew.rep, crew.agent)


def _alert(crew):
    rule = AlertRule.objects.create(
        name=f"Rule {AlertRule.objects.count()}", kpi="revenue", granularity="month",
        lower_threshold=1,
    )  # fmt: skip
    rule.recipients.add(crew.manager)
    Alert.objects.create(
        rule=rule, granularity="month", period_start=START, period_end=dt.date(2026, 2, 1),
        value=Decimal(0),
    )  # fmt: skip


def _alert_rule(crew):
    rule = AlertRule.objects.create(
        name=f"Rule {AlertRule.objects.count()}", kpi="revenue", granularity="month",
        lower_threshold=1,
    )  # fmt: skip
    rule.recipients.add(crew.manager, crew.admin)


MAKERS = {
    "kpis/alerts": _alert,
    "kpis/alert-rules": _alert_rule,
    # A draft copies every indicator and group row of the active version.
    "kpis/weight-versions": lambda crew: weight_version_create_draft(actor=crew.admin),
    "teams": _team,
    "channels": lambda crew: ChannelFactory(),
    "segments": lambda crew: SegmentFactory(),
    "pipeline-stages": lambda crew: PipelineStageFactory(),
    "product-lines": lambda crew: ProductLineFactory(),
    "campaigns": lambda crew: CampaignFactory(channel=ChannelFactory()),
    "surveys": lambda crew: SurveyFactory(),
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


def test_every_list_endpoint_is_counted():
    from tests.api.test_permission_matrix import RESOURCES

    # The catalogue is read from the code registry, not the database.
    assert set(RESOURCES) == set(MAKERS)


# Team-scoped lists cost the same for a manager (visibility subqueries) as for an admin.
SCOPED = ["customers", "contacts", "leads", "opportunities", "orders", "activities",
          "retention-cases", "tickets", "survey-invitations", "survey-responses"]  # fmt: skip


@pytest.mark.parametrize("resource", SCOPED)
def test_a_team_scoped_list_query_count_is_bounded(
    crew, client_as, resource, django_assert_max_num_queries
):
    client = client_as(crew.manager)
    url = f"/api/v1/{resource}/"
    for _ in range(3):
        MAKERS[resource](crew)
    few_queries, few_rows = _queries_for_list(client, url)
    for _ in range(22):
        MAKERS[resource](crew)

    with django_assert_max_num_queries(few_queries):
        _, many_rows = _queries_for_list(client, url)

    assert many_rows > few_rows


# --- lists nested under one record ---------------------------------------------------------------


def _ticket_messages(ticket, count):
    for _ in range(count):
        TicketMessageFactory(ticket=ticket)


def _ticket_history(ticket, count):
    for _ in range(count):
        TicketStatusChangeFactory(ticket=ticket)


def _stage_history(deal, count):
    for _ in range(count):
        OpportunityStageChange.objects.create(
            opportunity=deal, from_stage=deal.stage, to_stage=PipelineStageFactory()
        )


def _january_orders(snapshot, count):
    for _ in range(count):
        OrderFactory(ordered_at=dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC))


def _january_revenue(crew):
    return KpiSnapshot.objects.create(
        kpi="revenue", granularity="month", period_start=START,
        period_end=dt.date(2026, 2, 1), value=Decimal(1),
    )  # fmt: skip


def _ticket(crew):
    return TicketFactory(team=crew.team_a)


def _deal(crew):
    return OpportunityFactory(team=crew.team_a)


# name → (parent maker, resource, action, adds n rows under the parent)
NESTED = {
    "tickets/messages": (_ticket, "tickets", "messages", _ticket_messages),
    "tickets/status-history": (_ticket, "tickets", "status-history", _ticket_history),
    "opportunities/stage-history": (_deal, "opportunities", "stage-history", _stage_history),
    "kpis/snapshots/drilldown": (_january_revenue, "kpis/snapshots", "drilldown", _january_orders),
}


def _row_count(response) -> int:
    body = response.json()
    return body["count"] if isinstance(body, dict) else len(body)


@pytest.mark.parametrize("nested", sorted(NESTED))
def test_nested_list_query_count_is_bounded(crew, client_as, nested, django_assert_max_num_queries):
    make_parent, resource, action, add_rows = NESTED[nested]
    parent = make_parent(crew)
    client = client_as(crew.admin)
    url = f"/api/v1/{resource}/{parent.pk}/{action}/"
    add_rows(parent, 3)
    with CaptureQueriesContext(connection) as few:
        first = client.get(url)
    add_rows(parent, 22)

    with django_assert_max_num_queries(len(few)):
        second = client.get(url)

    assert first.status_code == second.status_code == 200, second.content
    assert _row_count(second) == _row_count(first) + 22

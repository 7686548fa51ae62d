"""Who sees the records behind a KPI number: one rule for the drill-down page and the API
(kpis.selectors.drilldown_records_visible_to), and a visibility selector for every record type
a definition's drill-down can return."""

# mypy: disable-error-code="arg-type,attr-defined,misc,return-value"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.roles import ADMIN, MANAGER, SALES_REP
from customers.models import Team
from kpis.definitions import registry
from kpis.definitions.base import KpiContext
from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from kpis.periods import GRANULARITIES, period_bounds
from kpis.selectors import DRILLDOWN_VISIBILITY, drilldown_records_visible_to
from predictions.models import CustomerPrediction, PredictionRun
from sales.models import OrderLine, RetentionCase
from surveys.models import SurveyInvitation
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OrderFactory, OrderLineFactory, RetentionCaseFactory
from tests.surveys.factories import SurveyInvitationFactory

pytestmark = pytest.mark.django_db

MAY = dt.date(2026, 5, 1)
IN_MAY = dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC)


@dataclass
class Crew:
    team_a: Team
    team_b: Team
    rep: Any  # a sales rep of team A
    rep_b: Any  # a sales rep of team B
    manager: Any  # the manager of team A
    admin: Any


@pytest.fixture
def crew() -> Crew:
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    rep = UserFactory(username="rep_a", role=SALES_REP)
    rep_b = UserFactory(username="rep_b", role=SALES_REP)
    manager = UserFactory(username="manager_a", role=MANAGER)
    admin = UserFactory(username="boss", role=ADMIN)
    team_a.members.add(rep)
    team_b.members.add(rep_b)
    team_a.manager = manager
    team_a.save()
    return Crew(team_a, team_b, rep, rep_b, manager, admin)


def closed_case(customer: Any, owner: Any, cost: str) -> RetentionCase:
    return RetentionCaseFactory(
        customer=customer,
        owner=owner,
        cost=Decimal(cost),
        status=RetentionCase.Status.CLOSED,
        outcome=RetentionCase.Outcome.RETAINED,
        opened_at=IN_MAY - dt.timedelta(days=5),
        closed_at=IN_MAY,
    )


def retention_cases(crew: Crew) -> tuple[Model, Model, tuple[str, str]]:
    """Two retained cases closed in May, both worked by the team-A rep (the case owner), one on
    a team-A customer and one on a team-B customer: the rep's `owner` cell holds both, and only
    the customer's visibility keeps the team-B case out."""
    ours = closed_case(CustomerFactory(team=crew.team_a, owner=crew.rep), crew.rep, "100.00")
    theirs = closed_case(CustomerFactory(team=crew.team_b, owner=crew.rep_b), crew.rep, "50.00")
    return ours, theirs, ("owner", str(crew.rep.pk))


def survey_invitations(crew: Crew) -> tuple[Model, Model, tuple[str, str]]:
    """One delivered invitation sent in May to a team-A customer and one to a team-B customer."""
    ours = SurveyInvitationFactory(customer=CustomerFactory(team=crew.team_a), sent_at=IN_MAY)
    theirs = SurveyInvitationFactory(customer=CustomerFactory(team=crew.team_b), sent_at=IN_MAY)
    return ours, theirs, ("team", str(crew.team_a.pk))


def predictions(crew: Crew) -> tuple[Model, Model, tuple[str, str]]:
    """Scores of a team-A customer of the rep and of a team-B customer still owned by the rep
    (moved to team B): both in the rep's `owner` cell (customer__owner); the rep owns both, the
    manager of team A may see only the first."""
    run = PredictionRun.objects.create(
        status=PredictionRun.Status.SUCCEEDED,
        calibration_end=dt.date(2026, 4, 30),
        data_start=dt.date(2025, 1, 1),
    )
    created = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

    def scored(team: Team) -> CustomerPrediction:
        customer = CustomerFactory(team=team, owner=crew.rep, created_at=created)
        return CustomerPrediction.objects.create(
            customer=customer,
            run=run,
            as_of=dt.date(2026, 4, 30),
            scored_at=timezone.now(),
            transactions=3,
            last_purchase_on=dt.date(2026, 1, 20),
            p_alive=Decimal("0.2000"),
            expected_purchases_90d=Decimal("0.5000"),
            expected_order_value=Decimal("80.00"),
            predicted_clv=Decimal("120.00"),
        )

    return scored(crew.team_a), scored(crew.team_b), ("owner", str(crew.rep.pk))


# (KPI, part whose records are listed, the records, the viewers expected to see only "ours")
CASES = [
    ("winback_rate", "denominator", retention_cases, ("rep", "manager")),
    ("retention_cost", "numerator", retention_cases, ("rep", "manager")),
    ("survey_response_rate", "denominator", survey_invitations, ("manager",)),
    ("predicted_clv", "numerator", predictions, ("manager",)),
    ("expected_purchases_90d", "numerator", predictions, ("manager",)),
    ("at_risk_value", "numerator", predictions, ("manager",)),
]


def web_ids(user: Any, key: str, part: str, cell: tuple[str, str]) -> list[int]:
    client = Client()
    client.force_login(user)
    dimension, value = cell
    params = {"granularity": "month", "period": MAY.isoformat(), "part": part}
    if dimension != "all":
        params[dimension] = value
    response = client.get(reverse("kpis:kpi_drilldown", kwargs={"key": key}), params)
    assert response.status_code == 200
    page = response.context["records_page"]
    return [] if page is None else sorted(record.pk for record in page.object_list)


def api_ids(user: Any, key: str, part: str, cell: tuple[str, str]) -> list[int]:
    dimension, value = cell
    snapshot = KpiSnapshot.objects.get(
        kpi=key, granularity="month", period_start=MAY, dimension=dimension, dimension_value=value
    )
    client = APIClient()
    client.force_authenticate(user=user)
    response = client.get(
        f"/api/v1/kpis/snapshots/{snapshot.pk}/drilldown/", {"part": part, "page_size": 50}
    )
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


@pytest.mark.parametrize(("key", "part", "make", "viewers"), CASES)
def test_a_team_a_user_sees_only_team_a_records_on_the_page_and_in_the_api(
    crew, key, part, make, viewers
):
    ours, theirs, cell = make(crew)
    compute_period(granularity="month", period_start=MAY, kpi_keys=[key])

    both = sorted([ours.pk, theirs.pk])
    # The company's number stands on both records: the admin sees 2, on the page and in the API.
    assert web_ids(crew.admin, key, part, ("all", "")) == both
    assert api_ids(crew.admin, key, part, ("all", "")) == both
    if cell[0] == "owner":
        # The team-B record is in the viewer's `owner` cell too (the admin sees 2 there), so
        # only the visibility rule keeps it from them.
        assert web_ids(crew.admin, key, part, cell) == both
    # A team-A viewer sees 1: the team-B customer's record is not theirs to see.
    for name in viewers:
        assert web_ids(getattr(crew, name), key, part, cell) == [ours.pk], name
    assert api_ids(crew.manager, key, part, cell) == [ours.pk]


def test_a_rep_has_no_cell_of_survey_invitations_and_sees_none_of_them(crew):
    # survey_response_rate is stored for the whole company, per survey kind and per team; a
    # rep's scope is their own `owner` cell, so the page lists no invitation at all.
    survey_invitations(crew)
    compute_period(granularity="month", period_start=MAY, kpi_keys=["survey_response_rate"])
    client = Client()
    client.force_login(crew.rep)

    response = client.get(
        reverse("kpis:kpi_drilldown", kwargs={"key": "survey_response_rate"}),
        {"granularity": "month", "period": MAY.isoformat(), "part": "denominator"},
    )

    assert response.status_code == 200
    assert response.context["records_page"] is None
    assert response.context["scope_unavailable"] is True


def drilldown_models() -> dict[type[Model], set[str]]:
    """Every model a definition's `records` returns, for each granularity, dimension and part."""
    found: dict[type[Model], set[str]] = {}
    now = timezone.now()
    for definition in registry.all():
        for granularity in GRANULARITIES:
            start, end = period_bounds(granularity, MAY)
            ctx = KpiContext.build(
                granularity=granularity, period_start=start, period_end=end, now=now
            )
            for dimension in definition.dimensions:
                value = "" if dimension == "all" else "1"
                for part in ("numerator", "denominator"):
                    records = definition.records(ctx, dimension, value, part)
                    if records is not None:
                        found.setdefault(records.model, set()).add(definition.key)
    return found


def test_every_drilldown_model_of_every_definition_has_a_visibility_selector():
    found = drilldown_models()

    missing = {model.__name__: sorted(keys) for model, keys in found.items()}
    for model in DRILLDOWN_VISIBILITY:
        missing.pop(model.__name__, None)
    assert missing == {}
    # The walk reaches the record types that once had no selector of their own.
    assert {RetentionCase, SurveyInvitation, CustomerPrediction, OrderLine} <= set(found)


def test_a_record_type_without_a_visibility_selector_shows_nothing_even_to_an_admin(crew):
    assert Team not in DRILLDOWN_VISIBILITY
    # 2 teams exist; neither the rep nor the admin gets a row of a type nobody has ruled on.
    assert Team.objects.count() == 2
    assert drilldown_records_visible_to(Team.objects.all(), crew.rep).count() == 0
    assert drilldown_records_visible_to(Team.objects.all(), crew.admin).count() == 0


def test_order_lines_follow_their_order(crew):
    ours = OrderLineFactory(
        order=OrderFactory(customer=CustomerFactory(team=crew.team_a), ordered_at=IN_MAY)
    )
    OrderLineFactory(
        order=OrderFactory(customer=CustomerFactory(team=crew.team_b), ordered_at=IN_MAY)
    )

    # 2 lines, 1 on a team-A customer's order → the rep sees 1, the admin 2.
    lines = OrderLine.objects.all()
    assert list(drilldown_records_visible_to(lines, crew.rep)) == [ours]
    assert drilldown_records_visible_to(lines, crew.admin).count() == 2

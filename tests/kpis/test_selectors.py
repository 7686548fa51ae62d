"""Snapshot reads and the drill-down list behind a number (same query as the number)."""

import datetime as dt

import pytest

from crm.roles import ADMIN, SALES_REP
from kpis.engine import compute_period
from kpis.selectors import (
    drilldown_records_visible_to,
    latest_snapshots,
    snapshot_drilldown,
    snapshot_list,
    snapshot_series,
)
from sales.models import RetentionCase
from surveys.models import SurveyInvitation
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.kpis.conftest import MARCH, NOW, buyer, customer, local
from tests.sales.factories import RetentionCaseFactory
from tests.surveys.factories import SurveyInvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]


@pytest.fixture
def churn_story():
    team = TeamFactory.create(name="T1")
    stayed = buyer(local(2026, 1, 10), local(2026, 3, 10), team=team)
    left = buyer(local(2025, 12, 15), team=team)
    other = buyer(local(2025, 12, 16))
    compute_period(granularity="month", period_start=MARCH, kpi_keys=["churn_rate"], now=NOW)
    return {"team": team, "stayed": stayed, "left": left, "other": other}


def test_drilldown_lists_the_records_behind_numerator_and_denominator(churn_story):
    churned = snapshot_drilldown(
        kpi="churn_rate", granularity="month", period_start=MARCH, part="numerator"
    )
    at_start = snapshot_drilldown(
        kpi="churn_rate", granularity="month", period_start=MARCH, part="denominator"
    )
    team_churned = snapshot_drilldown(
        kpi="churn_rate",
        granularity="month",
        period_start=MARCH,
        dimension="team",
        dimension_value=str(churn_story["team"].pk),
    )

    assert churned is not None
    assert at_start is not None
    assert team_churned is not None
    assert {c.pk for c in churned} == {churn_story["left"].pk, churn_story["other"].pk}
    assert at_start.count() == 3
    assert [c.pk for c in team_churned] == [churn_story["left"].pk]
    # the list has as many rows as the stored numerator
    stored = snapshot_series(kpi="churn_rate", granularity="month").get()
    assert stored.numerator == churned.count()


def test_drilldown_of_none_group_and_unknown_dimension(churn_story):
    no_team = snapshot_drilldown(
        kpi="churn_rate",
        granularity="month",
        period_start=MARCH,
        dimension="team",
        dimension_value="",
    )
    assert no_team is not None
    assert [c.pk for c in no_team] == [churn_story["other"].pk]
    with pytest.raises(KeyError, match="no dimension 'product_line'"):
        snapshot_drilldown(
            kpi="churn_rate", granularity="month", period_start=MARCH, dimension="product_line"
        )


def test_snapshot_reads(churn_story):
    customer(local(2026, 4, 3))
    compute_period(
        granularity="month", period_start=dt.date(2026, 4, 1), kpi_keys=["churn_rate"], now=NOW
    )

    series = snapshot_series(kpi="churn_rate", granularity="month")
    latest = latest_snapshots(granularity="month")
    teams = snapshot_list(granularity="month", dimension="team", end=dt.date(2026, 4, 1))

    assert [row.period_start for row in series] == [MARCH, dt.date(2026, 4, 1)]
    assert [(row.kpi, row.period_start) for row in latest] == [("churn_rate", dt.date(2026, 4, 1))]
    assert {row.dimension_label for row in teams} == {"T1", "(none)"}


# --- kpi_scope_for: what figures each user may see -------------------------------------------


def test_an_admin_and_a_manager_in_no_team_see_the_organisation():
    from kpis.selectors import kpi_scope_for
    from tests.customers.factories import UserFactory

    for user in (UserFactory(role="Admin"), UserFactory(role="Manager")):
        scope = kpi_scope_for(user)
        assert scope.is_organisation
        assert scope.allows("segment", "7")
        assert scope.default_cell == ("all", "")


def test_a_manager_sees_the_teams_they_manage_or_belong_to_and_their_people():
    from kpis.selectors import kpi_scope_for
    from tests.customers.factories import UserFactory

    manager = UserFactory(role="Manager")
    rep = UserFactory(role="Sales rep")
    stranger = UserFactory(role="Sales rep")
    managed = TeamFactory.create(name="B managed", manager=manager)
    joined = TeamFactory.create(name="A joined")
    other = TeamFactory.create(name="C other")
    managed.members.add(rep)
    joined.members.add(manager)
    other.members.add(stranger)

    scope = kpi_scope_for(manager)

    assert scope.values("team") == [str(joined.pk), str(managed.pk)]
    assert set(scope.values("owner") or []) == {str(manager.pk), str(rep.pk)}
    assert scope.default_cell == ("team", str(joined.pk))
    assert not scope.allows("team", str(other.pk))
    assert not scope.allows("owner", str(stranger.pk))
    assert not scope.allows("all", "")
    assert not scope.allows("segment", "1")
    assert scope.covers("revenue")


def test_a_rep_sees_themselves_and_an_agent_their_teams_service_figures():
    from kpis.selectors import kpi_scope_for
    from tests.customers.factories import UserFactory

    rep = UserFactory(role="Sales rep")
    agent = UserFactory(role="Support agent")
    team = TeamFactory.create(name="Helpdesk")
    team.members.add(rep, agent)

    rep_scope = kpi_scope_for(rep)
    agent_scope = kpi_scope_for(agent)

    assert rep_scope.dimensions == ("owner",)
    assert rep_scope.default_cell == ("owner", str(rep.pk))
    assert not rep_scope.allows("team", str(team.pk))
    assert agent_scope.default_cell == ("team", str(team.pk))
    assert agent_scope.covers("first_response_time")
    assert agent_scope.covers("csat")
    assert not agent_scope.covers("revenue")


def test_the_scope_is_read_once_per_user_object(django_assert_num_queries):
    from kpis.selectors import kpi_scope_for
    from tests.customers.factories import UserFactory

    manager = UserFactory(role="Manager")
    TeamFactory.create(name="Solo", manager=manager)

    with django_assert_num_queries(3):  # roles, teams, people
        first = kpi_scope_for(manager)
    with django_assert_num_queries(0):
        second = kpi_scope_for(manager)

    assert first is second


def test_a_manager_of_every_team_reads_the_organisation():
    from kpis.selectors import kpi_scope_for
    from tests.customers.factories import TeamFactory, UserFactory

    boss = UserFactory(role="Manager")
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    north.manager = boss
    north.save()

    # 1 of 2 teams: scoped to North's cell.
    assert kpi_scope_for(boss).values("team") == [str(north.pk)]
    south.manager = boss
    south.save()
    del boss._pulse_kpi_scope  # the scope is cached per request on the user object
    # 2 of 2 teams: the whole business.
    assert kpi_scope_for(boss).is_organisation


def test_drilldown_records_are_narrowed_by_the_record_types_own_visibility():
    """Retention cases and survey invitations (win-back, retention cost, response rate) are
    filtered like customers and orders, on the pages and in the API alike."""
    team_a, team_b = TeamFactory.create(name="A"), TeamFactory.create(name="B")
    rep = UserFactory.create(username="rep_a", role=SALES_REP)
    admin = UserFactory.create(username="boss", role=ADMIN)
    team_a.members.add(rep)
    ours, theirs = CustomerFactory.create(team=team_a), CustomerFactory.create(team=team_b)
    cases = [RetentionCaseFactory.create(customer=c) for c in (ours, theirs)]
    invitations = [SurveyInvitationFactory.create(customer=c) for c in (ours, theirs)]

    # 2 records of each type, 1 of them on a team-A customer → the rep sees 1, the admin 2.
    for records, mine in (
        (RetentionCase.objects.all(), cases[0]),
        (
            SurveyInvitation.objects.all(),
            invitations[0],
        ),
    ):
        assert list(drilldown_records_visible_to(records, rep)) == [mine]
        assert drilldown_records_visible_to(records, admin).count() == 2

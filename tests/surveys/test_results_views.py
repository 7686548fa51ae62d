# mypy: disable-error-code="arg-type,attr-defined,misc"
"""Survey results pages: the responses list (visibility, filters, comments, pagination, CSV)
and NPS / CSAT / response rate by team, agent, segment and channel read from KPI snapshots."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.models import KpiSnapshot
from surveys.models import SurveyKind
from surveys.views import RESPONSES_PAGE_SIZE
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
OCT = dt.date(2026, 10, 1)


@pytest.fixture
def teams():
    return TeamFactory(name="Helpdesk"), TeamFactory(name="Enterprise")


@pytest.fixture
def manager(teams):
    """Manages both teams, so sees their customers' answers."""
    user = UserFactory(username="boss", role="Manager")
    for team in teams:
        team.manager = user
        team.save(update_fields=["manager"])
    return user


@pytest.fixture
def admin():
    return UserFactory(username="root", role="Admin")


@pytest.fixture
def agent(teams):
    user = UserFactory(username="agent", role="Support agent")
    teams[0].members.add(user)
    return user


def login(client, user):
    client.force_login(user)
    return client


def nps_survey():
    return SurveyFactory(name="Relationship NPS", kind=SurveyKind.NPS)


def csat_survey():
    return SurveyFactory(name="Ticket CSAT", kind=SurveyKind.CSAT)


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["surveys:responses", "surveys:results"])
def test_sales_reps_get_403_and_anonymous_users_the_login_page(client, name):
    assert client.get(reverse(name)).status_code == 302
    login(client, UserFactory(role="Sales rep"))
    assert client.get(reverse(name)).status_code == 403


# --- responses list ----------------------------------------------------------------------------


def test_responses_list_shows_visible_responses_with_verbatim_comments(client, teams, agent):
    # given one answer from a customer of the agent's team and one from another team
    helpdesk, enterprise = teams
    SurveyResponseFactory(
        survey=nps_survey(),
        customer=CustomerFactory(name="Mine Ltd", team=helpdesk),
        score=3,
        comment="Slow <b>answers</b>",
    )
    SurveyResponseFactory(
        survey=nps_survey(), customer=CustomerFactory(name="Other Ltd", team=enterprise)
    )
    # when the agent opens the list
    response = login(client, agent).get(reverse("surveys:responses"))
    # then only their customer's answer is listed, the comment shown escaped
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mine Ltd" in html
    assert "Other Ltd" not in html
    assert "Slow &lt;b&gt;answers&lt;/b&gt;" in html


def test_responses_filters_by_kind_score_team_comment_and_date(client, teams, manager):
    helpdesk, enterprise = teams
    SurveyResponseFactory(
        survey=nps_survey(),
        customer=CustomerFactory(name="Low Co", team=helpdesk),
        score=2,
        comment="bad",
    )
    SurveyResponseFactory(
        survey=nps_survey(), customer=CustomerFactory(name="High Co", team=helpdesk), score=10
    )
    SurveyResponseFactory(
        survey=csat_survey(),
        customer=CustomerFactory(name="Csat Co", team=enterprise),
        score=1,
        comment="meh",
    )
    SurveyResponseFactory(
        survey=nps_survey(),
        customer=CustomerFactory(name="Old Co", team=helpdesk),
        score=1,
        comment="old",
        responded_at=dt.datetime(2025, 1, 5, 12, tzinfo=dt.UTC),
    )
    client = login(client, manager)
    url = reverse("surveys:responses")

    def names(**params):
        html = client.get(url, params).content.decode()
        return {n for n in ("Low Co", "High Co", "Csat Co", "Old Co") if n in html}

    assert names(kind="nps", score_max=6) == {"Low Co", "Old Co"}
    assert names(team=enterprise.pk) == {"Csat Co"}
    assert names(has_comment="true", kind="nps") == {"Low Co", "Old Co"}
    assert names(responded_before="2025-12-31") == {"Old Co"}
    assert names(responded_after="2026-01-01", score_min=2, score_max=6) == {"Low Co"}


def test_responses_list_is_paginated(client, admin):
    # given one more response than a page holds
    survey = nps_survey()
    for _ in range(RESPONSES_PAGE_SIZE + 1):
        SurveyResponseFactory(survey=survey)
    client = login(client, admin)
    first = client.get(reverse("surveys:responses"))
    second = client.get(reverse("surveys:responses"), {"page": 2})
    assert first.content.decode().count('data-testid="response-row"') == RESPONSES_PAGE_SIZE
    assert second.content.decode().count('data-testid="response-row"') == 1
    assert f"{RESPONSES_PAGE_SIZE + 1} responses" in first.content.decode()


def test_responses_csv_export_is_filtered_and_formula_safe(client, teams, manager):
    helpdesk, _enterprise = teams
    SurveyResponseFactory(
        survey=nps_survey(),
        customer=CustomerFactory(name="Acme", team=helpdesk),
        score=4,
        comment="=HYPERLINK(1)",
    )
    SurveyResponseFactory(
        survey=nps_survey(), customer=CustomerFactory(name="Fine Co", team=helpdesk), score=9
    )
    response = login(client, manager).get(
        reverse("surveys:responses"), {"format": "csv", "score_max": 6}
    )
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    # header + the one detractor
    assert len(lines) == 2
    assert "Acme" in lines[1]
    assert "Helpdesk" in lines[1]
    assert "'=HYPERLINK(1)" in lines[1]
    assert "Fine Co" not in body


def test_responses_list_query_count_is_flat(client, admin, django_assert_max_num_queries):
    survey = nps_survey()
    for _ in range(RESPONSES_PAGE_SIZE):
        SurveyResponseFactory(survey=survey, customer=CustomerFactory(team=TeamFactory()))
    client = login(client, admin)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("surveys:responses"))
    assert response.status_code == 200


# --- results from KPI snapshots ------------------------------------------------------------------


def snapshot(kpi, period=NOV, dimension="all", cell="", label="", **fields):
    end = dt.date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return KpiSnapshot.objects.create(
        kpi=kpi,
        granularity="month",
        period_start=period,
        period_end=end,
        dimension=dimension,
        dimension_value=cell,
        dimension_label=label,
        **fields,
    )


@pytest.fixture
def november(teams):
    helpdesk, enterprise = teams
    # NPS: 6 promoters, 2 passives, 2 detractors of 10 → 100 × (6 − 2) / 10 = 40
    snapshot(
        "nps",
        value=Decimal(40),
        sample_size=10,
        low_sample=True,
        details={"promoters": 6, "passives": 2, "detractors": 2, "margin_of_error": 30.0},
    )
    # CSAT: 3 of 4 answers are 4–5 → 0.75; mean 3.75
    snapshot("csat", value=Decimal("0.75"), sample_size=4, low_sample=True, details={"mean": 3.75})
    # response rate 8 of 20 invitations → 0.4
    snapshot("survey_response_rate", value=Decimal("0.4"), sample_size=20)
    # by survey kind: value "nps" is the dimension value here, the rate goes in `value` below
    KpiSnapshot.objects.create(
        kpi="survey_response_rate",
        granularity="month",
        period_start=NOV,
        period_end=dt.date(2026, 12, 1),
        dimension="survey_kind",
        dimension_value="nps",
        dimension_label="NPS",
        value=Decimal("0.5"),
    )
    snapshot(
        "nps",
        dimension="team",
        cell=str(helpdesk.pk),
        label="Helpdesk",
        sample_size=5,
        details={"promoters": 4, "passives": 1, "detractors": 0},
    )
    snapshot(
        "nps",
        dimension="team",
        cell=str(enterprise.pk),
        label="Enterprise",
        sample_size=5,
        details={"promoters": 2, "passives": 1, "detractors": 2},
    )
    snapshot(
        "nps",
        dimension="owner",
        cell="7",
        label="Olivia Owner",
        sample_size=3,
        details={"promoters": 1, "passives": 1, "detractors": 1},
    )
    snapshot(
        "csat", dimension="segment", cell="1", label="SMB", sample_size=4, details={"mean": 3.75}
    )
    snapshot(
        "csat",
        dimension="channel",
        cell="2",
        label="Referral",
        sample_size=4,
        details={"mean": 2.5},
    )
    snapshot(
        "survey_response_rate",
        dimension="team",
        cell=str(helpdesk.pk),
        label="Helpdesk",
        sample_size=10,
    )
    # an older month, to choose from
    snapshot(
        "nps",
        period=OCT,
        value=Decimal(-20),
        sample_size=40,
        details={"promoters": 10, "passives": 12, "detractors": 18},
    )


def test_results_show_nps_csat_and_response_rate_for_the_latest_period(client, manager, november):
    response = login(client, manager).get(reverse("surveys:results"))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["period"] == NOV
    overall = response.context["overall"]
    assert overall.nps_value == Decimal(40)
    assert overall.nps_details == {
        "promoters": 6,
        "passives": 2,
        "detractors": 2,
        "margin_of_error": 30.0,
    }
    assert overall.csat_mean == 3.75
    assert overall.response_rate_value == Decimal("0.4")
    assert overall.low_sample is True
    assert "6 promoters · 2 passives · 2 detractors" in html
    # CSAT 0.75 → "75.0 %", response rate 0.4 → "40.0 %", by kind NPS 0.5 → "50.0 %"
    assert "75.0 %" in html
    assert "40.0 %" in html
    assert "NPS: 50.0 %" in html
    # one table per breakdown, each with its rows
    tables = {t.dimension: [row.label for row in t.rows] for t in response.context["tables"]}
    assert tables == {
        "team": ["Enterprise", "Helpdesk"],
        "owner": ["Olivia Owner"],
        "segment": ["SMB"],
        "channel": ["Referral"],
    }
    assert "low sample" in html


def test_results_for_a_chosen_period(client, manager, november):
    response = login(client, manager).get(
        reverse("surveys:results"), {"period": "2026-10-01", "granularity": "month"}
    )
    assert response.context["period"] == OCT
    assert response.context["overall"].nps_value == Decimal(-20)
    assert response.context["overall"].low_sample is False


def test_unknown_period_falls_back_to_the_latest(client, manager, november):
    response = login(client, manager).get(reverse("surveys:results"), {"period": "1999-01-01"})
    assert response.context["period"] == NOV


def test_support_agent_sees_only_their_teams_rows(client, agent, november):
    response = login(client, agent).get(reverse("surveys:results"))
    assert response.status_code == 200
    # no company-wide, owner, segment or channel figures
    assert response.context["overall"] is None
    tables = {t.dimension: [row.label for row in t.rows] for t in response.context["tables"]}
    assert tables == {"team": ["Helpdesk"]}
    helpdesk_row = response.context["tables"][0].rows[0]
    assert helpdesk_row.nps_details["promoters"] == 4
    assert helpdesk_row.response_rate is not None
    assert "Enterprise" not in response.content.decode()


def test_results_without_snapshots_say_so(client, manager):
    response = login(client, manager).get(reverse("surveys:results"))
    assert response.status_code == 200
    assert response.context["period"] is None
    assert 'data-testid="results-empty"' in response.content.decode()


def test_results_query_count(client, manager, november, django_assert_max_num_queries):
    client = login(client, manager)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("surveys:results"))
    assert response.status_code == 200

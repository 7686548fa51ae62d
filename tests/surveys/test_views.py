"""The survey responses list's CSV / XLSX export: filtered, visible, typed, bounded queries."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from surveys.models import SurveyKind
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db
RESPONSES = reverse("surveys:responses")


@pytest.fixture
def helpdesk():
    return TeamFactory(name="Helpdesk")


@pytest.fixture
def agent(client, helpdesk):
    user = UserFactory(role="Support agent")
    helpdesk.members.add(user)
    client.force_login(user)
    return user


def xlsx_rows(response) -> list[tuple]:
    body = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def test_an_agents_export_has_the_filtered_answers_of_their_customers_only(client, agent, helpdesk):
    survey = SurveyFactory(name="Relationship NPS", kind=SurveyKind.NPS)
    SurveyResponseFactory(
        survey=survey,
        customer=CustomerFactory(name="Ours", team=helpdesk),
        score=3,
        comment="@SUM(1)",
        responded_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
    )
    SurveyResponseFactory(survey=survey, customer=CustomerFactory(team=helpdesk), score=10)
    SurveyResponseFactory(survey=survey, customer=CustomerFactory(name="Theirs"), score=2)

    as_csv = client.get(RESPONSES, {"score_max": 6, "format": "csv"})
    header, *rows = xlsx_rows(client.get(RESPONSES, {"score_max": 6, "format": "xlsx"}))

    body = b"".join(as_csv.streaming_content).decode("utf-8-sig")
    assert [row[4] for row in csv.reader(io.StringIO(body))][1:] == ["Ours"]
    (row,) = rows
    values = dict(zip(header, row, strict=True))
    assert values["Customer"] == "Ours"
    assert values["Team"] == "Helpdesk"
    assert values["Score"] == 3
    assert values["Kind"] == "NPS (0–10)"
    assert values["Comment"] == "'@SUM(1)"
    assert values["Responded"].isoformat() == "2026-11-02T10:00:00"


def test_the_team_of_a_ticket_answer_is_the_tickets(client, agent, helpdesk):
    ticket = TicketFactory(team=helpdesk, customer=CustomerFactory(team=helpdesk))
    SurveyResponseFactory(
        survey=SurveyFactory(kind=SurveyKind.CSAT), customer=ticket.customer, ticket=ticket, score=4
    )

    header, row = xlsx_rows(client.get(RESPONSES, {"format": "xlsx"}))

    values = dict(zip(header, row, strict=True))
    assert values["Team"] == "Helpdesk"
    assert values["Ticket"] == ticket.pk


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_export_runs_a_bounded_number_of_queries(
    client, agent, helpdesk, file_format, django_assert_max_num_queries
):
    survey = SurveyFactory(kind=SurveyKind.NPS)
    for _ in range(40):
        SurveyResponseFactory(survey=survey, customer=CustomerFactory(team=helpdesk))

    with django_assert_max_num_queries(12):
        response = client.get(RESPONSES, {"format": file_format})
        body = b"".join(response.streaming_content)

    assert body


def test_the_responses_page_offers_both_formats_with_its_filters(client, agent):
    page = client.get(RESPONSES, {"score_max": 6}).content.decode()

    assert 'href="?score_max=6&amp;format=csv"' in page
    assert 'href="?score_max=6&amp;format=xlsx"' in page

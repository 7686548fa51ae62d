"""Survey responses: survey by kind or name, score range of the kind (survey_score_check)."""

import pytest

from surveys.models import SurveyResponse
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def surveys():
    from surveys.models import Survey

    return (
        Survey.objects.create(
            name="Relationship NPS", kind="nps", question="?", trigger="relationship"
        ),
        Survey.objects.create(
            name="Support CSAT", kind="csat", question="?", trigger="ticket_solved"
        ),
    )


def test_responses_by_kind_and_by_name(surveys, write_csv, import_data):
    customer = CustomerFactory(external_id="C-1")
    other = CustomerFactory(external_id="C-2")
    OrderFactory(external_id="O-1", customer=customer)
    OrderFactory(external_id="O-2", customer=other)
    path = write_csv(
        "responses.csv",
        [
            ["external_id", "customer", "survey", "score", "responded_at", "comment", "order"],
            ["R-1", "C-1", "nps", "9", "2024-04-01", "great", "O-1"],
            ["R-2", "C-1", "Support CSAT", "5", "2024-04-02", "", ""],
            ["R-3", "C-1", "csat", "7", "2024-04-02", "", ""],
            ["R-4", "C-1", "nps", "8", "2024-04-02", "", "O-2"],
            ["R-5", "C-1", "ces", "8", "2024-04-02", "", ""],
        ],
    )

    result = import_data("survey_responses", path, "--skip-invalid")
    again = import_data("survey_responses", path, "--skip-invalid")

    assert (
        "line 4, column score: The score must be a whole number from 1 to 5 for CSAT surveys."
        in (result.err)
    )
    assert "line 5, column order: The order belongs to another customer." in result.err
    assert "line 6, column survey: unknown survey “ces”" in result.err
    assert "0 new, 2 updated" in again.out
    nps = SurveyResponse.objects.get(external_id="R-1")
    assert (nps.survey, nps.kind, nps.score, nps.comment) == (surveys[0], "nps", 9, "great")
    assert SurveyResponse.objects.get(external_id="R-2").survey == surveys[1]
    assert SurveyResponse.objects.count() == 2

"""The period report: the PDF read back with pypdf, the printable HTML page and who may see it."""

import io

import pytest
from django.test import Client
from pypdf import PdfReader

from kpis.definitions import registry
from kpis.definitions.base import STAGES
from reports.period_report import ScopeCell, period_report_build, period_report_pdf
from reports.services import annotation_create
from tests.reports.conftest import MARCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_send_time")]


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_pdf_has_a_cover_and_one_page_per_stage_with_the_kpi_names(snapshots):
    report = period_report_build(
        granularity="month", period_start=MARCH, cell=ScopeCell.of(scope="company")
    )

    reader = PdfReader(io.BytesIO(period_report_pdf(report)))

    # a cover + 7 stages (acquisition … data quality)
    assert len(reader.pages) == len(STAGES) + 1 == 8
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for key in ("revenue", "orders", "activities_logged", "churn_rate", "first_response_time"):
        assert str(registry.get(key).name) in text
    assert "400.00" in text  # March revenue: 4 orders × 100.00


def test_pdf_download_for_a_manager(snapshots):
    annotation_create(
        text="Board pack note", starts_on=MARCH, ends_on=MARCH, actor=snapshots["manager"]
    )

    response = logged_in(snapshots["manager"]).get(
        "/reports/period.pdf", {"granularity": "month", "period": "2026-03-01"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == len(STAGES) + 1
    assert "Board pack note" in reader.pages[0].extract_text()


def test_html_report_is_printable_with_charts_and_formulas(snapshots):
    response = logged_in(snapshots["manager"]).get(
        "/reports/period/", {"granularity": "month", "period": "2026-03-01"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "@media print" in html
    assert html.count('class="report-stage') == len(STAGES)
    assert 'src="data:image/png;base64,' in html
    assert str(registry.get("revenue").formula) in html


def test_a_rep_gets_their_own_report_only(snapshots):
    rep = logged_in(snapshots["ann"])

    own = rep.get("/reports/period/", {"period": "2026-03-01", "scope": "own"})
    company = rep.get("/reports/period/", {"period": "2026-03-01", "scope": "company"})

    assert own.status_code == 200
    assert 'data-kpi="revenue"' in own.content.decode()
    assert 'data-kpi="cac"' not in own.content.decode()  # no own figures of CAC
    assert company.status_code == 403


def test_a_support_agent_gets_no_period_report(snapshots):
    response = logged_in(snapshots["agent"]).get("/reports/period/", {"period": "2026-03-01"})

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("March", "Unknown period March"),
        ("2026-03-05", "is not the start of a month"),
        ("2026-04-01", "has not closed yet"),
    ],
)
def test_an_unknown_period_is_refused_with_a_clear_message(snapshots, period, message):
    response = logged_in(snapshots["manager"]).get("/reports/period/", {"period": period})

    assert response.status_code == 400
    assert message in response.content.decode()


def test_anonymous_users_are_sent_to_login(people):
    response = Client().get("/reports/period/", {"period": "2026-03-01"})

    assert response.status_code == 302
    assert "/login/" in response["Location"]

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""Issue 5 end to end: a solved ticket → the beat task sends the CSAT e-mail → the link is
opened (nothing recorded) → the form is submitted (recorded once) → the CSAT snapshot has it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from support.services import ticket_create, ticket_message_add, ticket_status_change
from surveys.models import Survey, SurveyKind, SurveyResponse
from surveys.tasks import survey_invitations_create_all
from tests.customers.factories import CustomerFactory, UserFactory
from tests.surveys.factories import SurveyFactory

pytestmark = pytest.mark.django_db

OPENED = dt.datetime(2026, 11, 9, 9, tzinfo=dt.UTC)


def test_solved_ticket_to_csat_snapshot(client):
    # given a CSAT survey sent 24 h after a ticket is solved, and a ticket solved on 9 Nov
    SurveyFactory(
        name="Support CSAT",
        kind=SurveyKind.CSAT,
        trigger=Survey.Trigger.TICKET_SOLVED,
        question="How satisfied are you with the help you received?",
        delay_hours=24,
    )
    agent = UserFactory()
    customer = CustomerFactory(email="ada@example.com")
    ticket = ticket_create(
        customer=customer, subject="Invoice missing", body="Hi", created_at=OPENED
    )
    ticket_message_add(
        ticket=ticket,
        body="Here it is.",
        author_kind="agent",
        author_user=agent,
        at=OPENED + dt.timedelta(hours=1),
    )
    ticket_status_change(ticket=ticket, to_status="solved", at=OPENED + dt.timedelta(hours=2))

    # when the beat task runs the next day, sending through the e-mail backend
    with time_machine.travel(OPENED + dt.timedelta(days=1, hours=3), tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):
            survey_invitations_create_all.delay()
        # then one CSAT e-mail went out with a link per score
        assert len(mail.outbox) == 1
        links = re.findall(
            r"https://crm\.example\.com(/s/[\w-]+/\?score=(\d))", mail.outbox[0].body
        )
        assert [score for _url, score in links] == ["1", "2", "3", "4", "5"]
        url_of_5 = links[4][0]

        # when the customer opens the "5" link: the form shows, nothing is recorded
        opened = client.get(url_of_5)
        assert opened.status_code == 200
        assert 'value="5" checked' in opened.content.decode()
        assert SurveyResponse.objects.count() == 0

        # when the form is submitted: recorded once
        posted = client.post(url_of_5.split("?")[0], {"score": "5", "comment": "Quick!"})
        assert posted.status_code == 302
        response = SurveyResponse.objects.get()
        assert (response.kind, response.score, response.ticket_id) == ("csat", 5, ticket.pk)

    # when the KPI engine computes November
    with time_machine.travel(OPENED + dt.timedelta(days=2), tick=False):
        compute_period(granularity="month", period_start=dt.date(2026, 11, 1), kpi_keys=["csat"])

    # then the CSAT snapshot counts that answer: 1 of 1 responses scored 4–5 → 1.0
    snapshot = KpiSnapshot.objects.get(
        kpi="csat", granularity="month", period_start=dt.date(2026, 11, 1), dimension="all"
    )
    assert snapshot.sample_size == 1
    assert snapshot.numerator == Decimal(1)
    assert snapshot.denominator == Decimal(1)
    assert snapshot.value == Decimal(1)

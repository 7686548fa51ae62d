"""Maintenance KPIs for March 2026: CSAT, NPS, survey response, repeat and returning purchase,
referrals, complaints."""

import math
from decimal import Decimal

import pytest

from support.models import Ticket
from surveys.models import SurveyInvitation, SurveyKind
from tests.customers.factories import TeamFactory, UserFactory
from tests.kpis.conftest import buyer, customer, local, snapshot
from tests.sales.factories import OrderFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import (
    SurveyFactory,
    SurveyInvitationFactory,
    SurveyResponseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def csat_survey():
    return SurveyFactory.create(name="After ticket", kind=SurveyKind.CSAT)


def test_csat_share_of_4_and_5_with_mean_and_low_sample(compute, csat_survey):
    for score in (5, 4, 2):
        SurveyResponseFactory.create(
            survey=csat_survey, score=score, responded_at=local(2026, 3, 10)
        )
    SurveyResponseFactory.create(survey=csat_survey, score=5, responded_at=local(2026, 2, 10))
    bounced = SurveyInvitationFactory.create(
        survey=csat_survey, status=SurveyInvitation.Status.UNDELIVERABLE
    )
    SurveyResponseFactory.create(
        survey=csat_survey, invitation=bounced, score=1, responded_at=local(2026, 3, 11)
    )

    row = compute("csat")

    # 2 of 3 countable answers score ≥ 4 → 0.666667; mean (5 + 4 + 2) / 3 = 3.6667
    assert (row.numerator, row.denominator, row.value) == (2, 3, Decimal("0.666667"))
    assert row.details["mean"] == pytest.approx(3.6667)
    # 3 answers < min_sample 30 → flagged
    assert row.low_sample is True


def test_csat_with_30_answers_is_not_low_sample(compute, csat_survey):
    for index in range(30):
        SurveyResponseFactory.create(
            survey=csat_survey, score=5 if index < 24 else 3, responded_at=local(2026, 3, 10)
        )
    row = compute("csat")
    # 24 of 30 → 0.8
    assert row.value == Decimal("0.8")
    assert row.low_sample is False


def test_csat_by_owner_counts_for_the_agent_of_the_ticket(compute, csat_survey):
    ada, bob = UserFactory.create(username="ada"), UserFactory.create(username="bob")
    for agent, score in ((ada, 5), (ada, 2), (bob, 4)):
        ticket = TicketFactory.create(assignee=agent)
        SurveyResponseFactory.create(
            survey=csat_survey, ticket=ticket, score=score, responded_at=local(2026, 3, 10)
        )

    compute("csat")

    ada_row = snapshot("csat", dimension="owner", value=ada.pk)
    bob_row = snapshot("csat", dimension="owner", value=bob.pk)
    # ada: 1 of 2 answers ≥ 4 → 0.5; bob: 1 of 1 → 1.0
    assert (ada_row.numerator, ada_row.denominator, ada_row.value) == (1, 2, Decimal("0.5"))
    assert (bob_row.numerator, bob_row.denominator, bob_row.value) == (1, 1, Decimal("1"))


def test_nps_counts_latest_answer_per_customer_and_survey(compute):
    survey = SurveyFactory.create(name="Relationship", kind=SurveyKind.NPS)
    changed_mind = customer()
    SurveyResponseFactory.create(
        survey=survey, customer=changed_mind, score=3, responded_at=local(2026, 3, 2)
    )
    SurveyResponseFactory.create(
        survey=survey, customer=changed_mind, score=10, responded_at=local(2026, 3, 20)
    )
    for score in (9, 8, 7, 5):
        SurveyResponseFactory.create(survey=survey, score=score, responded_at=local(2026, 3, 12))

    row = compute("nps")

    # latest answers 10, 9, 8, 7, 5: promoters 2, passives 2, detractors 1, n = 5
    # NPS = 100 × (2 − 1) / 5 = 20
    assert row.value == Decimal("20")
    assert (row.numerator, row.denominator) == (1, 5)
    assert row.details | {"margin_of_error": None} == {
        "promoters": 2,
        "passives": 2,
        "detractors": 1,
        "margin_of_error": None,
    }
    # 1.96 × sqrt((0.4 + 0.2 − (0.4 − 0.2)²) / 5) × 100 = 1.96 × sqrt(0.112) × 100 = 65.59
    assert row.details["margin_of_error"] == pytest.approx(round(1.96 * math.sqrt(0.112) * 100, 2))
    assert row.low_sample is True


def test_nps_is_na_without_answers(compute):
    row = compute("nps")
    assert (row.denominator, row.value) == (0, None)


def test_survey_response_rate_within_14_days(compute, csat_survey):
    team = TeamFactory.create(name="Support")
    member = customer(team=team)
    nps = SurveyFactory.create(name="Relationship", kind=SurveyKind.NPS)
    sent = local(2026, 3, 5)
    answered = SurveyInvitationFactory.create(survey=csat_survey, customer=member, sent_at=sent)
    SurveyResponseFactory.create(
        survey=csat_survey, invitation=answered, score=5, responded_at=local(2026, 3, 8)
    )
    too_late = SurveyInvitationFactory.create(survey=nps, customer=member, sent_at=sent)
    SurveyResponseFactory.create(survey=nps, invitation=too_late, responded_at=local(2026, 3, 25))
    SurveyInvitationFactory.create(survey=nps, sent_at=sent)
    SurveyInvitationFactory.create(
        survey=nps, sent_at=sent, status=SurveyInvitation.Status.UNDELIVERABLE
    )

    row = compute("survey_response_rate")

    # 1 answered within 14 days of 3 deliverable invitations → 0.333333
    assert (row.numerator, row.denominator) == (1, 3)
    # Apr 1 + 14 d < now → mature
    assert row.provisional is False
    assert snapshot("survey_response_rate", dimension="survey_kind", value="csat").value == 1
    nps_row = snapshot("survey_response_rate", dimension="survey_kind", value="nps")
    assert (nps_row.numerator, nps_row.denominator) == (0, 2)
    assert snapshot("survey_response_rate", dimension="team", value=team.pk).denominator == 2


def test_repeat_purchase_rate_counts_same_day_orders_once(compute):
    buyer(local(2026, 3, 3, 9), local(2026, 3, 3, 18))  # two orders, one day
    buyer(local(2026, 3, 3), local(2026, 3, 10))  # two days
    third = buyer(local(2026, 3, 5))
    OrderFactory.create(customer=third, ordered_at=local(2026, 3, 9), status="cancelled")

    row = compute("repeat_purchase_rate")

    # only the second customer has ≥ 2 distinct order days → 1/3
    assert (row.numerator, row.denominator) == (1, 3)
    assert row.value == Decimal("0.333333")


def test_repeat_purchase_days_are_local_dates(compute):
    # 23:30 and 00:30 local are two days in Berlin though the same UTC day would say otherwise
    buyer(local(2026, 3, 3, 23, 30), local(2026, 3, 4, 0, 30))
    row = compute("repeat_purchase_rate")
    assert row.value == 1


def test_returning_customer_rate(compute):
    buyer(local(2026, 2, 10), local(2026, 3, 10))
    buyer(local(2026, 3, 10))
    late = buyer(local(2026, 3, 12))
    OrderFactory.create(customer=late, ordered_at=local(2026, 2, 1), status="cancelled")

    row = compute("returning_customer_rate")

    # 1 of 3 ordering customers had a (non-cancelled) order before March
    assert (row.numerator, row.denominator) == (1, 3)


def test_referral_rate(compute):
    referrer = customer(local(2025, 1, 1))
    customer(local(2026, 3, 4), referred_by=referrer)
    customer(local(2026, 3, 8))

    row = compute("referral_rate")
    # 1 referred of 2 new → 0.5
    assert row.value == Decimal("0.5")


def test_complaint_rate_excludes_spam_and_merged_tickets(compute):
    t1, t2 = TeamFactory.create(name="T1"), TeamFactory.create(name="T2")
    a = buyer(local(2026, 3, 2), team=t1)
    b = buyer(local(2026, 3, 2), team=t2)
    buyer(local(2026, 3, 2), team=t1)
    buyer(local(2026, 3, 2), team=t2)
    complaint = {"category": Ticket.Category.COMPLAINT, "created_at": local(2026, 3, 6)}
    kept = TicketFactory.create(customer=a, **complaint)
    TicketFactory.create(customer=b, **complaint)
    TicketFactory.create(customer=b, is_spam=True, **complaint)
    TicketFactory.create(customer=b, merged_into=kept, **complaint)
    TicketFactory.create(customer=a, created_at=local(2026, 3, 6))  # a question

    row = compute("complaint_rate")

    # 2 complaints / 4 customers active in March → 0.5; T1: 1 / 2
    assert (row.numerator, row.denominator, row.value) == (2, 4, Decimal("0.5"))
    assert snapshot("complaint_rate", dimension="team", value=t1.pk).value == Decimal("0.5")

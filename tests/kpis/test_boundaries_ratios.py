"""Ratio KPIs at their edges (issue 19, item 3): zero denominators, min_sample at the limit,
same-day orders, cancelled and refunded orders, spam and merged tickets, reopened tickets.
Each figure is checked in the stored cell and in the drill-down list behind it."""

import datetime as dt
from decimal import Decimal

import pytest

from kpis.definitions import registry
from sales.services import order_cancel, order_create, order_refund
from support.services import (
    ticket_create,
    ticket_mark_spam,
    ticket_merge,
    ticket_message_add,
    ticket_status_change,
)
from surveys.models import SurveyKind
from tests.customers.factories import CustomerFactory
from tests.kpis.boundaries import at, figures
from tests.kpis.conftest import buyer
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("post_compute_calls")]

MARCH = dt.date(2026, 3, 1)
INSTANT = dt.timedelta(microseconds=1)


@pytest.fixture(autouse=True)
def _berlin(settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"


@pytest.mark.parametrize("kpi", [definition.key for definition in registry.all()])
def test_a_zero_denominator_is_na_and_an_absolute_figure_is_zero(kpi):
    # An empty company: every ratio has denominator 0 → value NULL (n/a), never 0 (§0.3);
    # an absolute figure (count or sum without denominator) is 0 with an empty list.
    empty = figures(kpi, MARCH)

    if empty["denominator"] is None and empty["numerator"] is not None:
        assert empty["value"] == 0
        assert empty["rows_numerator"] in (0, None)
    else:
        assert empty["value"] is None
        assert empty["denominator"] in (0, None)
        assert empty["rows_denominator"] in (0, None)


@pytest.mark.parametrize(("kind", "answers", "low_sample"), [
    # min_sample = 30 for survey KPIs: 30 answers are enough, 29 are not
    (SurveyKind.CSAT, 30, False),
    (SurveyKind.CSAT, 29, True),
    (SurveyKind.NPS, 30, False),
    (SurveyKind.NPS, 29, True),
])  # fmt: skip
def test_min_sample_exactly_at_the_limit_and_one_below(kind, answers, low_sample):
    survey = SurveyFactory(name=f"{kind} survey", kind=kind)
    score = 5 if kind == SurveyKind.CSAT else 10
    for _index in range(answers):
        SurveyResponseFactory(survey=survey, score=score, responded_at=at(2026, 3, 10))
    kpi = "csat" if kind == SurveyKind.CSAT else "nps"

    march = figures(kpi, MARCH)

    assert march["low_sample"] is low_sample
    # CSAT: answers of 5 / answers = 1.0; NPS: 100 % promoters − 0 % detractors = 100
    assert march["value"] == (Decimal(1) if kpi == "csat" else Decimal(100))
    assert march["rows_denominator"] == answers


def test_orders_on_one_local_day_are_one_order_day_and_midnight_starts_the_next():
    # first instant and last instant of March 3: one order day → not a repeat purchaser
    buyer(at(2026, 3, 3), at(2026, 3, 4) - INSTANT)
    # last instant of March 3 and first instant of March 4: two order days → repeat
    buyer(at(2026, 3, 4) - INSTANT, at(2026, 3, 4))

    march = figures("repeat_purchase_rate", MARCH)

    # 1 of 2 ordering customers has two distinct local order days → 0.5
    assert (march["numerator"], march["denominator"]) == (1, 2)
    assert (march["rows_numerator"], march["rows_denominator"]) == (1, 2)
    assert march["value"] == Decimal("0.500000")


def test_cancelled_orders_never_count_and_refunds_reduce_revenue_in_the_order_period():
    person = CustomerFactory(acquired_at=at(2026, 3, 1))
    kept = order_create(customer=person, ordered_at=at(2026, 3, 1), total=Decimal("100.00"))
    # refunded in April, 30.00 of the March order: March's net revenue falls to 70.00
    order_refund(order=kept, amount=Decimal("30.00"), at=at(2026, 4, 2))
    cancelled = order_create(customer=person, ordered_at=at(2026, 3, 5), total=Decimal("500.00"))
    order_cancel(order=cancelled)

    orders = figures("orders", MARCH)
    revenue = figures("revenue", MARCH)
    aov = figures("aov", MARCH)
    april = figures("revenue", dt.date(2026, 4, 1))

    # 1 countable order (the cancelled 500.00 never counts); revenue 100.00 − 30.00 = 70.00
    assert (orders["numerator"], orders["rows_numerator"]) == (1, 1)
    assert (revenue["numerator"], revenue["rows_numerator"]) == (Decimal("70.00"), 1)
    # AOV 70.00 / 1 order
    assert (aov["value"], aov["rows_denominator"]) == (Decimal("70.000000"), 1)
    # the refund does not move revenue into April
    assert april["numerator"] == 0


def test_a_cancelled_order_does_not_keep_a_customer_active():
    # at April 1 00:00, t − 90 days = January 1 00:00; the only order inside is cancelled
    person = CustomerFactory(acquired_at=at(2025, 12, 1))
    order_create(customer=person, ordered_at=at(2025, 12, 1), total=Decimal("10.00"))
    late = order_create(customer=person, ordered_at=at(2026, 3, 31), total=Decimal("10.00"))
    order_cancel(order=late)

    march = figures("active_customers", MARCH)

    assert (march["numerator"], march["rows_numerator"]) == (0, 0)


def _solved_ticket(created, solved, customer=None):
    ticket = ticket_create(
        customer=customer or CustomerFactory(), subject="Help", created_at=created
    )
    ticket_message_add(ticket=ticket, body="Done", author_kind="agent", at=created + INSTANT)
    return ticket_status_change(ticket=ticket, to_status="solved", at=solved)


def test_reopen_and_one_touch_count_the_final_solve_in_its_period():
    # solved at the first instant of March: in March
    _solved_ticket(at(2026, 2, 20), at(2026, 3, 1))
    # solved at the first instant of April: not in March
    _solved_ticket(at(2026, 2, 20), at(2026, 4, 1))
    # solved in February, reopened and solved again in March: counts once, in March, reopened
    again = _solved_ticket(at(2026, 2, 10), at(2026, 2, 11))
    ticket_status_change(ticket=again, to_status="open", at=at(2026, 3, 2))
    ticket_message_add(ticket=again, body="Again", author_kind="agent", at=at(2026, 3, 3))
    ticket_status_change(ticket=again, to_status="solved", at=at(2026, 3, 3, 1))
    # solved in March, then reopened in March and still open: not finally solved
    left_open = _solved_ticket(at(2026, 3, 5), at(2026, 3, 6))
    ticket_status_change(ticket=left_open, to_status="open", at=at(2026, 3, 7))

    reopen = figures("reopen_rate", MARCH)
    one_touch = figures("one_touch_rate", MARCH)
    february = figures("reopen_rate", dt.date(2026, 2, 1))

    # 2 tickets finally solved in March, 1 of them reopened → 0.5
    assert (reopen["numerator"], reopen["denominator"]) == (1, 2)
    assert (reopen["rows_numerator"], reopen["rows_denominator"]) == (1, 2)
    # one public reply on the first ticket, two on the reopened one → 1 of 2 one-touch
    assert (one_touch["numerator"], one_touch["denominator"]) == (1, 2)
    assert (one_touch["rows_numerator"], one_touch["rows_denominator"]) == (1, 2)
    # February's solve was undone by the reopen: February has no finally solved ticket
    assert (february["denominator"], february["value"]) == (0, None)


def test_spam_and_merged_tickets_are_in_neither_part():
    person = CustomerFactory()
    kept = _solved_ticket(at(2026, 3, 2), at(2026, 3, 3), person)
    spam = _solved_ticket(at(2026, 3, 2), at(2026, 3, 3), person)
    merged = _solved_ticket(at(2026, 3, 2), at(2026, 3, 3), person)
    ticket_mark_spam(ticket=spam, at=at(2026, 3, 4))
    ticket_merge(duplicate=merged, into=kept, at=at(2026, 3, 4))

    march = figures("one_touch_rate", MARCH)

    # only the kept ticket: 1 of 1
    assert (march["numerator"], march["denominator"]) == (1, 1)
    assert (march["rows_numerator"], march["rows_denominator"]) == (1, 1)

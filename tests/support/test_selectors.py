# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser

from support.filters import TicketFilter
from support.models import Ticket
from support.selectors import tickets_visible_to
from surveys.filters import SurveyResponseFilter
from surveys.selectors import responses_visible_to
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two support teams, a ticket in each, one assigned ticket and one of a rep's customer."""
    agent = UserFactory(role="Support agent")
    rep = UserFactory(role="Sales rep")
    manager = UserFactory(role="Manager")
    first_line, second_line = TeamFactory(name="First line"), TeamFactory(name="Second line")
    first_line.members.add(agent)
    second_line.manager = manager
    second_line.save()
    tickets = {
        "first_line": TicketFactory(team=first_line),
        "second_line": TicketFactory(team=second_line),
        "assigned": TicketFactory(assignee=agent),
        "rep_customer": TicketFactory(customer=CustomerFactory(owner=rep)),
        "nobody": TicketFactory(),
    }
    return {"agent": agent, "rep": rep, "manager": manager, "tickets": tickets}


def visible(user) -> set[int]:
    return set(tickets_visible_to(user).values_list("pk", flat=True))


def test_an_agent_sees_team_and_assigned_tickets(world):
    t = world["tickets"]
    assert visible(world["agent"]) == {t["first_line"].pk, t["assigned"].pk}


def test_a_manager_sees_the_teams_they_manage(world):
    assert visible(world["manager"]) == {world["tickets"]["second_line"].pk}


def test_a_rep_sees_tickets_of_their_customers(world):
    assert visible(world["rep"]) == {world["tickets"]["rep_customer"].pk}


def test_admins_see_everything_and_anonymous_nothing(world):
    assert visible(UserFactory(role="Admin")) == set(Ticket.objects.values_list("pk", flat=True))
    assert visible(UserFactory(is_superuser=True)) == visible(UserFactory(role="Admin"))
    assert visible(AnonymousUser()) == set()


def test_visibility_is_one_query(world, django_assert_max_num_queries):
    agent = world["agent"]
    agent._pulse_roles = {"Support agent"}  # roles already read, as in a request
    with django_assert_max_num_queries(1):
        list(tickets_visible_to(agent))


def test_responses_follow_their_customers_visibility(world):
    survey = SurveyFactory()
    mine = SurveyResponseFactory(survey=survey, customer=world["tickets"]["first_line"].customer)
    SurveyResponseFactory(survey=survey)
    visible_to_agent = set(responses_visible_to(world["agent"]).values_list("pk", flat=True))
    assert visible_to_agent == {mine.pk}
    assert responses_visible_to(UserFactory(role="Admin")).count() == 2


# --- filters --------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


def filtered(params: dict) -> set[int]:
    return set(TicketFilter(params, queryset=Ticket.objects.all()).qs.values_list("pk", flat=True))


def test_the_search_covers_subject_customer_name_and_number():
    printer = TicketFactory(subject="Printer jam")
    acme = TicketFactory(customer=CustomerFactory(name="ACME Ltd"))
    assert filtered({"q": "printer"}) == {printer.pk}
    assert filtered({"q": "acme"}) == {acme.pk}
    assert filtered({"q": f"#{acme.pk}"}) == {acme.pk}


def test_status_priority_and_created_range():
    old = TicketFactory(status="open", priority="high", created_at=NOW - dt.timedelta(days=10))
    new = TicketFactory(status="new", priority="low", created_at=NOW)
    assert filtered({"status": ["open", "pending"]}) == {old.pk}
    assert filtered({"priority": ["low"]}) == {new.pk}
    assert filtered({"created_after": "2026-11-20"}) == {new.pk}
    assert filtered({"created_before": "2026-11-20"}) == {old.pk}


@time_machine.travel(NOW, tick=False)
def test_breached_flags_use_stored_due_times_and_now():
    hour = dt.timedelta(hours=1)
    late_reply = TicketFactory(first_response_at=NOW - hour, sla_first_response_met=False)
    unanswered_overdue = TicketFactory(first_response_due_at=NOW - hour)
    unanswered_in_time = TicketFactory(first_response_due_at=NOW + hour)
    solved_late = TicketFactory(status="solved", sla_resolution_met=False)
    open_overdue = TicketFactory(status="open", resolution_due_at=NOW - hour)
    solved_in_time = TicketFactory(
        status="solved", resolution_due_at=NOW - hour, sla_resolution_met=True
    )
    assert filtered({"first_response_breached": "true"}) == {late_reply.pk, unanswered_overdue.pk}
    assert unanswered_in_time.pk in filtered({"first_response_breached": "false"})
    assert filtered({"resolution_breached": "true"}) == {solved_late.pk, open_overdue.pk}
    assert solved_in_time.pk in filtered({"resolution_breached": "false"})


def test_the_response_filter():
    team = TeamFactory()
    nps, csat = SurveyFactory(kind="nps"), SurveyFactory(kind="csat")
    ticket_answer = SurveyResponseFactory(
        survey=csat, score=2, comment="slow", ticket=TicketFactory(team=team)
    )
    customer_answer = SurveyResponseFactory(
        survey=nps, score=9, customer=CustomerFactory(team=team)
    )
    other = SurveyResponseFactory(
        survey=nps, score=4, responded_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    )

    def run(params: dict) -> set[int]:
        return set(SurveyResponseFilter(params).qs.values_list("pk", flat=True))

    assert run({"kind": "csat"}) == {ticket_answer.pk}
    assert run({"kind": "nps", "score_min": 5}) == {customer_answer.pk}
    assert run({"score_max": 4}) == {ticket_answer.pk, other.pk}
    assert run({"team": team.pk}) == {ticket_answer.pk, customer_answer.pk}
    assert run({"has_comment": "true"}) == {ticket_answer.pk}
    assert run({"responded_before": "2026-02-01"}) == {other.pk}

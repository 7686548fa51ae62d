# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The queue's SLA state: breached, breaching soon (policy warning window), on track, none."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from support.filters import TicketFilter
from support.models import Ticket
from support.selectors import SLAState, canned_responses_for, tickets_with_sla_state
from support.services import ticket_create, ticket_message_add, ticket_status_change
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import SLAPolicyFactory, business_week_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


@pytest.fixture
def tickets():
    """Four tickets opened at different times; first response target 60 business minutes,
    warning 30 minutes before. States judged on Tue 24 Nov 2026 at 10:00."""
    SLAPolicyFactory(
        schedule=business_week_schedule(),
        first_response_minutes=60,
        resolution_minutes=4800,
        warning_minutes=30,
    )

    def opened(hour: int, minute: int = 0) -> Ticket:
        return ticket_create(
            customer=CustomerFactory(), subject="x", created_at=berlin(2026, 11, 24, hour, minute)
        )

    late = opened(8, 30)  # business clock starts 9:00 → due 10:00 → breached at 10:00
    soon = opened(9, 20)  # due 10:20 → inside the 30-minute window
    fine = opened(9, 50)  # due 10:50 → on track
    done = opened(9, 0)
    ticket_message_add(ticket=done, body="hi", author_kind="agent", at=berlin(2026, 11, 24, 9, 5))
    ticket_status_change(ticket=done, to_status="solved", at=berlin(2026, 11, 24, 9, 10))
    return {"late": late, "soon": soon, "fine": fine, "done": done}


def test_each_ticket_has_its_queue_state(tickets, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        states = dict(
            tickets_with_sla_state(Ticket.objects.all(), at=berlin(2026, 11, 24, 10)).values_list(
                "pk", "sla_state"
            )
        )
    assert states == {
        tickets["late"].pk: SLAState.BREACHED,
        tickets["soon"].pk: SLAState.BREACHING_SOON,
        tickets["fine"].pk: SLAState.ON_TRACK,
        tickets["done"].pk: SLAState.NONE,
    }


@pytest.mark.parametrize(("state", "name"), [("breached", "late"), ("breaching_soon", "soon")])
def test_the_ticket_filter_selects_by_state(tickets, state, name):
    with time_machine.travel(berlin(2026, 11, 24, 10), tick=False):
        filtered = TicketFilter({"sla_state": state}, queryset=Ticket.objects.all()).qs
        assert list(filtered.values_list("pk", flat=True)) == [tickets[name].pk]


def test_canned_responses_shared_and_of_the_users_teams():
    from support.models import CannedResponse

    mine, other = TeamFactory(name="Mine"), TeamFactory(name="Other")
    agent = UserFactory()
    mine.members.add(agent)
    shared = CannedResponse.objects.create(name="Shared", body="Hi")
    team_one = CannedResponse.objects.create(name="Team", body="Hi", team=mine)
    CannedResponse.objects.create(name="Theirs", body="Hi", team=other)
    CannedResponse.objects.create(name="Retired", body="Hi", is_active=False)
    assert set(canned_responses_for(agent)) == {shared, team_one}

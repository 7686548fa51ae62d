"""Bulk actions on the ticket queue: a ticked ticket the agent may not see is refused with its
reason and left alone, a ticket its service refuses keeps the service's reason, and the rest go
through."""

import pytest

from crm.bulk import bulk_job_create, bulk_job_run, bulk_kind
from crm.roles import SUPPORT_AGENT
from support.models import Ticket
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db

NOT_VISIBLE = "Not found, or not yours to change."


def run(user, action_key, params, ids, query=""):
    kind = bulk_kind("tickets")
    assert kind is not None
    action = kind.action(action_key)
    assert action is not None
    prefixed = {f"{action_key}-{name}": value for name, value in params.items()}
    job = bulk_job_create(
        user=user, kind=kind, action=action, params=prefixed, query=query, record_ids=ids
    )
    return bulk_job_run(job_id=job.pk)


def test_another_teams_ticket_is_refused_a_closed_one_keeps_its_reason_the_rest_assigned():
    agent = UserFactory(username="agent", role=SUPPORT_AGENT)
    mate = UserFactory(username="mate", role=SUPPORT_AGENT)
    helpdesk = TeamFactory(name="Helpdesk")
    helpdesk.members.add(agent, mate)
    customer = CustomerFactory(team=helpdesk)
    mine = TicketFactory.create_batch(2, team=helpdesk, customer=customer)
    closed = TicketFactory(team=helpdesk, customer=customer, status=Ticket.Status.CLOSED)
    billing = TeamFactory(name="Billing")
    theirs = TicketFactory(team=billing, customer=CustomerFactory(team=billing))

    job = run(
        agent,
        "assign_owner",
        {"assignee": mate.pk},
        [ticket.pk for ticket in mine] + [closed.pk, theirs.pk],
        # The queue's filter as the agent set it: new and closed tickets.
        query="status=new&status=closed",
    )

    # 4 ticked: 2 assigned; the closed one refused by ticket_assign; billing's not visible.
    assert (job.done, job.succeeded) == (4, 2)
    reasons = {refusal["record"]: refusal["reason"] for refusal in job.refusals}
    assert reasons == {closed.pk: "The ticket is closed.", theirs.pk: NOT_VISIBLE}
    assert set(Ticket.objects.filter(assignee=mate).values_list("pk", flat=True)) == {
        ticket.pk for ticket in mine
    }
    theirs.refresh_from_db()
    closed.refresh_from_db()
    assert (theirs.assignee_id, closed.assignee_id) == (None, None)

"""Bulk actions on the lead and deal lists: a ticked record the user may not see is refused
with its reason and left alone, a record its service refuses keeps the service's reason, and
the rest go through."""

import pytest

from crm.bulk import bulk_job_create, bulk_job_run, bulk_kind
from crm.roles import SALES_REP
from sales.models import Lead, Opportunity
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

NOT_VISIBLE = "Not found, or not yours to change."


@pytest.fixture
def crew():
    rep = UserFactory(username="rep", role=SALES_REP)
    mate = UserFactory(username="mate", role=SALES_REP)
    outsider = UserFactory(username="outsider", role=SALES_REP)
    north = TeamFactory(name="North")
    north.members.add(rep, mate)
    south = TeamFactory(name="South")
    south.members.add(outsider)
    return {"rep": rep, "mate": mate, "outsider": outsider, "north": north, "south": south}


def run(user, kind_key, action_key, params, ids):
    kind = bulk_kind(kind_key)
    assert kind is not None
    action = kind.action(action_key)
    assert action is not None
    prefixed = {f"{action_key}-{name}": value for name, value in params.items()}
    job = bulk_job_create(
        user=user, kind=kind, action=action, params=prefixed, query="", record_ids=ids
    )
    return bulk_job_run(job_id=job.pk)


def test_leads_another_teams_lead_is_refused_and_the_rest_are_assigned(crew):
    mine = LeadFactory.create_batch(2, team=crew["north"], owner=crew["rep"])
    theirs = LeadFactory(team=crew["south"], owner=crew["outsider"])

    job = run(
        crew["rep"],
        "leads",
        "assign_owner",
        {"owner": crew["mate"].pk},
        [lead.pk for lead in mine] + [theirs.pk],
    )

    # 3 ticked: 2 visible and reassigned, 1 refused as not visible.
    assert (job.done, job.succeeded) == (3, 2)
    assert job.refusals == [{"record": theirs.pk, "label": f"#{theirs.pk}", "reason": NOT_VISIBLE}]
    assert set(Lead.objects.filter(owner=crew["mate"]).values_list("pk", flat=True)) == {
        lead.pk for lead in mine
    }
    theirs.refresh_from_db()
    assert theirs.owner == crew["outsider"]


def test_leads_a_merged_lead_keeps_the_services_reason(crew):
    open_lead = LeadFactory(team=crew["north"], owner=crew["rep"], name="Open")
    merged = LeadFactory(team=crew["north"], owner=crew["rep"], name="Merged")
    Lead.objects.filter(pk=merged.pk).update(status=Lead.Status.MERGED, merged_into=open_lead)
    theirs = LeadFactory(team=crew["south"], owner=crew["outsider"])

    job = run(
        crew["rep"],
        "leads",
        "change_status",
        {"status": "contacted"},
        [open_lead.pk, merged.pk, theirs.pk],
    )

    assert (job.done, job.succeeded) == (3, 1)
    reasons = {refusal["record"]: refusal["reason"] for refusal in job.refusals}
    assert reasons[theirs.pk] == NOT_VISIBLE
    assert reasons[merged.pk]  # lead_set_status's own words
    assert reasons[merged.pk] != NOT_VISIBLE
    open_lead.refresh_from_db()
    assert open_lead.status == Lead.Status.CONTACTED


def test_deals_another_teams_deal_is_refused_and_the_rest_are_assigned(crew):
    customer = CustomerFactory(team=crew["north"], owner=crew["rep"])
    mine = OpportunityFactory.create_batch(
        2, team=crew["north"], owner=crew["rep"], customer=customer
    )
    theirs = OpportunityFactory(
        team=crew["south"],
        owner=crew["outsider"],
        customer=CustomerFactory(team=crew["south"], owner=crew["outsider"]),
    )

    job = run(
        crew["rep"],
        "deals",
        "assign_owner",
        {"owner": crew["mate"].pk},
        [deal.pk for deal in mine] + [theirs.pk],
    )

    assert (job.done, job.succeeded) == (3, 2)
    assert job.refusals == [{"record": theirs.pk, "label": f"#{theirs.pk}", "reason": NOT_VISIBLE}]
    assert set(Opportunity.objects.filter(owner=crew["mate"]).values_list("pk", flat=True)) == {
        deal.pk for deal in mine
    }
    theirs.refresh_from_db()
    assert theirs.owner == crew["outsider"]

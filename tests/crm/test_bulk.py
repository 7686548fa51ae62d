"""Bulk actions on the record lists (crm.bulk): each record through its service, refusals with
their reasons, the user's visibility, and a query count that grows only per record."""

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import bulk
from crm.bulk import bulk_job_create, bulk_job_run, bulk_kind
from crm.models import BulkJob
from crm.roles import MANAGER, SALES_REP, SUPPORT_AGENT
from customers.models import Customer
from sales.models import Activity, Lead, RetentionCase
from support.models import Ticket
from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory, UserFactory
from tests.sales.factories import LeadFactory, OpportunityFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    """Team A: rep and mate (members), boss (manager). Team B: outsider."""
    rep = UserFactory(username="rep", role=SALES_REP)
    mate = UserFactory(username="mate", role=SALES_REP)
    boss = UserFactory(username="boss", role=MANAGER)
    outsider = UserFactory(username="outsider", role=SALES_REP)
    team_a = TeamFactory(name="A", manager=boss)
    team_a.members.add(rep, mate)
    team_b = TeamFactory(name="B")
    team_b.members.add(outsider)
    return {"rep": rep, "mate": mate, "boss": boss, "outsider": outsider, "a": team_a, "b": team_b}


def run(user, kind_key, action_key, params, *, query="", ids=()):
    kind = bulk_kind(kind_key)
    assert kind is not None
    action = kind.action(action_key)
    prefixed = {f"{action_key}-{name}": value for name, value in params.items()}
    job = bulk_job_create(
        user=user, kind=kind, action=action, params=prefixed, query=query, record_ids=ids
    )
    return bulk_job_run(job_id=job.pk)


def test_assign_owner_over_the_filter_changes_only_the_users_visible_rows(teams):
    mine = CustomerFactory.create_batch(3, team=teams["a"], owner=teams["rep"])
    theirs = CustomerFactory(team=teams["b"], owner=teams["outsider"])

    job = run(teams["rep"], "customers", "assign_owner", {"owner": teams["mate"].pk})

    assert job.status == BulkJob.Status.DONE
    # 3 visible customers, all reassigned; team B's customer is not in the selection at all.
    assert (job.total, job.done, job.succeeded, job.refusals) == (3, 3, 3, [])
    assert set(Customer.objects.filter(owner=teams["mate"]).values_list("pk", flat=True)) == {
        customer.pk for customer in mine
    }
    theirs.refresh_from_db()
    assert theirs.owner == teams["outsider"]


def test_ticked_rows_of_another_team_are_refused_and_left_alone(teams):
    mine = CustomerFactory(team=teams["a"])
    theirs = CustomerFactory(team=teams["b"], owner=teams["outsider"])

    job = run(
        teams["rep"],
        "customers",
        "assign_owner",
        {"owner": teams["rep"].pk},
        ids=[mine.pk, theirs.pk],
    )

    assert (job.done, job.succeeded) == (2, 1)
    assert job.refusals == [
        {
            "record": theirs.pk,
            "label": f"#{theirs.pk}",
            "reason": "Not found, or not yours to change.",
        }
    ]
    theirs.refresh_from_db()
    assert theirs.owner == teams["outsider"]


def test_owner_outside_the_users_teams_cannot_be_chosen(teams):
    customer = CustomerFactory(team=teams["a"])

    job = run(
        teams["rep"],
        "customers",
        "assign_owner",
        {"owner": teams["outsider"].pk},
        ids=[customer.pk],
    )

    assert job.status == BulkJob.Status.FAILED
    assert "Select a valid choice" in job.error
    assert job.succeeded == 0


def test_status_change_goes_through_customer_update_and_keeps_its_refusal(teams):
    now = timezone.now()
    acquired = CustomerFactory.create_batch(2, team=teams["a"], acquired_at=now, status="active")
    prospect = CustomerFactory(team=teams["a"], name="Never bought")

    job = run(
        teams["rep"],
        "customers",
        "change_status",
        {"status": "churned"},
        ids=[c.pk for c in [*acquired, prospect]],
    )

    # 2 of 3 churned; customer_update refuses churning a customer never acquired.
    assert (job.done, job.succeeded) == (3, 2)
    assert job.refusals == [
        {
            "record": prospect.pk,
            "label": "Never bought",
            "reason": "A customer who was never acquired cannot churn.",
        }
    ]
    churned = Customer.objects.filter(pk__in=[c.pk for c in acquired])
    # The service stamps the churn date, which a bare update() would not.
    assert all(c.status == "churned" and c.churned_at is not None for c in churned)


def test_segment_change(teams):
    customers = CustomerFactory.create_batch(2, team=teams["a"])
    segment = SegmentFactory(name="Enterprise")

    job = run(
        teams["boss"],
        "customers",
        "change_segment",
        {"segment": segment.pk},
        ids=[c.pk for c in customers],
    )

    assert job.succeeded == 2
    assert Customer.objects.filter(segment=segment).count() == 2


def test_retention_cases_open_once_per_customer(teams):
    customers = CustomerFactory.create_batch(2, team=teams["a"])
    ids = [c.pk for c in customers]

    first = run(
        teams["rep"], "customers", "open_retention_case", {"reason": "Usage dropped"}, ids=ids
    )
    second = run(teams["rep"], "customers", "open_retention_case", {"reason": "Again"}, ids=ids)

    assert first.succeeded == 2
    assert second.succeeded == 0
    assert {r["reason"] for r in second.refusals} == {
        "This customer already has an open retention case."
    }
    cases = RetentionCase.objects.filter(customer__in=customers)
    assert cases.count() == 2
    assert {case.owner_id for case in cases} == {teams["rep"].pk}


def test_follow_up_activity_on_customers_is_owned_by_the_person_acting(teams):
    customer = CustomerFactory(team=teams["a"])

    job = run(
        teams["boss"],
        "customers",
        "add_activity",
        {"activity_kind": "call", "subject": "Check renewal", "due_on": "2026-12-10"},
        ids=[customer.pk],
    )

    assert job.succeeded == 1
    activity = Activity.objects.get(customer=customer)
    assert (activity.kind, activity.subject, activity.owner, activity.is_bulk) == (
        "call",
        "Check renewal",
        teams["boss"],
        True,
    )
    # Due at 09:00 on that day in the organisation's time zone.
    assert activity.due_at == dt.datetime(
        2026, 12, 10, 9, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


def test_lead_status_through_lead_set_status_refuses_impossible_moves(teams):
    open_lead = LeadFactory(team=teams["a"], name="Open")
    dropped = LeadFactory(team=teams["a"], name="Dropped", status=Lead.Status.DISQUALIFIED)

    job = run(
        teams["rep"],
        "leads",
        "change_status",
        {"status": "qualified"},
        ids=[open_lead.pk, dropped.pk],
    )

    assert job.succeeded == 1
    assert job.refusals == [
        {
            "record": dropped.pk,
            "label": str(dropped),
            # LEAD_STATUS_MOVES: a disqualified lead may only go back to contacted.
            "reason": "A Disqualified lead cannot be marked Qualified.",
        }
    ]
    open_lead.refresh_from_db()
    assert open_lead.status == Lead.Status.QUALIFIED


def test_deal_team_and_activity(teams):
    deal = OpportunityFactory(team=teams["a"], customer=CustomerFactory(team=teams["a"]))

    moved = run(teams["boss"], "deals", "assign_owner", {"owner": teams["mate"].pk}, ids=[deal.pk])
    logged = run(
        teams["boss"],
        "deals",
        "add_activity",
        {"activity_kind": "task", "subject": "Send quote", "due_on": "2026-12-11"},
        ids=[deal.pk],
    )

    deal.refresh_from_db()
    assert moved.succeeded == 1
    assert deal.owner == teams["mate"]
    assert logged.succeeded == 1
    assert Activity.objects.get(opportunity=deal).customer_id == deal.customer_id


def test_ticket_status_through_the_status_machine(teams):
    agent = UserFactory(username="agent", role=SUPPORT_AGENT)
    teams["a"].members.add(agent)
    new = TicketFactory(team=teams["a"], customer=CustomerFactory(team=teams["a"]))
    closed = TicketFactory(team=teams["a"], customer=new.customer, status=Ticket.Status.CLOSED)

    job = run(agent, "tickets", "change_status", {"status": "pending"}, ids=[new.pk, closed.pk])

    assert job.succeeded == 1
    assert [r["record"] for r in job.refusals] == [closed.pk]
    assert job.refusals[0]["reason"]
    new.refresh_from_db()
    assert new.status == Ticket.Status.PENDING


def test_job_page_and_status_of_another_user_are_404(client, teams):
    job = run(
        teams["rep"],
        "customers",
        "assign_owner",
        {"owner": teams["rep"].pk},
        ids=[CustomerFactory(team=teams["a"]).pk],
    )
    client.force_login(teams["mate"])

    assert client.get(reverse("bulk:job", args=[job.pk])).status_code == 404
    assert client.get(reverse("bulk:status", args=[job.pk])).status_code == 404

    client.force_login(teams["rep"])
    page = client.get(reverse("bulk:job", args=[job.pk]))
    assert page.status_code == 200
    assert "1 record changed." in page.content.decode()
    assert client.get(reverse("bulk:status", args=[job.pk])).json()["percent"] == 100


def test_start_from_the_list_with_every_matching_row(client, teams):
    segment = SegmentFactory(name="SMB")
    CustomerFactory.create_batch(2, team=teams["a"], status="prospect")
    CustomerFactory(team=teams["a"], status="active", acquired_at=timezone.now())
    client.force_login(teams["rep"])

    response = client.post(
        reverse("bulk:start", args=["customers"]),
        {
            "scope": "filter",
            "query": "status=prospect&page=2",
            "action": "change_segment",
            "change_segment-segment": segment.pk,
        },
    )

    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk:job", args=[job.pk])
    # Only the 2 prospects match; the page number is not part of the filter.
    assert (job.filter_snapshot, job.total, job.succeeded) == ("status=prospect", 2, 2)
    assert Customer.objects.filter(segment=segment, status="prospect").count() == 2


def test_bad_parameter_saves_nothing_and_says_why(client, teams):
    customer = CustomerFactory(team=teams["a"])
    client.force_login(teams["rep"])

    response = client.post(
        reverse("bulk:start", args=["customers"]),
        {"ids": [customer.pk], "action": "assign_owner", "assign_owner-owner": ""},
        follow=True,
    )

    assert not BulkJob.objects.exists()
    assert "Owner: This field is required." in response.content.decode()


def test_roles_without_the_list_get_403(client, teams):
    agent = UserFactory(username="agent2", role=SUPPORT_AGENT)
    client.force_login(agent)

    response = client.post(reverse("bulk:start", args=["leads"]), {"scope": "filter"})

    assert response.status_code == 403


def test_export_of_the_selection_holds_only_ticked_visible_rows(client, teams):
    picked = CustomerFactory(team=teams["a"], name="Picked")
    CustomerFactory(team=teams["a"], name="Not picked")
    theirs = CustomerFactory(team=teams["b"], name="Theirs")
    client.force_login(teams["rep"])

    response = client.post(
        reverse("bulk:start", args=["customers"]),
        {"ids": [picked.pk, theirs.pk], "action": "export"},
    )

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200
    assert "Picked" in body
    assert "Not picked" not in body
    assert "Theirs" not in body


def test_large_selection_goes_to_the_worker_after_commit(
    client, teams, django_capture_on_commit_callbacks
):
    count = bulk.BULK_INLINE_MAX + 1
    CustomerFactory.create_batch(count, team=teams["a"])
    client.force_login(teams["rep"])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            reverse("bulk:start", args=["customers"]),
            {"scope": "filter", "action": "assign_team", "assign_team-team": teams["a"].pk},
        )
    job = BulkJob.objects.get()
    assert (job.status, job.done) == (BulkJob.Status.QUEUED, 0)

    for callback in callbacks:  # the commit: the outbox publishes, the eager task runs
        callback()

    job.refresh_from_db()
    assert (job.status, job.done, job.succeeded) == (BulkJob.Status.DONE, count, count)


def _queries_for(user, n, teams):
    CustomerFactory.create_batch(n, team=teams["a"])
    kind = bulk_kind("customers")
    job = BulkJob.objects.create(
        user=user,
        kind="customers",
        action="assign_owner",
        params={"assign_owner-owner": str(teams["mate"].pk)},
        total=n,
    )
    with CaptureQueriesContext(connection) as queries:
        bulk_job_run(job_id=job.pk)
    Customer.objects.all().delete()
    assert kind is not None
    return len(queries)


def test_queries_grow_by_a_fixed_number_per_record_and_per_chunk(teams, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_CHUNK_SIZE", 4)
    # 4, 8 and 12 rows: 1, 2 and 3 full chunks (plus the empty read that ends the walk).
    four, eight, twelve = (_queries_for(teams["rep"], n, teams) for n in (4, 8, 12))

    per_chunk = eight - four
    assert twelve - eight == per_chunk
    # customer_update per record: lock, validation of each relation, save, audit context … a
    # fixed handful; plus one read of the chunk and one progress write.
    assert per_chunk <= 4 * 15


def test_action_fields_offer_only_people_and_teams_of_the_users_teams(client, teams):
    client.force_login(teams["rep"])

    owners = client.get(reverse("bulk:fields", args=["customers"]), {"action": "assign_owner"})
    team_menu = client.get(reverse("bulk:fields", args=["customers"]), {"action": "assign_team"})
    export = client.get(reverse("bulk:fields", args=["customers"]), {"action": "export"})

    html = owners.content.decode()
    assert ">mate<" in html
    assert ">boss<" in html
    assert ">outsider<" not in html
    assert ">A<" in team_menu.content.decode()
    assert ">B<" not in team_menu.content.decode()
    assert export.content == b""

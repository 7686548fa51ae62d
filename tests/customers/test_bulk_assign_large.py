"""A bulk assign over 100,001 customers runs in bounded memory, in every run on PostgreSQL.

The job goes the way a manager's "assign all N matching" goes: created by the engine for the
customer list's real selection (the manager's visible, filtered customers), run by the Celery
task's function, walked in keyset chunks with progress written per chunk. Two measurements:

- the real assign action over all 100,001 rows: the customers service takes a chunk set-based
  (`customers_reassign`, one locked read and one UPDATE a chunk; the audit trail's triggers still
  write one event per customer), and the peak stays under PEAK_BYTES_MAX;
- an action that goes through `customer_update` record by record (change of segment) over 201
  and 801 rows: its peak does not grow with the rows either (one chunk against four).
"""

import time
import tracemalloc

import pytest
from django.db import connection

from audit.selectors import event_model_for
from crm.bulk import bulk_job_create, bulk_job_runs_inline, bulk_kind
from crm.models import BulkJob
from crm.roles import MANAGER, SALES_REP
from crm.tasks import bulk_job_run_task
from customers.models import Customer, Segment
from customers.services import customers_reassign
from tests.customers.factories import TeamFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="sized for PostgreSQL, as CI runs it"
    ),
]

ROWS = 100_001
# One chunk of 200 customers is well under 1 MB; 100,001 customers held at once would take
# about 200 MB, so a cap of 6 MB fails loudly if the walk ever holds the selection.
PEAK_BYTES_MAX = 6 * 1024 * 1024


@pytest.fixture
def crew():
    boss = UserFactory(username="boss", role=MANAGER)
    team = TeamFactory(name="Large", manager=boss)
    rep = UserFactory(username="rep", role=SALES_REP)
    team.members.add(rep)
    return boss, team, rep


def customers_create(count: int, team) -> None:
    """`count` customers of `team`, set-based: bulk_create in batches of 10,000 (a batch at a
    time, so building the fixture does not itself hold 100,001 objects)."""
    made = 0
    while made < count:
        batch = min(10_000, count - made)
        Customer.objects.bulk_create(
            [Customer(name=f"Customer {made + n}", team=team) for n in range(batch)],
            batch_size=batch,
        )
        made += batch


def bulk_job(boss, action_key: str, params: dict[str, str]) -> BulkJob:
    kind = bulk_kind("customers")
    assert kind is not None
    action = kind.action(action_key)
    assert action is not None
    return bulk_job_create(user=boss, kind=kind, action=action, params=params, query="")


def run_measured(job: BulkJob) -> tuple[BulkJob, int, float]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        status = bulk_job_run_task(job_id=job.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == BulkJob.Status.DONE
    job.refresh_from_db()
    return job, peak, time.monotonic() - started


def test_assigning_100001_customers_stays_under_the_memory_cap(crew):
    boss, team, rep = crew
    started = time.monotonic()
    customers_create(ROWS, team)
    job = bulk_job(boss, "assign_owner", {"assign_owner-owner": str(rep.pk)})
    # Far beyond what runs within a request: the list hands it to a worker.
    assert (job.total, bulk_job_runs_inline(job)) == (ROWS, False)
    events = event_model_for(Customer).objects
    events_before = events.count()

    created = time.monotonic() - started
    job, peak, seconds = run_measured(job)
    print(f"created in {created:.1f} s, assigned in {seconds:.1f} s, peak {peak / 1e6:.2f} MB")

    assert (job.done, job.succeeded, len(job.refusals)) == (ROWS, ROWS, 0)
    assert Customer.objects.filter(owner=rep).count() == ROWS
    # Every customer's change is in the audit trail, under the manager who ran the job.
    assert events.count() - events_before == ROWS
    assert events.filter(pgh_context__user=boss.pk).count() == ROWS
    assert peak < PEAK_BYTES_MAX, f"peak {peak / 1e6:.1f} MB"


def test_a_chunk_s_merged_customer_is_refused_and_left_alone(crew):
    boss, team, rep = crew
    customers_create(3, team)
    first, second, third = Customer.objects.order_by("pk")
    # Merged after the engine read the chunk, before the service locked it.
    Customer.objects.filter(pk=second.pk).update(merged_into=first)

    refusals = customers_reassign(customers=[first, second, third], owner=rep, actor=boss)

    assert list(refusals) == [second.pk]
    assert "merged" in " ".join(refusals[second.pk].messages)
    owned = Customer.objects.filter(owner=rep).values_list("pk", flat=True)
    assert sorted(owned) == [first.pk, third.pk]


def test_a_per_record_action_s_peak_memory_does_not_grow_with_the_rows(crew):
    boss, team, _rep = crew
    gold = Segment.objects.create(code="gold", name="Gold")
    peaks = {}
    for rows in (201, 801):
        Customer.objects.all().delete()
        customers_create(rows, team)
        job = bulk_job(boss, "change_segment", {"change_segment-segment": str(gold.pk)})
        job, peaks[rows], _seconds = run_measured(job)
        assert (job.done, job.succeeded) == (rows, rows)
        assert Customer.objects.filter(segment=gold).count() == rows

    # Four times the rows (four chunks, not one): the peak stays within about one chunk's worth
    # (1 MB) of the smaller run's, and under the cap.
    assert peaks[801] < peaks[201] + 1024 * 1024, peaks
    assert peaks[801] < PEAK_BYTES_MAX, peaks

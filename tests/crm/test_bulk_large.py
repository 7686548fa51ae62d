"""A bulk action over a large selection runs in bounded memory: the engine walks the selection
in keyset chunks and never holds more than one chunk of records.

The 100,000-row run takes minutes on a shared machine (100,000 records are built, one chunk at a
time), so it is marked `slow` and left out of the default run (`pytest -m slow` runs it); the
10,000-row run checks the same bound in every run."""

import dataclasses
import time
import tracemalloc

import pytest
from django.db import connection
from django.utils import timezone

from crm import bulk
from crm.bulk import BulkAction, bulk_job_run, bulk_kind
from crm.models import BulkJob
from crm.roles import MANAGER
from customers.models import Customer
from tests.customers.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# One chunk of 200 customers is well under 1 MB (measured: 1.4 MB peak over 100,000 rows);
# 10,000 customers held at once would take about 20 MB, 100,000 about 200 MB.
PEAK_BYTES_MAX = 6 * 1024 * 1024


def _customers_create(count: int, team) -> None:
    """`count` customers of `team`, fast: on PostgreSQL one INSERT … SELECT copying a template
    row, with the audit triggers off for the copy (it is fixture data, not a change)."""
    template = Customer.objects.create(name="Customer 0", team=team, created_at=timezone.now())
    if connection.vendor != "postgresql":
        Customer.objects.bulk_create(
            (
                Customer(name=f"Customer {n}", team=team, created_at=template.created_at)
                for n in range(1, count)
            ),
            batch_size=5000,
        )
        return
    columns = [
        field.column for field in Customer._meta.concrete_fields if field.column not in ("id",)
    ]
    copied = ", ".join(
        "'Customer ' || n" if column == "name" else f'c."{column}"' for column in columns
    )
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"INSERT INTO customers_customer ({names}) "
            f"SELECT {copied} FROM customers_customer c, generate_series(1, %s) n "
            "WHERE c.id = %s",
            [count - 1, template.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        cursor.execute("ANALYZE customers_customer")


def _walk(rows: int, monkeypatch) -> None:
    boss = UserFactory(username="boss", role=MANAGER)
    team = TeamFactory(name="Large", manager=boss)
    _customers_create(rows, team)
    # A cheap action, so the test measures the engine's walk, not 100,000 service calls.
    seen: list[int] = []
    kind = bulk_kind("customers")
    assert kind is not None
    probe = BulkAction("probe", "Probe", lambda record, values, actor: seen.append(1))
    monkeypatch.setitem(bulk._KINDS, "customers", dataclasses.replace(kind, actions=(probe,)))
    job = BulkJob.objects.create(user=boss, kind="customers", action="probe", total=rows)

    tracemalloc.start()
    started = time.monotonic()
    try:
        job = bulk_job_run(job_id=job.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (job.status, job.done, job.succeeded, job.refused) == ("done", rows, rows, 0)
    assert len(seen) == rows
    assert peak < PEAK_BYTES_MAX, f"peak {peak / 1e6:.1f} MB"
    print(f"{rows:,} rows in {time.monotonic() - started:.1f} s, peak {peak / 1e6:.1f} MB")


def test_10000_rows_in_bounded_memory(monkeypatch):
    _walk(10_000, monkeypatch)


@pytest.mark.slow
def test_100000_rows_in_bounded_memory(monkeypatch):
    _walk(100_000, monkeypatch)

"""Encryption cost on pages: the customer list, an exact e-mail search and the customer page.

Usage (after `import_bench.py` has filled the database with 20,000 customers):
    .venv/bin/python benchmarks/encryption_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/pulse_crypto_bench_on [--repo PATH]

`--repo` picks the checkout whose code serves the pages, so the same script measures a checkout
without encryption (off) and one with it (on), each against its own migrated database. It gives
the first 200 customers 3 contacts each (e-mail and phone, written through the ORM, so encrypted
when the code encrypts), then times, in one child process with the Django test client and an
Admin user: the customer list (page 1), the list searched by one whole e-mail address, and the
customer page of 50 customers. Prints the median and the 90th percentile in milliseconds, the
queries of one request, and (with encryption) the cost of one encrypt, decrypt and blind index.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import statistics, time
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, reset_queries
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from customers.models import Contact, Customer

# Keep one connection across requests (as a server with CONN_MAX_AGE would): the query count
# needs it, and a reconnect per request would only add the same noise to both checkouts.
request_started.disconnect(close_old_connections)
request_finished.disconnect(close_old_connections)
REQUESTS = int(__import__("os").environ["BENCH_REQUESTS"])
first = list(Customer.objects.order_by("id")[:200])
if not Contact.objects.filter(customer__in=first).exists():
    Contact.objects.bulk_create(
        Contact(customer=c, first_name=f"P{n}", last_name=c.name, email=f"p{n}.{c.pk}@example.com",
                phone=f"+49 30 {c.pk:06d}{n}")
        for c in first for n in range(3)
    )
user, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
user.groups.add(Group.objects.get(name="Admin"))
client = Client()
client.force_login(user)
email = first[7].email

def timed(label, url, params=None):
    client.get(url, params or {})  # warm-up
    samples = []
    reset_queries()  # DEBUG keeps a bounded query log; a full one would capture nothing
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params or {})
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url, params or {})
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    p90 = samples[int(len(samples) * 0.9) - 1]
    print(f"{label:<34} {statistics.median(samples):>8.1f} {p90:>8.1f} {len(queries):>8}")

print(f"{'page':<34} {'median':>8} {'p90 ms':>8} {'queries':>8}")
timed("customer list (page 1)", reverse("customers:list"))
timed("customer list, ?q=<whole e-mail>", reverse("customers:list"), {"q": email})
samples = []
for customer in first[:50]:
    url = reverse("customers:detail", args=[customer.pk])
    client.get(url)
    started = time.perf_counter()
    assert client.get(url).status_code == 200
    samples.append((time.perf_counter() - started) * 1000)
samples.sort()
print(f"{'customer page (3 contacts)':<34} {statistics.median(samples):>8.1f} {samples[44]:>8.1f}")

try:
    from crm.encryption.ciphers import blind_index, decrypt, encrypt
except ImportError:  # the checkout without encryption
    raise SystemExit(0)
token = encrypt("firstname.lastname@example.com")
for label, call in (
    ("encrypt one e-mail", lambda: encrypt("firstname.lastname@example.com")),
    ("decrypt one e-mail", lambda: decrypt(token)),
    ("blind index of one e-mail", lambda: blind_index("email", "Firstname.Lastname@example.com")),
):
    started = time.perf_counter()
    for _ in range(20000):
        call()
    print(f"{label:<34} {(time.perf_counter() - started) / 20000 * 1e6:>8.1f} µs")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "PYTHONPATH": options.repo,
        "BENCH_REQUESTS": str(options.requests),
    }
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=options.repo, check=True)


if __name__ == "__main__":
    main()

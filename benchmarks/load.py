"""A bounded load run against a running Pulse CRM (issue 14): gunicorn, DEBUG off, demo data.

Loopback only: the script refuses any other host. Each scenario sends a fixed number of requests
from a few threads and stops; nothing runs longer than the counts given. Prints requests per
second and p50/p95/p99 latency per scenario, and the number of errors (a status other than the
expected one, or a connection error). `load_run.sh` prepares the database and the server.

    python benchmarks/load.py --base-url http://127.0.0.1:8781 --username manager \
        --password pulse-demo-manager --token TOKEN [--requests 200] [--threads 4]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def row(self, threads: int) -> str:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            if not ordered:
                return float("nan")
            index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
            return ordered[index] * 1000

        rate = len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0
        return (
            f"| {self.name} | {len(self.latencies) + len(self.errors)} | {threads} | {rate:.1f} | "
            f"{pct(50):.0f} | {pct(95):.0f} | {pct(99):.0f} | "
            f"{statistics.fmean(ordered) * 1000 if ordered else float('nan'):.0f} | "
            f"{len(self.errors)} |"
        )


def signed_in_session(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=30)
    response = session.post(
        f"{base_url}/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base_url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {username}: HTTP {response.status_code}")
    return session


def run_scenario(
    name: str,
    request: Callable[[requests.Session], int],
    make_session: Callable[[], requests.Session],
    *,
    expected: int,
    count: int,
    threads: int,
) -> Result:
    result = Result(name)
    lock = threading.Lock()
    local = threading.local()

    def one(_: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = make_session()
        started = time.perf_counter()
        try:
            status = request(session)
        except requests.RequestException as exc:
            with lock:
                result.errors.append(type(exc).__name__)
            return
        elapsed = time.perf_counter() - started
        with lock:
            if status == expected:
                result.latencies.append(elapsed)
            else:
                result.errors.append(f"HTTP {status}")

    # A few untimed requests first: each worker process imports and warms its caches once.
    warm = make_session()
    for _ in range(threads):
        request(warm)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(count)))
    result.wall_seconds = time.perf_counter() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8781")
    parser.add_argument("--username", default="manager")
    parser.add_argument("--password", default="pulse-demo-manager")
    parser.add_argument("--token", required=True, help="an API token of the same user")
    parser.add_argument("--kpi", default="churn_rate", help="the KPI page timed")
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    parser.add_argument("--login-requests", type=int, default=40, help="sign-ins (PBKDF2 is slow)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    if urlsplit(base).hostname not in LOOPBACK:
        raise SystemExit("load runs target loopback only")

    def page_session() -> requests.Session:
        return signed_in_session(base, args.username, args.password)

    def token_session() -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {args.token}"
        return session

    def login(session: requests.Session) -> int:
        fresh = requests.Session()
        fresh.get(f"{base}/login/", timeout=30)
        return fresh.post(
            f"{base}/login/",
            data={
                "username": args.username,
                "password": args.password,
                "csrfmiddlewaretoken": fresh.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/login/"},
            allow_redirects=False,
            timeout=30,
        ).status_code

    def get(path: str) -> Callable[[requests.Session], int]:
        return lambda session: session.get(f"{base}{path}", timeout=60).status_code

    # Static files: hashed names from the page, served by WhiteNoise with a year of caching.
    html = page_session().get(f"{base}/customers/", timeout=60).text
    css = re.search(r'href="(/static/css/pulse\.[0-9a-f]{12}\.css)"', html)
    if css is None:
        raise SystemExit("the page does not link a hashed stylesheet: is DEBUG off?")
    static = requests.get(f"{base}{css.group(1)}", timeout=30)
    if static.status_code != 200 or "max-age=315360000" not in static.headers.get(
        "Cache-Control", ""
    ):
        raise SystemExit(
            f"static file not served as expected: {static.status_code} {static.headers}"
        )
    print(f"static: {css.group(1)} 200, Cache-Control: {static.headers['Cache-Control']}")

    scenarios = [
        ("sign-in (POST /login/)", login, page_session, 302, args.login_requests),
        ("KPI overview (/kpis/)", get("/kpis/"), page_session, 200, args.requests),
        (
            f"KPI page (/kpis/kpi/{args.kpi}/)",
            get(f"/kpis/kpi/{args.kpi}/"),
            page_session,
            200,
            args.requests,
        ),
        ("customer list (/customers/)", get("/customers/"), page_session, 200, args.requests),
        (
            "API customers (/api/v1/customers/)",
            get("/api/v1/customers/"),
            token_session,
            200,
            args.requests,
        ),
        ("API orders (/api/v1/orders/)", get("/api/v1/orders/"), token_session, 200, args.requests),
    ]
    print("| scenario | requests | threads | req/s | p50 ms | p95 ms | p99 ms | mean ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    errors = 0
    for name, request, make_session, expected, count in scenarios:
        result = run_scenario(
            name, request, make_session, expected=expected, count=count, threads=args.threads
        )
        errors += len(result.errors)
        print(result.row(args.threads), flush=True)
        if result.errors:
            print(f"  errors: {sorted(set(result.errors))}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

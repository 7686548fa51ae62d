"""Load a large, realistic Pulse CRM data set into PostgreSQL with COPY (KPI scale benchmark).

Usage:
    .venv/bin/python benchmarks/generate.py --scale 1.0 \
        --database-url postgres://postgres@127.0.0.1:5432/pulse_bench

Scale 1.0 means 100k customers, 1M orders (≈2.5M lines), 200k tickets (≈5 messages and ≈4
status changes each), 100k survey responses (≈2.4 invitations each), 50k leads and 20k
opportunities over the 24 months [2024-11-01, 2026-11-01) UTC. The run is deterministic for a
given --seed and --scale.

Design choices (why):
- Rows are formatted as COPY text by hand and streamed in 10k-row chunks; nothing bigger than
  per-customer summaries (a few lists of 100k numbers) is ever held in memory.
- Big tables are written in time order (ids ascend with dates) like a real insert-only history:
  orders come from a heap merge of per-customer lazy timelines, tickets and activities from lazily
  generated sorted uniforms. Physical order matters for the engine's range scans.
- Each table has its own connection and COPY stream so related tables (orders, lines, refunds,
  survey invitations) are written in one pass. The streams run with
  session_replication_role=replica, which skips FK triggers (the generator keeps references
  consistent itself); CHECK constraints and indexes still apply.
- The denormalised fields the KPI engine reads (Order.net_amount, ticket first-response and
  resolution minutes, SLA flags, Customer.acquired_at/churned_at/status) are precomputed here the
  way the services compute them. Business minutes are approximated (a Mon–Fri 9–17 schedule holds
  40 of 168 weekly hours) rather than walked minute by minute.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import heapq
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/pulse_bench"
START = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
MONTHS = 24
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
WINDOW = int((END - START).total_seconds())
DAY = 86400
MINUTE = 60

BASE_SIZES = {
    "customers": 100_000,
    "orders": 1_000_000,
    "tickets": 200_000,
    "responses": 100_000,
    "leads": 50_000,
    "opportunities": 20_000,
    "activities": 200_000,
    "retention_cases": 5_000,
}

# Every table the generator owns; truncated (CASCADE) before loading. auth_user is not in the
# list: only the benchmark's own users (ids above USER_BASE) are deleted and re-inserted.
TABLES = [
    "customers_team",
    "customers_team_members",
    "customers_channel",
    "customers_segment",
    "customers_customer",
    "customers_contact",
    "sales_campaign",
    "sales_lead",
    "sales_pipelinestage",
    "sales_opportunity",
    "sales_opportunitystagechange",
    "sales_productline",
    "sales_product",
    "sales_order",
    "sales_orderline",
    "sales_refund",
    "sales_activity",
    "sales_marketingspend",
    "sales_salescost",
    "sales_retentioncase",
    "support_businessschedule",
    "support_businesshours",
    "support_holiday",
    "support_slapolicy",
    "support_ticket",
    "support_ticketmessage",
    "support_ticketstatuschange",
    "surveys_survey",
    "surveys_surveyinvitation",
    "surveys_surveyresponse",
    "kpis_kpisnapshot",
    "kpis_kpirun",
]

N = "\\N"

# --- time formatting -------------------------------------------------------------------------
# Timestamps are seconds since START (UTC); formatting through a precomputed day table is ~10x
# faster than datetime.isoformat().
_DAY_OFFSET = 1200
_DAYS = [
    (START.date() + dt.timedelta(days=i - _DAY_OFFSET)).isoformat()
    for i in range(2 * _DAY_OFFSET + WINDOW // DAY)
]


def ts(t: float) -> str:
    d, s = divmod(int(t), DAY)
    return f"{_DAYS[d + _DAY_OFFSET]} {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+00"


def day_of(t: float) -> str:
    return _DAYS[int(t) // DAY + _DAY_OFFSET]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def opt(value: Any) -> str:
    return N if value is None else str(value)


def weekday_offset(t: float) -> int:
    """0 = Monday for the UTC day of t (START is a Friday)."""
    return (int(t) // DAY + START.weekday()) % 7


def business_minutes(calendar_minutes: int) -> int:
    # 40 working hours out of 168; at least one minute once any time passed.
    if calendar_minutes <= 0:
        return 0
    return max(1, round(calendar_minutes * 40 / 168))


def lazy_sorted_uniforms(rng: random.Random, n: int, low: float, high: float) -> Iterator[float]:
    """n sorted uniform points in [low, high), lazily.

    Order statistics: next = cur + (high − cur)(1 − U^(1/k)) with k points still to place.
    """
    cur = low
    for k in range(n, 0, -1):
        cur = cur + (high - cur) * (1.0 - rng.random() ** (1.0 / k))
        yield cur


def growth(u: float) -> float:
    """Maps a uniform u in [0,1) to a share of the window with a business growing over time.

    Half uniform, half linear growth (density ∝ t): F⁻¹ of the mixture, monotone so sorted
    uniforms stay sorted.
    """
    # F(x) = 0.5x + 0.5x² → x = (−0.5 + sqrt(0.25 + 2u)) / 1
    return -0.5 + math.sqrt(0.25 + 2.0 * u)


# --- COPY streams --------------------------------------------------------------------------


def copy_text(value: Any) -> str:
    if value is None:
        return N
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


LOAD_TIME = dt.datetime.now(dt.UTC).replace(microsecond=0)


def model_defaults(table: str, columns: str) -> tuple[str, str]:
    """Columns of `table` the generator does not write, with their Django model defaults.

    Other apps keep adding fields (e.g. SLA escalation settings); a NOT NULL column without a
    database default would make COPY fail, so such columns are filled with the model's default
    (or NULL / "" when the model allows it). Returns (", col1, col2", "\tv1\tv2").
    """
    from django.apps import apps

    written = {column.strip() for column in columns.split(",")}
    for model in apps.get_models():
        if model._meta.db_table != table:
            continue
        names: list[str] = []
        values: list[str] = []
        for model_field in model._meta.concrete_fields:
            if model_field.column in written:
                continue
            if model_field.has_default():
                value = model_field.get_default()
            elif model_field.null:
                value = None
            elif model_field.empty_strings_allowed:
                value = ""
            elif getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                # A timestamp the model sets on save (e.g. updated_at): the load's moment.
                value = LOAD_TIME
            else:
                raise SystemExit(f"{table}.{model_field.column}: NOT NULL without a default")
            names.append(model_field.column)
            values.append(copy_text(value))
        return "".join(f", {name}" for name in names), "".join(f"\t{v}" for v in values)
    return "", ""


class CopyStream:
    """One table, one connection, one COPY FROM STDIN; rows are buffered and sent in chunks."""

    CHUNK = 10_000

    def __init__(self, url: str, table: str, columns: str) -> None:
        self.table = table
        self.rows = 0
        extra_columns, self.suffix = model_defaults(table, columns)
        self.conn = psycopg.connect(url)
        self.conn.execute("SET session_replication_role = replica")
        self.conn.execute("SET synchronous_commit = off")
        self._cm = self.conn.cursor().copy(f"COPY {table} ({columns}{extra_columns}) FROM STDIN")
        self.copy = self._cm.__enter__()
        self.buf: list[str] = []

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.rows += len(self.buf)
            if self.suffix:
                # Rare (a new model field): splice the defaults in before each newline.
                self.buf = [line[:-1] + self.suffix + "\n" for line in self.buf]
            self.copy.write("".join(self.buf))
            self.buf.clear()

    def close(self) -> int:
        self.flush()
        self._cm.__exit__(None, None, None)
        self.conn.commit()
        self.conn.close()
        return self.rows


class Counters:
    """Survey ids shared by the phases that send invitations (orders, tickets, relationship)."""

    def __init__(self) -> None:
        self.invitation = 0
        self.response = 0


INVITATION_COLUMNS = (
    "id, token, status, created_at, sent_at, expires_at, reminded_at, customer_id, order_id, "
    "survey_id, ticket_id"
)
RESPONSE_COLUMNS = (
    "id, kind, score, comment, responded_at, external_id, customer_id, invitation_id, "
    "order_id, survey_id, ticket_id"
)


class Loader:
    def __init__(self, url: str) -> None:
        self.url = url
        self.streams: dict[str, CopyStream] = {}
        self.report: list[tuple[str, str, int, float]] = []
        self.surveys = Counters()

    def survey_streams(self) -> tuple[CopyStream, CopyStream]:
        return (
            self.stream("surveys_surveyinvitation", INVITATION_COLUMNS),
            self.stream("surveys_surveyresponse", RESPONSE_COLUMNS),
        )

    def stream(self, table: str, columns: str) -> CopyStream:
        if table not in self.streams:
            self.streams[table] = CopyStream(self.url, table, columns)
        return self.streams[table]

    def finish_phase(self, phase: str, started: float, tables: list[str]) -> None:
        """Close the tables written in this phase and record rows/s against the phase's time."""
        rows = {table: self.streams.pop(table).close() for table in tables if table in self.streams}
        elapsed = time.perf_counter() - started
        for table, count in rows.items():
            self.report.append((phase, table, count, elapsed))
            print(
                f"  {table:<32} {count:>10,} rows  {count / elapsed:>12,.0f} rows/s"
                f"  (phase {phase}: {elapsed:.1f} s)",
                flush=True,
            )


# --- the model of the business -------------------------------------------------------------

SEGMENTS = [
    # id, code, name, inactivity_days, share
    (1, "consumer", "Consumer", 60, 0.35),
    (2, "smb", "SMB", None, 0.35),
    (3, "mid-market", "Mid-market", 120, 0.20),
    (4, "enterprise", "Enterprise", 180, 0.10),
]
CHANNELS = [
    # id, code, name, is_paid, share
    (1, "organic-search", "Organic search", False, 0.24),
    (2, "paid-search", "Paid search", True, 0.18),
    (3, "paid-social", "Paid social", True, 0.12),
    (4, "referral", "Referral", False, 0.10),
    (5, "partner", "Partner", False, 0.08),
    (6, "email", "E-mail", True, 0.10),
    (7, "events", "Events", True, 0.06),
    (8, "direct", "Direct", False, 0.12),
]
SALES_TEAMS = [1, 2, 3, 4]
SUPPORT_TEAMS = [5, 6]
TEAM_NAMES = ["Sales North", "Sales South", "Sales East", "Sales West", "Support EU", "Support US"]
USERS_PER_TEAM = 10
# Benchmark users get ids far above real ones so the generator never touches other users (the
# KPI weight versions reference auth_user; truncating it would cascade into them).
USER_BASE = 100_000


def user_id(team: int, k: int) -> int:
    """User k (1-based) of team `team`; user 1 of each team is its manager."""
    return USER_BASE + (team - 1) * USERS_PER_TEAM + k


PRODUCT_LINES = ["hardware", "software", "services", "training", "support-plans", "accessories"]
PRODUCTS_PER_LINE = 30
STAGES = [
    # id, code, name, position, probability, won, lost
    (1, "prospecting", "Prospecting", 1, "0.100", False, False),
    (2, "qualification", "Qualification", 2, "0.250", False, False),
    (3, "proposal", "Proposal", 3, "0.500", False, False),
    (4, "negotiation", "Negotiation", 4, "0.750", False, False),
    (5, "won", "Closed won", 5, "1.000", True, False),
    (6, "lost", "Closed lost", 6, "0.000", False, True),
]
SURVEY_CSAT, SURVEY_ORDER_NPS, SURVEY_RELATIONSHIP_NPS = 1, 2, 3
# (id, priority, first response minutes, resolution minutes)
SLA_POLICIES = [(1, "urgent", 60, 480), (2, "high", 120, 960), (3, "normal", 240, 1440)]
SLA_FOR_PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 3}
CURRENCIES = [("EUR", 0.80, 1.0), ("USD", 0.12, 0.92), ("GBP", 0.08, 1.17)]


def rate_micro(currency_index: int, t: float) -> int:
    """Exchange rate (organisation EUR per unit, 6 decimals) for the order's month."""
    base = CURRENCIES[currency_index][2]
    if currency_index == 0:
        return 1_000_000
    month = int(t // (30.44 * DAY))
    return round(base * (1 + 0.04 * math.sin(month / 3 + currency_index)) * 1_000_000)


def half_even_div(numerator: int, denominator: int) -> int:
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2 == 1):
        q += 1
    return q


def pick(rng: random.Random, shares: list[float]) -> int:
    u = rng.random()
    acc = 0.0
    for i, share in enumerate(shares):
        acc += share
        if u < acc:
            return i
    return len(shares) - 1


class Customers:
    """Per-customer attributes and order plan, held as flat lists (100k entries each)."""

    def __init__(self, rng: random.Random, count: int, orders_target: int) -> None:
        self.count = count
        # ids 1..count in creation order.
        self.created = [0.0] + [
            growth(u) * WINDOW * 0.97 for u in lazy_sorted_uniforms(rng, count, 0.0, 1.0)
        ]
        seg_shares = [s[4] for s in SEGMENTS]
        ch_shares = [c[4] for c in CHANNELS]
        self.segment = [0] * (count + 1)
        self.channel = [0] * (count + 1)
        self.team = [0] * (count + 1)
        self.owner = [0] * (count + 1)
        self.from_lead = [False] * (count + 1)
        self.contract = [False] * (count + 1)
        self.referrer = [0] * (count + 1)
        self.n_orders = [0] * (count + 1)
        self.spans: list[tuple[float, ...]] = [()] * (count + 1)
        self.first_order = [0.0] * (count + 1)
        weights = [0.0] * (count + 1)
        for c in range(1, count + 1):
            seg = pick(rng, seg_shares) + 1
            self.segment[c] = seg if rng.random() < 0.93 else 0
            ch = pick(rng, ch_shares) + 1
            self.channel[c] = ch
            team = SALES_TEAMS[c % 4]
            self.team[c] = team if rng.random() < 0.97 else 0
            self.owner[c] = user_id(team, rng.randint(2, USERS_PER_TEAM))
            if rng.random() < 0.08:
                self.owner[c] = 0
            self.from_lead[c] = rng.random() < 0.12
            self.contract[c] = seg == 4 and rng.random() < 0.5
            if ch == 4 and c > 10:
                self.referrer[c] = rng.randint(1, c - 1)
            # 12% never order (prospects, or converted leads that did not buy yet).
            if rng.random() < 0.12:
                continue
            t0 = self.created[c] + (0.0 if self.from_lead[c] else rng.random() * 3 * DAY)
            if self.from_lead[c]:
                t0 += rng.random() * 20 * DAY
            if t0 >= WINDOW - DAY:
                continue
            self.first_order[c] = t0
            # Active spans: churn at some point for 40%, a third of whom come back later.
            end1 = float(WINDOW)
            spans: tuple[float, ...] = (t0, end1)
            if rng.random() < 0.40:
                end1 = t0 + rng.random() * (WINDOW - t0)
                back = end1 + rng.uniform(100, 300) * DAY
                if rng.random() < 0.35 and back < WINDOW - 10 * DAY:
                    spans = (t0, end1, back, float(WINDOW))
                else:
                    spans = (t0, end1)
            self.spans[c] = spans
            active = spans[1] - spans[0] + (spans[3] - spans[2] if len(spans) == 4 else 0.0)
            weights[c] = rng.lognormvariate(0.0, 1.0) * active
        ordering = [c for c in range(1, count + 1) if weights[c] > 0]
        extra = max(0, orders_target - len(ordering))
        total_weight = sum(weights) or 1.0
        # Cumulative rounding hands out exactly `extra` additional orders by weight.
        cumulative = 0.0
        given = 0
        for c in ordering:
            cumulative += weights[c] * extra / total_weight
            share = int(cumulative) - given
            given += share
            self.n_orders[c] = 1 + share
        if ordering and given < extra:
            self.n_orders[ordering[-1]] += extra - given
        self.ordering = ordering
        # Filled while orders stream: first non-cancelled order and last order of each customer.
        self.acquired = [-1.0] * (count + 1)
        self.last_order = [-1.0] * (count + 1)

    def measure_to_time(self, c: int, u: float) -> float:
        spans = self.spans[c]
        first = spans[1] - spans[0]
        if u < first or len(spans) == 2:
            return spans[0] + min(u, first)
        return spans[2] + (u - first)

    def active_measure(self, c: int) -> float:
        spans = self.spans[c]
        return spans[1] - spans[0] + (spans[3] - spans[2] if len(spans) == 4 else 0.0)


# --- phases --------------------------------------------------------------------------------


def load_reference(loader: Loader, rng: random.Random) -> None:
    started = time.perf_counter()
    joined = ts(-400 * DAY)
    users = loader.stream(
        "auth_user",
        "id, password, last_login, is_superuser, username, first_name, last_name, email, "
        "is_staff, is_active, date_joined",
    )
    for u in range(USER_BASE + 1, USER_BASE + len(TEAM_NAMES) * USERS_PER_TEAM + 1):
        users.add(f"{u}\t!\t{N}\tf\tbench{u}\tUser\t{u}\tbench{u}@example.com\tf\tt\t{joined}\n")
    teams = loader.stream("customers_team", "id, name, created_at, manager_id")
    members = loader.stream("customers_team_members", "id, team_id, user_id")
    member_id = 0
    for t, name in enumerate(TEAM_NAMES, start=1):
        teams.add(f"{t}\t{name}\t{joined}\t{user_id(t, 1)}\n")
        for k in range(1, USERS_PER_TEAM + 1):
            member_id += 1
            members.add(f"{member_id}\t{t}\t{user_id(t, k)}\n")
    channels = loader.stream("customers_channel", "id, code, name, is_paid, is_active")
    for cid, code, name, paid, _share in CHANNELS:
        channels.add(f"{cid}\t{code}\t{name}\t{'t' if paid else 'f'}\tt\n")
    segments = loader.stream("customers_segment", "id, code, name, inactivity_days")
    for sid, code, name, days, _share in SEGMENTS:
        segments.add(f"{sid}\t{code}\t{name}\t{opt(days)}\n")
    lines = loader.stream("sales_productline", "id, code, name")
    products = loader.stream(
        "sales_product", "id, external_id, sku, name, unit_price, is_active, product_line_id"
    )
    for li, code in enumerate(PRODUCT_LINES, start=1):
        lines.add(f"{li}\t{code}\t{code.replace('-', ' ').title()}\n")
        for k in range(PRODUCTS_PER_LINE):
            pid = (li - 1) * PRODUCTS_PER_LINE + k + 1
            price = int(rng.lognormvariate(math.log(4000), 0.9))
            products.add(f"{pid}\t{N}\tSKU-{pid:05d}\t{code} item {k}\t{money(price)}\tt\t{li}\n")
    stages = loader.stream(
        "sales_pipelinestage", "id, code, name, position, probability, is_won, is_lost, is_active"
    )
    for sid, code, name, pos, prob, won, lost in STAGES:
        stages.add(
            f"{sid}\t{code}\t{name}\t{pos}\t{prob}\t{'t' if won else 'f'}"
            f"\t{'t' if lost else 'f'}\tt\n"
        )
    surveys = loader.stream(
        "surveys_survey",
        "id, name, kind, question, trigger, delay_hours, cooldown_days, sampling_rate, "
        "expiry_days, reminder_days, is_active",
    )
    surveys.add(
        f"{SURVEY_CSAT}\tSupport CSAT\tcsat\tHow did we do?\tticket_solved\t1\t0\t1\t14\t5\tt\n"
    )
    surveys.add(
        f"{SURVEY_ORDER_NPS}\tDelivery NPS\tnps\tWould you recommend us?\torder_delivered\t48\t60"
        "\t0.100\t14\t5\tt\n"
    )
    surveys.add(
        f"{SURVEY_RELATIONSHIP_NPS}\tRelationship NPS\tnps\tWould you recommend us?\trelationship"
        "\t0\t90\t1\t14\t5\tt\n"
    )
    schedule = loader.stream("support_businessschedule", "id, name, time_zone, is_default")
    schedule.add("1\tStandard\tEurope/Berlin\tt\n")
    hours = loader.stream("support_businesshours", "id, weekday, starts_at, ends_at, schedule_id")
    for wd in range(5):
        hours.add(f"{wd + 1}\t{wd}\t09:00:00\t17:00:00\t1\n")
    holidays = loader.stream("support_holiday", "id, date, name, schedule_id")
    hid = 0
    for year in (2024, 2025, 2026):
        for month, day, name in ((1, 1, "New Year"), (5, 1, "Labour Day"), (12, 25, "Christmas")):
            hid += 1
            holidays.add(f"{hid}\t{year}-{month:02d}-{day:02d}\t{name}\t1\n")
    sla = loader.stream(
        "support_slapolicy",
        "id, name, position, priority, first_response_minutes, next_response_minutes, "
        "resolution_minutes, pause_on_pending, is_active, schedule_id, segment_id, team_id",
    )
    for pid, prio, first, resolution in SLA_POLICIES:
        sla.add(
            f"{pid}\t{prio.title()} SLA\t{pid}\t{prio}\t{first}\t{N}\t{resolution}"
            f"\tt\tt\t1\t{N}\t{N}\n"
        )
    campaigns = loader.stream(
        "sales_campaign", "id, external_id, name, starts_on, ends_on, budget, channel_id"
    )
    spend = loader.stream(
        "sales_marketingspend",
        "id, external_id, period_start, period_end, amount, campaign_id, channel_id",
    )
    costs = loader.stream(
        "sales_salescost", "id, external_id, period_start, period_end, amount, description, team_id"
    )
    spend_id = cost_id = campaign_id = 0
    for m in range(MONTHS):
        start = dt.date(2024 + (10 + m) // 12, (10 + m) % 12 + 1, 1)
        end = dt.date(2024 + (11 + m) // 12, (11 + m) % 12 + 1, 1)
        for cid, code, _name, paid, share in CHANNELS:
            if not paid:
                continue
            campaign_id += 1
            amount = int(share * 800_000_00 / MONTHS * rng.uniform(0.7, 1.3))
            campaigns.add(
                f"{campaign_id}\t{N}\t{code} {start:%Y-%m}\t{start}\t{end - dt.timedelta(days=1)}"
                f"\t{money(amount)}\t{cid}\n"
            )
            spend_id += 1
            spend.add(f"{spend_id}\t{N}\t{start}\t{end}\t{money(amount)}\t{campaign_id}\t{cid}\n")
        for team in SALES_TEAMS:
            cost_id += 1
            amount = int(rng.uniform(30_000_00, 50_000_00))
            costs.add(f"{cost_id}\t{N}\t{start}\t{end}\t{money(amount)}\tSalaries\t{team}\n")
    loader.finish_phase("reference", started, list(loader.streams))


def load_orders(loader: Loader, rng: random.Random, cust: Customers) -> None:
    """Orders, their lines and refunds, and delivery NPS invitations, in global time order."""
    started = time.perf_counter()
    orders = loader.stream(
        "sales_order",
        "id, external_id, ordered_at, status, currency, exchange_rate, total, refunded_total, "
        "net_amount, delivered_at, cancelled_at, created_at, channel_id, customer_id, owner_id",
    )
    lines = loader.stream(
        "sales_orderline", "id, quantity, unit_price, line_total, order_id, product_id"
    )
    refunds = loader.stream("sales_refund", "id, amount, refunded_at, reason, order_id")
    invitations, responses = loader.survey_streams()
    prices = [0]
    price_rng = random.Random(7)
    for _ in range(len(PRODUCT_LINES) * PRODUCTS_PER_LINE):
        prices.append(int(price_rng.lognormvariate(math.log(4000), 0.9)))
    # Each customer prefers one or two product lines; other lines are cross-sell.
    favourite = [rng.randrange(len(PRODUCT_LINES)) for _ in range(cust.count + 1)]
    currency_of = [pick(rng, [c[1] for c in CURRENCIES]) for _ in range(cust.count + 1)]
    # Heap of (next order time, customer, position in active measure, orders left).
    heap: list[tuple[float, int, float, int]] = []
    for c in cust.ordering:
        heap.append((cust.first_order[c], c, 0.0, cust.n_orders[c] - 1))
    heapq.heapify(heap)
    order_id = line_id = refund_id = 0
    while heap:
        t, c, u, left = heapq.heappop(heap)
        if left > 0:
            measure = cust.active_measure(c)
            nu = u + (measure - u) * (1.0 - rng.random() ** (1.0 / left))
            heapq.heappush(heap, (cust.measure_to_time(c, nu), c, nu, left - 1))
        order_id += 1
        first = cust.acquired[c] < 0
        if not first:
            # Time of day: business-ish hours (the first order keeps the planned acquisition).
            t = (t // DAY) * DAY + 7 * 3600 + rng.random() * 14 * 3600
        if t >= WINDOW:
            t = WINDOW - 1 - rng.random() * 3600
        r = rng.random()
        if r < 0.04 and not (first and cust.n_orders[c] == 1):
            status = "cancelled"
        elif t > WINDOW - 3 * DAY:
            status = "pending"
        elif t > WINDOW - 8 * DAY or r > 0.97:
            status = "completed"
        else:
            status = "delivered"
        ci = currency_of[c] if rng.random() < 0.9 else 0
        rate = rate_micro(ci, t)
        n_lines = 1 + int(rng.random() ** 2 * 4)
        total = 0
        fav = favourite[c]
        for _ in range(n_lines):
            line_idx = fav if rng.random() < 0.75 else rng.randrange(len(PRODUCT_LINES))
            pid = line_idx * PRODUCTS_PER_LINE + rng.randrange(PRODUCTS_PER_LINE) + 1
            qty = 1 + int(rng.random() ** 3 * 5)
            unit = prices[pid] * 1_000_000 // rate
            line_total = unit * qty
            total += line_total
            line_id += 1
            lines.add(f"{line_id}\t{qty}\t{money(unit)}\t{money(line_total)}\t{order_id}\t{pid}\n")
        refunded = 0
        delivered = cancelled = N
        if status == "delivered":
            delivered_t = t + rng.uniform(1, 5) * DAY
            delivered = ts(min(delivered_t, WINDOW - 1))
            if rng.random() < 0.03:
                refunded = max(1, int(total * rng.uniform(0.1, 1.0)))
                refund_id += 1
                refunds.add(
                    f"{refund_id}\t{money(refunded)}\t{ts(min(delivered_t + 5 * DAY, WINDOW - 1))}"
                    f"\tReturned\t{order_id}\n"
                )
            if rng.random() < 0.06:
                emit_survey(
                    loader.surveys,
                    invitations,
                    responses,
                    rng,
                    SURVEY_ORDER_NPS,
                    c,
                    delivered_t + 2 * DAY,
                    order_id=order_id,
                )
        elif status == "cancelled":
            cancelled = ts(min(t + rng.uniform(0.1, 3) * DAY, WINDOW - 1))
        net = half_even_div((total - refunded) * rate, 1_000_000)
        stamp = ts(t)
        owner = cust.owner[c]
        orders.add(
            f"{order_id}\t{N}\t{stamp}\t{status}\t{CURRENCIES[ci][0]}\t{rate // 1_000_000}."
            f"{rate % 1_000_000:06d}\t{money(total)}\t{money(refunded)}\t{money(net)}\t{delivered}"
            f"\t{cancelled}\t{stamp}\t{cust.channel[c]}\t{c}\t{owner or N}\n"
        )
        if status != "cancelled":
            if first or t < cust.acquired[c]:
                cust.acquired[c] = t
            cust.last_order[c] = max(cust.last_order[c], t)
    loader.finish_phase("orders", started, ["sales_order", "sales_orderline", "sales_refund"])


def emit_survey(
    counters: Counters,
    invitations: CopyStream,
    responses: CopyStream,
    rng: random.Random,
    survey: int,
    customer: int,
    sent: float,
    *,
    order_id: int | None = None,
    ticket_id: int | None = None,
    respond_probability: float = 0.4,
) -> bool:
    """One invitation (3% undeliverable) and maybe its response within 14 days."""
    if sent >= WINDOW:
        return False
    counters.invitation += 1
    inv = counters.invitation
    undeliverable = rng.random() < 0.03
    status = "undeliverable" if undeliverable else "delivered"
    invitations.add(
        f"{inv}\tbench-{inv}\t{status}\t{ts(sent)}\t{ts(sent)}\t{ts(sent + 14 * DAY)}\t{N}"
        f"\t{customer}\t{opt(order_id)}\t{survey}\t{opt(ticket_id)}\n"
    )
    if undeliverable or rng.random() >= respond_probability:
        return False
    at = sent + rng.random() ** 2 * 13 * DAY
    if at >= WINDOW:
        return False
    if survey == SURVEY_CSAT:
        kind, score = "csat", min(5, max(1, round(rng.gauss(4.1, 1.0))))
    else:
        kind, score = "nps", min(10, max(0, round(rng.gauss(7.6, 2.2))))
    counters.response += 1
    responses.add(
        f"{counters.response}\t{kind}\t{score}\t\t{ts(at)}\t{N}\t{customer}\t{inv}\t{opt(order_id)}"
        f"\t{survey}\t{opt(ticket_id)}\n"
    )
    return True


def load_customers(loader: Loader, rng: random.Random, cust: Customers) -> None:
    started = time.perf_counter()
    customers = loader.stream(
        "customers_customer",
        "id, external_id, kind, name, email, phone, language, status, acquired_at, churned_at, "
        "contract_end_date, created_at, updated_at, rfm_segment, rfm_recency, rfm_frequency, "
        "rfm_monetary, health_score, health_band, campaign_id, channel_id, owner_id, "
        "referred_by_id, segment_id, team_id",
    )
    contacts = loader.stream(
        "customers_contact",
        "id, external_id, first_name, last_name, email, phone, job_title, is_primary, "
        "created_at, customer_id",
    )
    inactivity = {s[0]: (s[3] or 90) * DAY for s in SEGMENTS}
    end_stamp = ts(WINDOW - 1)
    for c in range(1, cust.count + 1):
        created = cust.created[c]
        acquired = cust.acquired[c]
        if cust.from_lead[c]:
            # lead_convert: acquired_at = earliest of the conversion and the first order.
            acquired = created if acquired < 0 else min(acquired, created)
        churned_at: float | None = None
        if cust.contract[c] and cust.spans[c] and len(cust.spans[c]) == 2 and acquired >= 0:
            end1 = cust.spans[c][1]
            if end1 < WINDOW - 40 * DAY:
                churned_at = max(cust.last_order[c], acquired) + 30 * DAY
        last = cust.last_order[c]
        if churned_at is not None:
            status = "churned"
        elif last >= 0 and last >= WINDOW - inactivity.get(cust.segment[c], 90 * DAY):
            status = "active"
        elif acquired >= 0:
            status = "churned"
        else:
            status = "prospect"
        email = f"c{c}@example.com" if rng.random() < 0.88 else ""
        phone = f"+4930{c:08d}" if rng.random() < 0.5 else ""
        kind = "company" if rng.random() < 0.7 else "person"
        customers.add(
            f"{c}\t{N}\t{kind}\tCustomer {c}\t{email}\t{phone}\ten\t{status}"
            f"\t{ts(acquired) if acquired >= 0 else N}\t{ts(churned_at) if churned_at else N}"
            f"\t{day_of(churned_at) if churned_at else N}\t{ts(created)}\t{end_stamp}\t\t{N}\t{N}"
            f"\t{N}\t{N}\t\t{N}\t{cust.channel[c]}\t{cust.owner[c] or N}"
            f"\t{cust.referrer[c] or N}\t{cust.segment[c] or N}\t{cust.team[c] or N}\n"
        )
        contacts.add(f"{c}\t{N}\tContact\t{c}\t{email}\t{phone}\tBuyer\tt\t{ts(created)}\t{c}\n")
    loader.finish_phase("customers", started, ["customers_customer", "customers_contact"])


def load_leads(loader: Loader, rng: random.Random, cust: Customers, target: int) -> None:
    """Leads in creation order: converted ones precede their customer, the rest never convert."""
    started = time.perf_counter()
    leads_out = loader.stream(
        "sales_lead",
        "id, external_id, name, company, email, phone, source, status, converted_at, created_at, "
        "campaign_id, channel_id, converted_customer_id, merged_into_id, owner_id, team_id",
    )
    # (created, customer or 0); 50k small tuples are fine to sort in memory.
    plan: list[tuple[float, int]] = [
        (max(0.0, cust.created[c] - rng.uniform(1, 60) * DAY), c)
        for c in range(1, cust.count + 1)
        if cust.from_lead[c]
    ]
    for _ in range(max(0, target - len(plan))):
        plan.append((growth(rng.random()) * WINDOW * 0.99, 0))
    plan.sort()
    sources = ["web_form", "referral", "event", "cold_call", "partner", "import", "other"]
    for lead_id, (created, c) in enumerate(plan, start=1):
        if c:
            status, converted_at, converted = "converted", ts(cust.created[c]), str(c)
            channel, owner, team = cust.channel[c], cust.owner[c], cust.team[c]
        else:
            converted_at = converted = N
            channel = rng.randrange(len(CHANNELS)) + 1
            team = SALES_TEAMS[lead_id % 4]
            owner = user_id(team, rng.randint(2, USERS_PER_TEAM))
            status = ("new", "contacted", "qualified", "disqualified")[
                pick(rng, [0.3, 0.3, 0.2, 0.2])
            ]
        merged_into = N
        if not c and lead_id > 100 and rng.random() < 0.03:
            status, merged_into = "merged", str(lead_id - rng.randint(1, 100))
        leads_out.add(
            f"{lead_id}\t{N}\tLead {lead_id}\tCompany {lead_id}\tl{lead_id}@example.com\t"
            f"\t{rng.choice(sources)}\t{status}\t{converted_at}\t{ts(created)}\t{N}\t{channel}"
            f"\t{converted}\t{merged_into}\t{owner or N}\t{team or N}\n"
        )
    loader.finish_phase("leads", started, ["sales_lead"])


def acquired_customer_before(
    rng: random.Random,
    acquired_sorted: list[float],
    acquired_ids: list[int],
    t: float,
) -> int:
    """A random customer acquired before t (0 when none yet): tickets, deals, activities and
    surveys only happen to customers who exist."""
    k = bisect.bisect_left(acquired_sorted, t)
    if k == 0:
        return 0
    return acquired_ids[rng.randrange(k)]


def load_opportunities(
    loader: Loader,
    rng: random.Random,
    cust: Customers,
    target: int,
    acquired_sorted: list[float],
    acquired_ids: list[int],
) -> None:
    started = time.perf_counter()
    opps = loader.stream(
        "sales_opportunity",
        "id, external_id, name, kind, amount, currency, probability, expected_close_date, "
        "outcome, lost_reason, created_at, closed_at, customer_id, lead_id, owner_id, team_id, "
        "stage_id",
    )
    changes = loader.stream(
        "sales_opportunitystagechange",
        "id, changed_at, changed_by_id, opportunity_id, from_stage_id, to_stage_id",
    )
    change_id = 0
    opp_id = 0
    for created in lazy_sorted_uniforms(rng, target, 0.0, 1.0):
        t = growth(created) * WINDOW * 0.99
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if not c:
            continue
        opp_id += 1
        kind = ("new", "upsell", "cross_sell", "renewal")[pick(rng, [0.4, 0.25, 0.25, 0.1])]
        cycle = rng.lognormvariate(math.log(30), 0.7) * DAY
        closes = t + cycle
        path = [1]
        if closes < WINDOW:
            depth = rng.randint(1, 4)
            path += list(range(2, depth + 1))
            path.append(5 if rng.random() < 0.42 else 6)
        else:
            path += list(range(2, rng.randint(1, 4) + 1))
        final = path[-1]
        outcome = "won" if final == 5 else "lost" if final == 6 else "open"
        owner = cust.owner[c]
        amount = int(rng.lognormvariate(math.log(5_000_00), 1.0))
        prob = STAGES[final - 1][4]
        opps.add(
            f"{opp_id}\t{N}\tDeal {opp_id}\t{kind}\t{money(amount)}\tEUR\t{prob}"
            f"\t{day_of(t + cycle)}\t{outcome}\t{'Price' if outcome == 'lost' else ''}\t{ts(t)}"
            f"\t{ts(closes) if outcome != 'open' else N}\t{c}\t{N}\t{owner or N}"
            f"\t{cust.team[c] or N}\t{final}\n"
        )
        previous = None
        for step, stage in enumerate(path):
            at = t if step == 0 else (closes if stage in (5, 6) else t + cycle * step / len(path))
            change_id += 1
            changes.add(
                f"{change_id}\t{ts(min(at, WINDOW - 1))}\t{owner or N}\t{opp_id}\t{opt(previous)}"
                f"\t{stage}\n"
            )
            previous = stage
    loader.finish_phase(
        "opportunities", started, ["sales_opportunity", "sales_opportunitystagechange"]
    )


def load_tickets(
    loader: Loader,
    rng: random.Random,
    cust: Customers,
    target: int,
    acquired_sorted: list[float],
    acquired_ids: list[int],
) -> None:
    """Tickets in creation order with their conversation, status history and CSAT survey."""
    started = time.perf_counter()
    tickets = loader.stream(
        "support_ticket",
        "id, external_id, subject, category, channel, priority, status, opened_by_agent, "
        "is_spam, created_at, first_response_at, first_solved_at, last_solved_at, closed_at, "
        "reopen_count, public_agent_replies, first_response_business_minutes, "
        "first_response_calendar_minutes, resolution_business_minutes, "
        "resolution_calendar_minutes, first_response_due_at, resolution_due_at, "
        "sla_first_response_met, sla_resolution_met, assignee_id, contact_id, customer_id, "
        "follow_up_of_id, merged_into_id, sla_policy_id, team_id",
    )
    messages = loader.stream(
        "support_ticketmessage",
        "id, author_kind, is_public, automated, body, created_at, external_id, "
        "email_message_id, author_user_id, ticket_id",
    )
    changes = loader.stream(
        "support_ticketstatuschange",
        "id, from_status, to_status, changed_at, changed_by_id, ticket_id",
    )
    invitations, responses = loader.survey_streams()
    last_ticket: dict[int, int] = {}
    message_id = change_id = 0
    ticket_id = 0
    categories = ["question", "problem", "incident", "request", "complaint"]
    category_shares = [0.38, 0.25, 0.1, 0.17, 0.1]
    channels = ["email", "web", "phone", "chat"]
    priorities = ["low", "normal", "high", "urgent"]
    priority_shares = [0.15, 0.6, 0.2, 0.05]
    sla_targets = {p[0]: (p[2], p[3]) for p in SLA_POLICIES}
    for u in lazy_sorted_uniforms(rng, target, 0.0, 1.0):
        t = growth(u) * WINDOW * 0.999
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if not c:
            continue
        ticket_id += 1
        tid = ticket_id
        t = (t // DAY) * DAY + 6 * 3600 + rng.random() * 15 * 3600
        if t >= WINDOW:
            t = WINDOW - 3600
        team = SUPPORT_TEAMS[0] if cust.segment[c] != 4 and rng.random() < 0.7 else SUPPORT_TEAMS[1]
        assignee = user_id(team, rng.randint(2, USERS_PER_TEAM))
        category = categories[pick(rng, category_shares)]
        priority = priorities[pick(rng, priority_shares)]
        policy = SLA_FOR_PRIORITY[priority]
        first_target, resolution_target = sla_targets[policy]
        by_agent = rng.random() < 0.05
        spam = rng.random() < 0.03
        merged_into = None
        if not spam and c in last_ticket and rng.random() < 0.1:
            merged_into = last_ticket[c]
        last_ticket[c] = tid
        # The ticket's life, in calendar minutes from creation.
        first_cal = int(rng.lognormvariate(math.log(first_target * 2.2), 1.0))
        resolve_cal = first_cal + int(rng.lognormvariate(math.log(resolution_target * 2.5), 1.1))
        reopens = 0 if rng.random() < 0.9 else (1 if rng.random() < 0.8 else 2)
        replies = 1 + int(rng.expovariate(0.9))
        age = (WINDOW - t) / MINUTE
        first_at = solved_first = solved_last = closed = None
        status = "new"
        msg: list[tuple[float, str, str, str, int | None]] = []
        chg: list[tuple[float, str, str]] = []
        opener = "agent" if by_agent else "customer"
        msg.append((t, opener, "t", "f", assignee if by_agent else None))
        if spam or merged_into is not None:
            status = "closed"
            closed = t + 600
            chg.append((closed, "new", "closed"))
            replies = reopens = 0
            first_cal = resolve_cal = -1
        else:
            if first_cal < age:
                first_at = t + first_cal * MINUTE
                status = "open"
                chg.append((first_at, "new", "open"))
                msg.append((first_at, "agent", "t", "f", assignee))
                if rng.random() < 0.3:
                    msg.append((first_at - 300, "agent", "f", "f", assignee))  # internal note
                if rng.random() < 0.4:
                    msg.append((t + 60, "system", "t", "t", None))  # auto-acknowledgement
            else:
                replies = 0
            if first_at is not None and resolve_cal < age:
                span = (resolve_cal - first_cal) * MINUTE
                for k in range(1, replies):
                    at = first_at + span * k / replies
                    msg.append((at - 120, "customer", "t", "f", None))
                    msg.append((at, "agent", "t", "f", assignee))
                if rng.random() < 0.25:
                    chg.append((first_at + span * 0.3, "open", "pending"))
                    chg.append((first_at + span * 0.5, "pending", "open"))
                solve = t + resolve_cal * MINUTE
                if reopens:
                    solved_first = first_at + span * 0.6
                    for r in range(reopens):
                        at = solved_first + span * 0.4 * r / reopens
                        chg.append((at, "open", "solved"))
                        chg.append((at + span * 0.1 / reopens, "solved", "open"))
                else:
                    solved_first = solve
                chg.append((solve, "open", "solved"))
                solved_last = solve
                status = "solved"
                if solve + 4 * DAY < WINDOW:
                    closed = solve + 4 * DAY
                    chg.append((closed, "solved", "closed"))
                    status = "closed"
            else:
                resolve_cal = -1
                reopens = 0
                if first_at is not None and rng.random() < 0.3:
                    chg.append((first_at + 600, "open", "pending"))
                    status = "pending"
        first_bus = business_minutes(first_cal) if first_at is not None else None
        resolve_bus = business_minutes(resolve_cal) if solved_last is not None else None
        # Due dates in calendar time for a 40h week: targets stretch by 168/40.
        first_due = t + first_target * 168 / 40 * MINUTE
        resolution_due = t + resolution_target * 168 / 40 * MINUTE
        first_met = None if first_bus is None else first_bus <= first_target
        resolution_met = None if resolve_bus is None else resolve_bus <= resolution_target
        counts = not spam and merged_into is None
        tickets.add(
            f"{tid}\t{N}\tTicket {tid}\t{category}\t{channels[tid % 4]}\t{priority}\t{status}"
            f"\t{'t' if by_agent else 'f'}\t{'t' if spam else 'f'}\t{ts(t)}"
            f"\t{ts(first_at) if first_at else N}\t{ts(solved_first) if solved_first else N}"
            f"\t{ts(solved_last) if solved_last else N}\t{ts(closed) if closed else N}"
            f"\t{reopens}\t{replies if first_at else 0}"
            f"\t{opt(first_bus)}\t{first_cal if first_bus is not None else N}"
            f"\t{opt(resolve_bus)}\t{resolve_cal if resolve_bus is not None else N}"
            f"\t{ts(first_due) if counts else N}\t{ts(resolution_due) if counts else N}"
            f"\t{N if first_met is None else ('t' if first_met else 'f')}"
            f"\t{N if resolution_met is None else ('t' if resolution_met else 'f')}"
            f"\t{assignee}\t{c}\t{c}\t{N}\t{opt(merged_into)}\t{policy if counts else N}\t{team}\n"
        )
        for at, kind, public, automated, author in msg:
            message_id += 1
            messages.add(
                f"{message_id}\t{kind}\t{public}\t{automated}\tMessage body {message_id % 97}"
                f"\t{ts(min(max(at, t), WINDOW - 1))}\t{N}\t\t{opt(author)}\t{tid}\n"
            )
        for at, before, after in chg:
            change_id += 1
            changes.add(
                f"{change_id}\t{before}\t{after}\t{ts(min(at, WINDOW - 1))}"
                f"\t{assignee if before != 'new' or after != 'closed' else N}\t{tid}\n"
            )
        if solved_last is not None and rng.random() < 0.55:
            emit_survey(
                loader.surveys,
                invitations,
                responses,
                rng,
                SURVEY_CSAT,
                c,
                solved_last + 3600,
                ticket_id=tid,
                respond_probability=0.45,
            )
    loader.finish_phase(
        "tickets",
        started,
        ["support_ticket", "support_ticketmessage", "support_ticketstatuschange"],
    )


def load_activities(
    loader: Loader,
    rng: random.Random,
    cust: Customers,
    activities_target: int,
    cases_target: int,
    acquired_sorted: list[float],
    acquired_ids: list[int],
) -> None:
    started = time.perf_counter()
    activities = loader.stream(
        "sales_activity",
        "id, kind, subject, notes, is_bulk, due_at, done_at, created_at, external_id, "
        "customer_id, owner_id, team_id, lead_id, opportunity_id",
    )
    kinds = ["call", "email", "meeting", "chat", "note", "task"]
    kind_shares = [0.3, 0.3, 0.12, 0.08, 0.1, 0.1]
    activity_id = 0
    for u in lazy_sorted_uniforms(rng, activities_target, 0.0, 1.0):
        t = growth(u) * WINDOW * 0.999
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if not c:
            continue
        activity_id += 1
        kind = kinds[pick(rng, kind_shares)]
        bulk = kind == "email" and rng.random() < 0.3
        done = t + rng.random() * DAY if rng.random() < 0.9 else None
        owner = cust.owner[c]
        activities.add(
            f"{activity_id}\t{kind}\t{kind.title()} {activity_id}\t\t{'t' if bulk else 'f'}"
            f"\t{ts(t + DAY)}\t{ts(min(done, WINDOW - 1)) if done else N}\t{ts(t)}\t{N}\t{c}"
            f"\t{owner or N}\t{cust.team[c] or N}\t{N}\t{N}\n"
        )
    cases = loader.stream(
        "sales_retentioncase",
        "id, reason, outreach, cost, status, outcome, opened_at, closed_at, customer_id, owner_id",
    )
    case_id = 0
    for u in lazy_sorted_uniforms(rng, cases_target, 0.0, 1.0):
        t = growth(u) * WINDOW * 0.99
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if not c:
            continue
        case_id += 1
        closes = t + rng.uniform(3, 45) * DAY
        cost = int(rng.uniform(20_00, 400_00))
        if closes < WINDOW:
            outcome = "retained" if rng.random() < 0.4 else "lost"
            status, closed = "closed", ts(closes)
        else:
            outcome, status, closed = "pending", "open", N
        cases.add(
            f"{case_id}\tAt risk\tCall and discount\t{money(cost)}\t{status}\t{outcome}\t{ts(t)}"
            f"\t{closed}\t{c}\t{cust.owner[c] or N}\n"
        )
    loader.finish_phase("activities", started, ["sales_activity", "sales_retentioncase"])


def load_relationship_surveys(
    loader: Loader,
    rng: random.Random,
    target: int,
    acquired_sorted: list[float],
    acquired_ids: list[int],
    cust: Customers,
) -> None:
    """Tops responses up to the target with periodic relationship NPS surveys."""
    started = time.perf_counter()
    invitations, responses = loader.survey_streams()
    counters = loader.surveys
    missing = target - counters.response
    # ≈39% of sent invitations get an answer (delivered 97% × 40%): send enough, in time order,
    # then top up any shortfall at random dates so the target is always reached.
    sends = int(max(0, missing) / 0.39)
    for u in lazy_sorted_uniforms(rng, sends, 0.0, 1.0):
        t = growth(u) * WINDOW * 0.98
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if c:
            emit_survey(counters, invitations, responses, rng, SURVEY_RELATIONSHIP_NPS, c, t)
    while counters.response < target:
        t = growth(rng.random()) * WINDOW * 0.98
        c = acquired_customer_before(rng, acquired_sorted, acquired_ids, t)
        if c:
            emit_survey(counters, invitations, responses, rng, SURVEY_RELATIONSHIP_NPS, c, t)
    loader.finish_phase("surveys", started, ["surveys_surveyinvitation", "surveys_surveyresponse"])


def reset_sequences(conn: psycopg.Connection[Any]) -> None:
    # auth_user keeps its sequence: real users go on getting small ids below USER_BASE.
    for table in TABLES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), "
            f"MAX(id) IS NOT NULL) FROM {table}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M orders; 0.01 quick")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args(argv)
    # Django is only used for model metadata (defaults of columns added by other apps).
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    # Benchmark-only keys, the same in generate.py and run.py (run.py reads what generate.py
    # encrypted, with DEBUG off, where keys are mandatory).
    os.environ.setdefault("CRM_ENCRYPTION_KEYS", "6wgoiuR0HZfW94E0XHYAuunpNGr63A3LBRA9NA2sL8M=")
    os.environ.setdefault("CRM_BLIND_INDEX_KEY", "zx3lOk84vl0Km8pjh6j5LI3jkKnB1oSsE8BmyFqVlEY=")
    import django

    django.setup()
    sizes = {key: max(10, int(round(base * args.scale))) for key, base in BASE_SIZES.items()}
    print(f"Generating scale {args.scale} into {args.database_url}: {sizes}", flush=True)
    overall = time.perf_counter()

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        missing = [table for table in TABLES if table not in existing]
        if missing:
            print(f"Tables missing (run migrations first): {missing}", file=sys.stderr)
            return 2
        started = time.perf_counter()
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM auth_user_groups WHERE user_id > %s", [USER_BASE])
        conn.execute("DELETE FROM auth_user WHERE id > %s", [USER_BASE])
        print(f"  truncated {len(TABLES)} tables in {time.perf_counter() - started:.1f} s")

    loader = Loader(args.database_url)
    load_reference(loader, random.Random(args.seed))

    started = time.perf_counter()
    cust = Customers(random.Random(args.seed + 1), sizes["customers"], sizes["orders"])
    print(f"  planned customers in {time.perf_counter() - started:.1f} s", flush=True)
    load_orders(loader, random.Random(args.seed + 2), cust)
    load_customers(loader, random.Random(args.seed + 3), cust)

    # Customers with an acquisition date, sorted by it: tickets, deals and activities pick
    # among customers acquired before their own date.
    acquired_pairs = sorted(
        (min(cust.acquired[c], cust.created[c]) if cust.from_lead[c] else cust.acquired[c], c)
        for c in range(1, cust.count + 1)
        if cust.acquired[c] >= 0 or cust.from_lead[c]
    )
    acquired_sorted = [pair[0] for pair in acquired_pairs]
    acquired_ids = [pair[1] for pair in acquired_pairs]
    del acquired_pairs

    load_leads(loader, random.Random(args.seed + 4), cust, sizes["leads"])
    load_opportunities(
        loader,
        random.Random(args.seed + 5),
        cust,
        sizes["opportunities"],
        acquired_sorted,
        acquired_ids,
    )
    load_tickets(
        loader, random.Random(args.seed + 6), cust, sizes["tickets"], acquired_sorted, acquired_ids
    )
    load_activities(
        loader,
        random.Random(args.seed + 7),
        cust,
        sizes["activities"],
        sizes["retention_cases"],
        acquired_sorted,
        acquired_ids,
    )
    load_relationship_surveys(
        loader,
        random.Random(args.seed + 8),
        sizes["responses"],
        acquired_sorted,
        acquired_ids,
        cust,
    )

    # Rows are COPYed as plain text; encrypt them the way the data migrations do (encrypted
    # e-mails, phones, message bodies and comments, with their blind indexes).
    from django.db import connection

    from crm.encryption.rows import encrypt_plain_rows, encrypted_models

    started = time.perf_counter()
    for model in encrypted_models():
        encrypt_plain_rows(model, connection, batch_size=5000)
    print(
        f"  encrypted contact details and texts in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        started = time.perf_counter()
        reset_sequences(conn)
        print(f"  reset sequences in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        conn.execute("ANALYZE")
        print(f"  ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)

    total_rows = sum(row[2] for row in loader.report)
    elapsed = time.perf_counter() - overall
    print(f"Done: {total_rows:,} rows in {elapsed:.1f} s ({total_rows / elapsed:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

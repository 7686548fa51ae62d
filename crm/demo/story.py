"""The demo company's history, planned in memory before anything is written.

Planning first and writing second keeps the random draws independent of the database: the same
seed and the same "today" give the same plan, hence the same ids and figures, on SQLite and
PostgreSQL alike. Nothing here touches the database; crm.demo.build replays the plan through the
services.

The story: a point-of-sale software vendor founded 24 months ago with a base of migrated
customers; acquisition grows month by month; orders peak in Q4; customers churn (they stop
ordering, or an enterprise contract is not renewed) and some come back; support tickets,
surveys, retention outreach, marketing spend and sales costs follow the customers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from crm.demo import names
from crm.demo.people import (
    CUSTOMER_SUPPORT,
    SALES_DIRECT,
    SALES_ENTERPRISE,
    SALES_TEAMS,
    team_members,
)
from crm.demo.reference import PRODUCTS, SLA_TARGETS
from kpis.periods import Period
from support.business_hours import WorkingCalendar

CENT = Decimal("0.01")
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
HISTORY_MONTHS = 24


@dataclass(frozen=True)
class Scale:
    customers: int
    tickets: int
    survey_responses: int
    # Mean days between two orders of one customer, tuned so the order count lands near
    # 5 per customer (≈ 10,000 at medium scale).
    order_gap_days: float


SCALES: dict[str, Scale] = {
    "medium": Scale(customers=2000, tickets=3000, survey_responses=2000, order_gap_days=1.0),
    "small": Scale(customers=200, tickets=300, survey_responses=200, order_gap_days=1.0),
}

# Segment behaviour: share of customers, mean days between orders, churn chance per order,
# chance that a churned customer comes back, share on a yearly contract, list-price discount.
SEGMENT_MIX = {"smb": 0.64, "mid-market": 0.26, "enterprise": 0.10}
SEGMENT_GAP = {"smb": 46.0, "mid-market": 38.0, "enterprise": 55.0}
SEGMENT_CHURN = {"smb": 0.13, "mid-market": 0.09, "enterprise": 0.06}
REACTIVATION_CHANCE = 0.3
CONTRACT_SHARE = {"smb": 0.0, "mid-market": 0.25, "enterprise": 0.7}
DISCOUNT = {"smb": Decimal("0"), "mid-market": Decimal("0.05"), "enterprise": Decimal("0.12")}
RENEWAL_CHANCE = 0.75
WIN_CHANCE = {"smb": 0.75, "mid-market": 0.65, "enterprise": 0.55}
# Orders per month relative to the yearly mean (Q4 peak, summer dip), January first.
SEASONALITY = (0.85, 0.85, 0.95, 1.0, 1.0, 0.95, 0.85, 0.8, 1.0, 1.1, 1.35, 1.45)

# Channel mixes: self-service sign-ups vs. leads worked by sales.
DIRECT_CHANNELS = {
    "organic-search": 35,
    "paid-search": 25,
    "social": 15,
    "referral": 15,
    "partner": 5,
    "events": 5,
}
LEAD_CHANNELS = {
    "organic-search": 15,
    "paid-search": 20,
    "social": 10,
    "referral": 15,
    "partner": 20,
    "events": 20,
}
LEAD_SOURCE = {
    "organic-search": "web_form",
    "paid-search": "web_form",
    "social": "web_form",
    "referral": "referral",
    "partner": "partner",
    "events": "event",
}
# Acquisition cost per customer by channel (marketing spend follows acquisitions), EUR.
COST_PER_ACQUISITION = {
    "organic-search": 70,
    "paid-search": 420,
    "social": 310,
    "referral": 110,
    "partner": 380,
    "events": 900,
}
# EUR per unit, for orders of customers billed in another currency.
EUR_RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.04}
FOREIGN_CURRENCY_SHARE = {"USD": 0.05, "GBP": 0.03, "CHF": 0.02}

LOST_REASONS = (
    "Price too high",
    "Chose a competitor",
    "No budget this year",
    "Timing: postponed",
    "No decision made",
    "Missing feature",
)
REFUND_REASONS = ("Damaged on delivery", "Goodwill credit", "Returned item", "Billing error")
PRIMARY_LINE = {"software": 45, "hardware": 30, "services": 15, "support": 10}


@dataclass
class OrderPlan:
    at: dt.datetime
    lines: list[tuple[str, int, Decimal]]  # sku, quantity, unit price in the order currency
    currency: str
    rate: Decimal
    status: str = "completed"
    cancel_at: dt.datetime | None = None
    refund: tuple[Decimal, dt.datetime, str] | None = None
    delivered_at: dt.datetime | None = None

    @property
    def total(self) -> Decimal:
        return sum(
            (
                (price * qty).quantize(CENT, rounding=ROUND_HALF_UP)
                for _sku, qty, price in self.lines
            ),
            Decimal("0"),
        )

    @property
    def net(self) -> Decimal:
        if self.cancel_at is not None:
            return Decimal("0")
        refunded = self.refund[0] if self.refund else Decimal("0")
        return ((self.total - refunded) * self.rate).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class DealPlan:
    customer: int
    name: str
    kind: str
    amount: Decimal
    created_at: dt.datetime
    first_stage: str
    moves: list[tuple[str, dt.datetime, str]]  # stage code, when, lost reason
    owner: str
    team: str
    expected_close: dt.date
    via_lead: bool = False


@dataclass
class ContactPlan:
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    is_primary: bool


@dataclass
class LeadPlan:
    name: str
    company: str
    email: str
    phone: str
    source: str
    channel: str | None
    campaign: int | None
    owner: str
    team: str
    created_at: dt.datetime
    status: str  # converted, disqualified, new, contacted, qualified
    duplicate_at: dt.datetime | None = None
    customer: int | None = None
    converted_at: dt.datetime | None = None
    deal: int | None = None  # index in CompanyPlan.deals, created by lead_convert
    settled_at: dt.datetime | None = None  # converted or disqualified


@dataclass
class CustomerPlan:
    index: int
    name: str
    kind: str
    email: str
    phone: str
    language: str
    segment: str
    channel: str
    campaign: int | None
    team: str
    owner: str
    referred_by: int | None
    created_at: dt.datetime
    currency: str
    inactivity_days: int
    contract: bool = False
    lead: int | None = None
    contacts: list[ContactPlan] = field(default_factory=list)
    orders: list[OrderPlan] = field(default_factory=list)
    contract_end: dt.date | None = None
    churned_at: dt.datetime | None = None
    owned_lines: list[str] = field(default_factory=list)
    # Stopped ordering for good (inactivity churn) or lost the contract: drives moods.
    unhappy: bool = False

    @property
    def acquired_at(self) -> dt.datetime | None:
        candidates = [o.at for o in self.orders if o.cancel_at is None]
        if self.lead is not None:
            candidates.append(self.created_at)
        return min(candidates) if candidates else None

    def order_times(self) -> list[dt.datetime]:
        return [o.at for o in self.orders if o.cancel_at is None]


@dataclass
class ActivityPlan:
    kind: str
    subject: str
    owner: str
    created_at: dt.datetime
    customer: int | None = None
    lead: int | None = None
    deal: int | None = None
    notes: str = ""
    due_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    is_bulk: bool = False


@dataclass
class TicketEvent:
    at: dt.datetime
    kind: str  # "message" or "status"
    author_kind: str = ""
    author: str | None = None
    body: str = ""
    is_public: bool = True
    automated: bool = False
    to_status: str = ""


@dataclass
class TicketPlan:
    customer: int
    subject: str
    body: str
    category: str
    channel: str
    priority: str
    assignee: str | None
    created_at: dt.datetime
    opened_by_agent: bool = False
    spam: bool = False
    # When an agent flagged it as spam, or merged this duplicate into `duplicate_of`.
    closed_by_agent_at: dt.datetime | None = None
    duplicate_of: int | None = None
    events: list[TicketEvent] = field(default_factory=list)
    solved_at: dt.datetime | None = None
    reopened: bool = False
    late_reply: bool = False


@dataclass
class SurveyPlan:
    survey: str  # "nps" or "csat"
    customer: int
    invited_at: dt.datetime
    ticket: int | None = None
    response: tuple[int, str, dt.datetime] | None = None


@dataclass
class RetentionPlan:
    customer: int
    owner: str
    reason: str
    outreach: str
    cost: Decimal
    opened_at: dt.datetime
    outcome: str | None = None
    closed_at: dt.datetime | None = None
    final_cost: Decimal | None = None


@dataclass
class CampaignPlan:
    name: str
    channel: str
    starts_on: dt.date
    ends_on: dt.date
    budget: Decimal


@dataclass
class CompanyPlan:
    start: dt.datetime
    end: dt.datetime
    customers: list[CustomerPlan] = field(default_factory=list)
    leads: list[LeadPlan] = field(default_factory=list)
    deals: list[DealPlan] = field(default_factory=list)
    activities: list[ActivityPlan] = field(default_factory=list)
    tickets: list[TicketPlan] = field(default_factory=list)
    surveys: list[SurveyPlan] = field(default_factory=list)
    retention: list[RetentionPlan] = field(default_factory=list)
    campaigns: list[CampaignPlan] = field(default_factory=list)
    # (period start, period end exclusive, channel code, amount)
    marketing_spend: list[tuple[dt.date, dt.date, str, Decimal]] = field(default_factory=list)
    # (period start, period end exclusive, team name, amount, description)
    sales_costs: list[tuple[dt.date, dt.date, str, Decimal, str]] = field(default_factory=list)

    @property
    def order_count(self) -> int:
        return sum(len(c.orders) for c in self.customers)

    @property
    def revenue(self) -> Decimal:
        return sum((o.net for c in self.customers for o in c.orders), Decimal("0"))


def _weighted(rng: random.Random, weights: dict[str, float] | dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


class Planner:
    def __init__(
        self,
        *,
        seed: int,
        scale: Scale,
        today: dt.date,
        time_zone: str,
        currency: str,
        inactivity_days: int,
        segment_inactivity: dict[str, int | None],
        calendar: WorkingCalendar,
    ) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.tz = ZoneInfo(time_zone)
        self.currency = currency
        self.calendar = calendar
        self.inactivity = {
            code: days or inactivity_days for code, days in segment_inactivity.items()
        }
        first = Period.containing("month", today).shift(-(HISTORY_MONTHS - 1))
        self.months = [first.shift(m).start for m in range(HISTORY_MONTHS + 1)]
        self.today = today
        # History ends at midnight starting today: everything planned is already in the past.
        self.start = dt.datetime.combine(first.start, dt.time(0), tzinfo=self.tz)
        self.end = dt.datetime.combine(today, dt.time(0), tzinfo=self.tz)
        self.plan = CompanyPlan(start=self.start, end=self.end)
        self.used_names: set[str] = set()
        # The first order of a won new-business deal, planned with the deal (amount = order).
        self.preview: OrderPlan | None = None
        self.foreign = {
            code: share
            for code, share in FOREIGN_CURRENCY_SHARE.items()
            if code != currency and currency in EUR_RATES
        }

    # --- time helpers ---------------------------------------------------------------------

    def at_hour(self, day: dt.date, first: int = 8, last: int = 19) -> dt.datetime:
        return dt.datetime.combine(
            day,
            dt.time(self.rng.randint(first, last - 1), self.rng.randint(0, 59)),
            tzinfo=self.tz,
        )

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        seconds = max((end - start).total_seconds(), 0)
        return start + dt.timedelta(seconds=int(self.rng.random() * seconds))

    def days(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(minutes=int(self.rng.uniform(low, high) * 1440))

    def month_index(self, when: dt.datetime) -> int:
        local = when.astimezone(self.tz)
        return (local.year - self.start.year) * 12 + local.month - self.start.month

    # --- the story ------------------------------------------------------------------------

    def run(self) -> CompanyPlan:
        self.plan.campaigns = self._campaigns()
        self._customers()
        self._extra_leads()
        self._lost_expansion_deals()
        self._activities()
        self._tickets()
        self._surveys()
        self._retention()
        self._costs()
        return self.plan

    def _campaigns(self) -> list[CampaignPlan]:
        campaigns = []
        for year in range(self.start.year, self.end.year + 1):
            for name, channel, start, end, budget in (
                (f"Spring webinar series {year}", "social", (3, 1), (4, 30), 12000),
                (f"Retail Expo {year}", "events", (9, 10), (9, 30), 45000),
                (f"Black Friday {year}", "paid-search", (11, 15), (12, 5), 30000),
            ):
                starts = dt.date(year, *start)
                if self.start.date() <= starts < self.end.date():
                    campaigns.append(
                        CampaignPlan(name, channel, starts, dt.date(year, *end), Decimal(budget))
                    )
        return campaigns

    def _campaign_for(self, channel: str, when: dt.datetime) -> int | None:
        day = when.date()
        for index, campaign in enumerate(self.plan.campaigns):
            if campaign.channel == channel and campaign.starts_on <= day <= campaign.ends_on:
                return index if self.rng.random() < 0.7 else None
        return None

    def _acquisition_times(self) -> list[dt.datetime]:
        """Growth: later months acquire more; month 0 carries the migrated customer base."""
        weights = []
        for m in range(HISTORY_MONTHS):
            first, following = self.months[m], self.months[m + 1]
            available = (min(following, self.today) - first).days
            share = available / (following - first).days
            weights.append((6.0 if m == 0 else 1.0 + 0.08 * m) * share)
        total = sum(weights)
        quotas = [self.scale.customers * w / total for w in weights]
        counts = [math.floor(q) for q in quotas]
        by_remainder = sorted(range(HISTORY_MONTHS), key=lambda m: counts[m] - quotas[m])
        for m in by_remainder[: self.scale.customers - sum(counts)]:
            counts[m] += 1
        times = []
        for m, count in enumerate(counts):
            available = (min(self.months[m + 1], self.today) - self.months[m]).days
            month_times = [
                self.at_hour(self.months[m] + dt.timedelta(days=self.rng.randrange(available)))
                for _ in range(count)
            ]
            times.extend(sorted(month_times))
        return times

    def _customers(self) -> None:
        for index, acquired in enumerate(self._acquisition_times()):
            month = self.month_index(acquired)
            via_lead = month > 0 and self.rng.random() < 0.5
            self._customer(index, acquired, via_lead)

    def _customer(self, index: int, when: dt.datetime, via_lead: bool) -> None:
        rng = self.rng
        segment = _weighted(rng, SEGMENT_MIX)
        channel = _weighted(rng, LEAD_CHANNELS if via_lead else DIRECT_CHANNELS)
        team = SALES_ENTERPRISE if segment == "enterprise" else SALES_DIRECT
        owner = rng.choice(team_members(team))
        person = segment == "smb" and not via_lead and rng.random() < 0.3
        if person:
            first, last = names.person_name(rng)
            name = f"{first} {last}"
            email = f"{names.slug(first)}.{names.slug(last)}{index}@mail.example"
        else:
            name = names.company_name(rng, enterprise=segment == "enterprise", used=self.used_names)
            email = f"info@{names.company_domain(name)}"
        currency = self.currency
        draw = rng.random()
        for code, share in self.foreign.items():
            if draw < share:
                currency = code
                break
            draw -= share
        referred_by = None
        if channel == "referral" and index > 0 and rng.random() < 0.85:
            referred_by = rng.randrange(index)
        customer = CustomerPlan(
            index=index,
            name=name,
            kind="person" if person else "company",
            email=email,
            phone=names.phone_number(rng) if rng.random() < 0.8 else "",
            language="en" if currency != self.currency or rng.random() < 0.85 else "zh-hans",
            segment=segment,
            channel=channel,
            campaign=self._campaign_for(channel, when),
            team=team,
            owner=owner,
            referred_by=referred_by,
            created_at=when,
            currency=currency,
            inactivity_days=self.inactivity[segment],
            contract=rng.random() < CONTRACT_SHARE[segment],
            owned_lines=[_weighted(rng, PRIMARY_LINE)],
        )
        if not person:
            contact_count = 1 + (rng.random() < 0.3) + (segment == "enterprise")
            titles = ("Owner", "Managing director", "Store manager", "Head of IT", "Buyer")
            domain = names.company_domain(name)
            for position in range(contact_count):
                first, last = names.person_name(rng)
                customer.contacts.append(
                    ContactPlan(
                        first,
                        last,
                        f"{names.slug(first)}.{names.slug(last)}@{domain}",
                        names.phone_number(rng),
                        rng.choice(titles),
                        position == 0,
                    )
                )
        self.plan.customers.append(customer)

        first_order: dt.datetime | None = when
        if via_lead:
            first_order = self._lead_path(customer)
        else:
            # A web-shop sign-up a few minutes before the first order.
            customer.created_at = when - dt.timedelta(minutes=rng.randint(2, 40))
        if first_order is not None and first_order < self.end:
            self._orders(customer, first_order, self.preview)
        self.preview = None

    def _lead_path(self, customer: CustomerPlan) -> dt.datetime | None:
        """Lead → conversion (acquisition) → new-business deal → first order when won."""
        rng = self.rng
        converted = customer.created_at
        created = max(converted - self.days(2, 35), self.start + dt.timedelta(hours=9))
        if created >= converted:
            created = converted - dt.timedelta(hours=2)
        first, last = names.person_name(rng)
        lead = LeadPlan(
            name=f"{first} {last}",
            company=customer.name if customer.kind == "company" else "",
            email=customer.contacts[0].email if customer.contacts else customer.email,
            phone=customer.phone,
            source=LEAD_SOURCE[customer.channel],
            channel=customer.channel,
            campaign=customer.campaign,
            owner=customer.owner,
            team=customer.team,
            created_at=created,
            status="converted",
            customer=customer.index,
            converted_at=converted,
            settled_at=converted,
        )
        if rng.random() < 0.08:
            lead.duplicate_at = self.between(created, converted)
        customer.lead = len(self.plan.leads)
        self.plan.leads.append(lead)
        if rng.random() < 0.2:
            # Converted straight into a first order: no deal worth tracking.
            return converted + self.days(0, 7)
        won = rng.random() < WIN_CHANCE[customer.segment]
        close = converted + self.days(12, 70)
        first_order = close + self.days(0, 3)
        order_preview = self._order(customer, first_order, kind="first", commit=False)
        self.preview = order_preview
        lead.deal = self._deal(
            customer,
            name=f"{customer.name}: first purchase",
            kind="new",
            amount=(order_preview.total * order_preview.rate).quantize(CENT),
            created=converted,
            close=close,
            won=won,
            first_stage="prospecting",
            via_lead=True,
        )
        if not won or close >= self.end:
            return None
        return first_order

    def _deal(
        self,
        customer: CustomerPlan,
        *,
        name: str,
        kind: str,
        amount: Decimal,
        created: dt.datetime,
        close: dt.datetime,
        won: bool,
        first_stage: str,
        via_lead: bool = False,
    ) -> int:
        rng = self.rng
        path = ["prospecting", "qualification", "proposal", "negotiation"]
        path = path[path.index(first_stage) :]
        if not won:
            path = path[: rng.randint(1, len(path))]
        moves: list[tuple[str, dt.datetime, str]] = []
        steps = len(path)  # moves after the first stage, the last one closing the deal
        for step in range(1, steps + 1):
            share = (step - rng.uniform(0.0, 0.5)) / steps if step < steps else 1.0
            when = created + (close - created) * share
            stage = path[step] if step < steps else ("won" if won else "lost")
            reason = "" if won or step < steps else rng.choice(LOST_REASONS)
            if when >= self.end:
                break
            moves.append((stage, when, reason))
        self.plan.deals.append(
            DealPlan(
                customer=customer.index,
                name=name,
                kind=kind,
                amount=amount,
                created_at=created,
                first_stage=first_stage,
                moves=moves,
                owner=customer.owner,
                team=customer.team,
                expected_close=(close + self.days(-5, 10)).date(),
                via_lead=via_lead,
            )
        )
        return len(self.plan.deals) - 1

    # --- orders -----------------------------------------------------------------------------

    def _rate(self, currency: str, when: dt.datetime) -> Decimal:
        if currency == self.currency:
            return Decimal("1")
        month = self.month_index(when)
        drift = 1 + 0.03 * math.sin(month / 2 + len(currency) + ord(currency[0]))
        rate = EUR_RATES[currency] / EUR_RATES[self.currency] * drift
        return Decimal(str(rate)).quantize(Decimal("0.000001"))

    def _product(self, customer: CustomerPlan, line: str) -> tuple[str, Decimal]:
        alpha = {"smb": -1.0, "mid-market": 0.0, "enterprise": 1.0}[customer.segment]
        choices = [(sku, Decimal(price)) for sku, _n, ln, price in PRODUCTS if ln == line]
        weights = [(float(price) / 500) ** alpha for _sku, price in choices]
        return self.rng.choices(choices, weights=weights)[0]

    def _order(
        self, customer: CustomerPlan, when: dt.datetime, *, kind: str, commit: bool = True
    ) -> OrderPlan:
        rng = self.rng
        lines_wanted = [rng.choice(customer.owned_lines)]
        if kind == "cross_sell":
            fresh = [line for line in PRIMARY_LINE if line not in customer.owned_lines]
            lines_wanted = [rng.choice(fresh)]
            if commit:
                customer.owned_lines.append(lines_wanted[0])
        elif kind == "renewal":
            lines_wanted = ["software", "support"]
        elif rng.random() < 0.25:
            lines_wanted.append(
                "support" if rng.random() < 0.5 else rng.choice(customer.owned_lines)
            )
        rate = self._rate(customer.currency, when)
        discount = DISCOUNT[customer.segment]
        local = when.astimezone(self.tz)
        if (local.month, local.day) >= (11, 20) and (local.month, local.day) <= (12, 5):
            discount += Decimal("0.10")  # Black Friday week
        lines = []
        for line in lines_wanted:
            sku, price = self._product(customer, line)
            quantity = {
                "smb": rng.randint(1, 2),
                "mid-market": rng.randint(1, 4),
                "enterprise": rng.randint(2, 10),
            }[customer.segment]
            if sku == "SV-CONS":
                quantity *= 8
            if kind == "upsell":
                quantity *= 3
            unit = (price * (1 - discount) / rate).quantize(CENT, rounding=ROUND_HALF_UP)
            lines.append((sku, quantity, unit))
        return OrderPlan(at=when, lines=lines, currency=customer.currency, rate=rate)

    def _next_gap(self, customer: CustomerPlan, when: dt.datetime) -> dt.timedelta:
        mean = SEGMENT_GAP[customer.segment] * self.scale.order_gap_days
        if customer.contract:
            mean = 32.0
        season = SEASONALITY[when.astimezone(self.tz).month - 1]
        days = mean * self.rng.lognormvariate(-0.125, 0.5) / season
        return dt.timedelta(days=max(days, 1.0))

    def _orders(
        self, customer: CustomerPlan, first: dt.datetime, planned_first: OrderPlan | None
    ) -> None:
        rng = self.rng
        stop = self.end
        renewals: list[tuple[dt.datetime, bool]] = []
        if customer.contract:
            year = 1
            while True:
                anniversary = first + dt.timedelta(days=365 * year)
                renewed = rng.random() < RENEWAL_CHANCE
                if anniversary >= self.end:
                    customer.contract_end = anniversary.date()
                    break
                renewals.append((anniversary, renewed))
                if not renewed:
                    stop = anniversary
                    customer.contract_end = anniversary.date()
                    customer.churned_at = anniversary
                    customer.unhappy = True
                    break
                year += 1
        when = first
        reactivated = False
        kind = "first"
        renewal_index = 0
        while when < stop:
            while renewal_index < len(renewals) and renewals[renewal_index][0] <= when:
                anniversary, renewed = renewals[renewal_index]
                renewal_index += 1
                self._renewal(customer, anniversary, renewed)
            if kind == "regular" and len(customer.orders) >= 2:
                draw = rng.random()
                if draw < 0.05 and len(customer.owned_lines) < len(PRIMARY_LINE):
                    kind = "cross_sell"
                elif draw < 0.08:
                    kind = "upsell"
            if planned_first is not None and kind == "first":
                order = planned_first
            else:
                order = self._order(customer, when, kind=kind)
            self._order_fate(order)
            customer.orders.append(order)
            if kind in ("cross_sell", "upsell"):
                won_at = when - dt.timedelta(hours=rng.randint(1, 48))
                self._deal(
                    customer,
                    name=f"{customer.name}: {'add-on' if kind == 'cross_sell' else 'expansion'}",
                    kind=kind,
                    amount=(order.total * order.rate).quantize(CENT),
                    created=min(
                        max(won_at - self.days(10, 45), customer.created_at + DAY),
                        won_at - dt.timedelta(hours=1),
                    ),
                    close=won_at,
                    won=True,
                    first_stage="qualification",
                )
            kind = "regular"
            gap = self._next_gap(customer, when)
            if not customer.contract and rng.random() < SEGMENT_CHURN[customer.segment]:
                if not reactivated and rng.random() < REACTIVATION_CHANCE:
                    reactivated = True
                    gap = dt.timedelta(days=customer.inactivity_days) + self.days(15, 200)
                else:
                    if when + dt.timedelta(days=customer.inactivity_days) < self.end:
                        customer.unhappy = True
                    closed = when + self.days(10, 60)
                    if rng.random() < 0.15 and closed < self.end:
                        # Some tell us they are leaving (store closed, account cancelled):
                        # an explicit churn date instead of the inactivity rule.
                        customer.churned_at = closed
                    break
            day = (when + gap).astimezone(self.tz).date()
            weekend = day.weekday() >= 5 and rng.random() < 0.6
            when = self.at_hour(day + dt.timedelta(days=(7 - day.weekday()) if weekend else 0))
        while renewal_index < len(renewals):
            anniversary, renewed = renewals[renewal_index]
            renewal_index += 1
            self._renewal(customer, anniversary, renewed)

    def _renewal(self, customer: CustomerPlan, anniversary: dt.datetime, renewed: bool) -> None:
        """The yearly contract renewal deal; a won renewal is billed on the anniversary."""
        order = self._order(customer, anniversary, kind="renewal")
        if renewed:
            customer.orders.append(order)
        self._deal(
            customer,
            name=f"{customer.name}: renewal {anniversary.year}",
            kind="renewal",
            amount=(order.total * order.rate).quantize(CENT),
            created=anniversary - self.days(45, 75),
            close=anniversary - self.days(1, 10) if renewed else anniversary - DAY,
            won=renewed,
            first_stage="qualification",
        )

    def _order_fate(self, order: OrderPlan) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < 0.03:
            cancel = order.at + dt.timedelta(minutes=rng.randint(30, 36 * 60))
            if cancel < self.end:
                order.cancel_at = cancel
                return
        delivered = order.at + self.days(1, 6)
        if delivered < self.end:
            order.delivered_at = delivered
        elif order.at > self.end - 2 * DAY:
            order.status = "pending"
        if 0.03 <= draw < 0.055:
            refund_at = order.at + self.days(2, 30)
            if refund_at < self.end:
                total = order.total
                amount = (
                    total
                    if rng.random() < 0.25
                    else (total * Decimal(str(rng.uniform(0.1, 0.5)))).quantize(CENT)
                )
                if amount > 0:
                    order.refund = (amount, refund_at, rng.choice(REFUND_REASONS))

    # --- leads that did not become customers ---------------------------------------------------

    def _extra_leads(self) -> None:
        rng = self.rng
        n = self.scale.customers
        for _ in range(round(n * 0.3)):
            created = self.between(self.start, self.end - 30 * DAY)
            self._loose_lead(created, "disqualified", settled=created + self.days(3, 30))
        for _ in range(round(n * 0.06)):
            created = self.between(self.end - 60 * DAY, self.end - dt.timedelta(hours=2))
            status = rng.choices(["new", "contacted", "qualified"], weights=[5, 3, 2])[0]
            self._loose_lead(created, status, settled=None)

    def _loose_lead(self, created: dt.datetime, status: str, settled: dt.datetime | None) -> None:
        rng = self.rng
        channel = _weighted(rng, LEAD_CHANNELS)
        team = SALES_DIRECT if rng.random() < 0.8 else SALES_ENTERPRISE
        first, last = names.person_name(rng)
        company = names.company_name(rng, enterprise=team == SALES_ENTERPRISE, used=self.used_names)
        lead = LeadPlan(
            name=f"{first} {last}",
            company=company,
            email=f"{names.slug(first)}.{names.slug(last)}@{names.company_domain(company)}",
            phone=names.phone_number(rng) if rng.random() < 0.6 else "",
            source=LEAD_SOURCE[channel],
            channel=channel,
            campaign=self._campaign_for(channel, created),
            owner=rng.choice(team_members(team)),
            team=team,
            created_at=created,
            status=status,
            settled_at=settled,
        )
        if rng.random() < 0.05:
            lead.duplicate_at = created + self.days(0.1, 3)
        self.plan.leads.append(lead)

    def _lost_expansion_deals(self) -> None:
        """Cross-sell, up-sell pitches that did not close (lost, or still open near today)."""
        rng = self.rng
        won = sum(1 for d in self.plan.deals if d.kind in ("cross_sell", "upsell"))
        buyers = [c for c in self.plan.customers if len(c.orders) >= 2]
        if not buyers:
            return
        for _ in range(round(won * 0.7) + round(len(self.plan.customers) * 0.01)):
            customer = rng.choice(buyers)
            times = customer.order_times() or [customer.created_at]
            created = self.between(times[0] + DAY, max(times[-1], times[0] + 2 * DAY) + 30 * DAY)
            if created >= self.end:
                created = self.end - self.days(2, 40)
            kind = "cross_sell" if rng.random() < 0.5 else "upsell"
            self._deal(
                customer,
                name=f"{customer.name}: {'add-on' if kind == 'cross_sell' else 'expansion'}",
                kind=kind,
                amount=Decimal(rng.randrange(300, 9000)),
                created=created,
                close=created + self.days(14, 60),
                won=False,
                first_stage="qualification",
            )

    # --- activities -----------------------------------------------------------------------

    def _activity(self, activity: ActivityPlan) -> None:
        if activity.created_at < self.end:
            self.plan.activities.append(activity)

    def _activities(self) -> None:
        rng = self.rng
        for index, lead in enumerate(self.plan.leads):
            finish = lead.settled_at or self.end
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(["call", "email", "email"])
                when = self.between(lead.created_at, finish)
                self._activity(
                    ActivityPlan(
                        kind=kind,
                        subject="Intro call" if kind == "call" else "Sent product overview",
                        owner=lead.owner,
                        created_at=when,
                        lead=index,
                        done_at=when,
                    )
                )
        for index, deal in enumerate(self.plan.deals):
            finish = deal.moves[-1][1] if deal.moves else self.end
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(["call", "meeting", "email", "note"])
                when = self.between(deal.created_at, finish)
                subject = {
                    "call": "Discovery call",
                    "meeting": "Demo meeting",
                    "email": "Proposal follow-up",
                    "note": "Decision makers mapped",
                }[kind]
                self._activity(
                    ActivityPlan(
                        kind=kind,
                        subject=subject,
                        owner=deal.owner,
                        created_at=when,
                        deal=index,
                        done_at=when,
                    )
                )
            if rng.random() < 0.5:
                created = self.between(deal.created_at, finish)
                due = created + self.days(2, 10)
                done: dt.datetime | None = due - self.days(0, 2)
                if done is not None and (done >= self.end or rng.random() < 0.1):
                    done = None  # still open, maybe overdue
                self._activity(
                    ActivityPlan(
                        kind="task",
                        subject="Send proposal",
                        owner=deal.owner,
                        created_at=created,
                        deal=index,
                        due_at=due,
                        done_at=max(done, created) if done else None,
                    )
                )
        for customer in self.plan.customers:
            times = customer.order_times()
            if not times:
                continue
            active_days = (min(times[-1] + 60 * DAY, self.end) - times[0]).days
            for _ in range(_poisson(rng, active_days / 200)):
                when = self.between(times[0], min(times[-1] + 60 * DAY, self.end))
                kind = rng.choice(["call", "meeting", "note", "email"])
                self._activity(
                    ActivityPlan(
                        kind=kind,
                        subject="Account check-in",
                        owner=customer.owner,
                        created_at=when,
                        customer=customer.index,
                        done_at=when,
                    )
                )
        # Quarterly newsletter: mass mail, logged but not an interaction.
        for month in self.months[1:HISTORY_MONTHS:3]:
            sent = self.at_hour(month + dt.timedelta(days=9), 10, 11)
            for customer in self.plan.customers:
                times = customer.order_times()
                if times and times[0] < sent and rng.random() < 0.1:
                    self._activity(
                        ActivityPlan(
                            kind="email",
                            subject="Pulse quarterly newsletter",
                            owner=customer.owner,
                            created_at=sent,
                            customer=customer.index,
                            done_at=sent,
                            is_bulk=True,
                        )
                    )

    # --- support --------------------------------------------------------------------------

    def _ticket_windows(self, customer: CustomerPlan) -> list[tuple[dt.datetime, dt.datetime]]:
        """Spans in which a customer writes to support: while active, plus a short tail."""
        times = customer.order_times()
        tail = 60 * DAY
        if not times:
            return [(customer.created_at, min(customer.created_at + 45 * DAY, self.end))]
        windows = []
        start = times[0]
        for previous, following in zip(times, times[1:], strict=False):
            if (following - previous).days > customer.inactivity_days:
                windows.append((start, previous + tail))
                start = following
        last = times[-1] + tail
        if customer.churned_at is not None:
            last = min(last, customer.churned_at + 14 * DAY)
        windows.append((start, last))
        return [(a, min(b, self.end)) for a, b in windows if a < min(b, self.end)]

    def _tickets(self) -> None:
        rng = self.rng
        weight = {"smb": 1.0, "mid-market": 1.5, "enterprise": 2.5}
        windows = [self._ticket_windows(c) for c in self.plan.customers]
        exposure = sum(
            weight[c.segment] * sum((b - a).total_seconds() for a, b in spans)
            for c, spans in zip(self.plan.customers, windows, strict=True)
        )
        if not exposure:
            return
        per_second = self.scale.tickets / exposure
        agents = team_members(CUSTOMER_SUPPORT)
        planned: list[tuple[dt.datetime, int]] = []
        for customer, spans in zip(self.plan.customers, windows, strict=True):
            for a, b in spans:
                count = _poisson(
                    rng, per_second * weight[customer.segment] * (b - a).total_seconds()
                )
                for _ in range(count):
                    when = self.between(a, b)
                    if rng.random() < 0.75:
                        local = when.astimezone(self.tz)
                        when = max(self.at_hour(local.date(), 8, 18), customer.created_at)
                    if when < self.end - dt.timedelta(hours=1):
                        planned.append((when, customer.index))
        planned.sort()
        for when, customer_index in planned:
            self._ticket(self.plan.customers[customer_index], when, agents)

    def _ticket(self, customer: CustomerPlan, when: dt.datetime, agents: list[str]) -> None:
        rng = self.rng
        spam = rng.random() < 0.02
        categories = {
            "question": 40,
            "problem": 25,
            "incident": 10,
            "request": 17,
            "complaint": 25 if customer.unhappy else 6,
        }
        category = _weighted(rng, categories)
        priority = {
            "incident": _weighted(rng, {"urgent": 35, "high": 50, "normal": 15}),
            "complaint": _weighted(rng, {"high": 40, "normal": 60}),
            "problem": _weighted(rng, {"high": 25, "normal": 60, "low": 15}),
        }.get(category) or _weighted(rng, {"normal": 65, "low": 35})
        channel = _weighted(rng, {"email": 50, "web": 25, "phone": 15, "chat": 10})
        subject, body = _TICKET_TEXT[category][rng.randrange(len(_TICKET_TEXT[category]))]
        assignee = rng.choice(agents) if rng.random() < 0.95 else None
        ticket = TicketPlan(
            customer=customer.index,
            subject=subject,
            body=body,
            category=category,
            channel=channel,
            priority=priority,
            assignee=assignee,
            created_at=when,
            opened_by_agent=channel == "phone" and rng.random() < 0.5,
        )
        if spam:
            ticket.spam = True
            ticket.subject, ticket.body = rng.choice(_SPAM)
            ticket.category, ticket.priority, ticket.channel = "question", "normal", "email"
            ticket.opened_by_agent = False
            flagged = when + dt.timedelta(minutes=rng.randint(5, 240))
            ticket.closed_by_agent_at = min(flagged, self.end - MINUTE)
            self.plan.tickets.append(ticket)
            return
        self._ticket_flow(ticket, assignee or rng.choice(agents))
        self.plan.tickets.append(ticket)
        if rng.random() < 0.015:
            duplicate = TicketPlan(
                customer=customer.index,
                subject=f"Re: {subject}",
                body=body,
                category=category,
                channel="email",
                priority=priority,
                assignee=None,
                created_at=when + dt.timedelta(minutes=rng.randint(2, 50)),
                duplicate_of=len(self.plan.tickets) - 1,
            )
            if duplicate.created_at < self.end:
                duplicate.closed_by_agent_at = duplicate.created_at + 5 * MINUTE
                self.plan.tickets.append(duplicate)

    def _business(self, start: dt.datetime, minutes: int) -> dt.datetime:
        return self.calendar.add_minutes(start, max(minutes, 1)).astimezone(self.tz)

    def _ticket_flow(self, ticket: TicketPlan, agent: str) -> None:
        rng = self.rng
        events: list[TicketEvent] = []
        t0 = ticket.created_at
        clock = t0
        if ticket.opened_by_agent:
            ticket.body = f"Customer called: {ticket.body}"
            clock = t0 + dt.timedelta(minutes=rng.randint(30, 1440))
            events.append(
                TicketEvent(
                    clock,
                    "message",
                    "customer",
                    body="Thanks for the call, here are the details you asked for.",
                )
            )
        elif ticket.channel == "web":
            # The web form acknowledges automatically; an automated message is not a reply.
            events.append(
                TicketEvent(
                    t0 + MINUTE,
                    "message",
                    "system",
                    automated=True,
                    body="We received your request and will answer soon.",
                )
            )
        target = SLA_TARGETS[ticket.priority][0]
        ticket.late_reply = rng.random() < 0.13
        delay = int(
            target * (rng.uniform(1.1, 2.5) if ticket.late_reply else rng.uniform(0.05, 0.95))
        )
        reply = self._business(clock, delay)
        if rng.random() < 0.15:
            events.append(
                TicketEvent(
                    reply - MINUTE,
                    "message",
                    "agent",
                    agent,
                    body="Checked the logs, see attached notes.",
                    is_public=False,
                )
            )
        events.append(TicketEvent(reply, "message", "agent", agent, body=_AGENT_REPLY))
        now = reply
        for _ in range(rng.choices([0, 1, 2], weights=[45, 40, 15])[0]):
            events.append(TicketEvent(now + MINUTE, "status", author=agent, to_status="pending"))
            answer = now + dt.timedelta(minutes=rng.randint(20, 3 * 1440))
            events.append(
                TicketEvent(
                    answer, "message", "customer", body="Thanks, I tried that. One more question."
                )
            )
            now = self._business(answer, rng.randint(15, 600))
            events.append(TicketEvent(now, "message", "agent", agent, body=_AGENT_REPLY))
        solved = now + dt.timedelta(minutes=rng.randint(1, 30))
        events.append(TicketEvent(solved, "status", author=agent, to_status="solved"))
        if rng.random() < 0.08:
            ticket.reopened = True
            back = solved + self.days(0.5, 3.5)
            events.append(
                TicketEvent(back, "message", "customer", body="Sorry, the problem is back again.")
            )
            now = self._business(back, rng.randint(30, 900))
            events.append(TicketEvent(now, "message", "agent", agent, body=_AGENT_REPLY))
            solved = now + dt.timedelta(minutes=rng.randint(1, 20))
            events.append(TicketEvent(solved, "status", author=agent, to_status="solved"))
        events.append(TicketEvent(solved + 4 * DAY, "status", to_status="closed"))
        events.sort(key=lambda event: event.at)
        ticket.events = [event for event in events if event.at < self.end]
        finished = [e for e in ticket.events if e.to_status == "solved"]
        # Only a solve that stayed solved counts (a reopen after `end` would not have happened).
        if finished and not any(
            e.author_kind == "customer" and e.at > finished[-1].at for e in ticket.events
        ):
            ticket.solved_at = finished[-1].at

    # --- surveys --------------------------------------------------------------------------

    def _surveys(self) -> None:
        rng = self.rng
        csat: list[SurveyPlan] = []
        for index, ticket in enumerate(self.plan.tickets):
            if ticket.solved_at is None or ticket.spam or ticket.duplicate_of is not None:
                continue
            invited = ticket.solved_at + dt.timedelta(hours=24)
            if invited >= self.end or rng.random() >= 0.7:
                continue
            survey = SurveyPlan("csat", ticket.customer, invited, ticket=index)
            if rng.random() < 0.42:
                answered = invited + dt.timedelta(minutes=rng.randint(10, 5 * 1440))
                if answered < self.end:
                    score = self._csat_score(ticket)
                    survey.response = (score, _comment(rng, score, 5), answered)
            csat.append(survey)
        csat_responses = sum(1 for s in csat if s.response)

        waves = [
            self.at_hour(month + dt.timedelta(days=9), 9, 12)
            for month in self.months[1:HISTORY_MONTHS:3]
        ]
        eligible: list[tuple[dt.datetime, CustomerPlan]] = []
        for wave in waves:
            for customer in self.plan.customers:
                times = customer.order_times()
                position = bisect.bisect_left(times, wave)
                recent = (
                    position > 0 and (wave - times[position - 1]).days < customer.inactivity_days
                )
                if recent and (customer.churned_at is None or customer.churned_at > wave):
                    eligible.append((wave, customer))
        response_rate = 0.4
        wanted = max(self.scale.survey_responses - csat_responses, 0)
        invite_share = min(wanted / (response_rate * len(eligible)), 1.0) if eligible else 0.0
        nps: list[SurveyPlan] = []
        for wave, customer in eligible:
            if rng.random() >= invite_share:
                continue
            survey = SurveyPlan("nps", customer.index, wave)
            if rng.random() < response_rate:
                answered = wave + dt.timedelta(minutes=rng.randint(30, 9 * 1440))
                if answered < self.end:
                    score = self._nps_score(customer, wave)
                    survey.response = (score, _comment(rng, score, 10), answered)
            nps.append(survey)
        self.plan.surveys = sorted(nps + csat, key=lambda s: s.invited_at)

    def _csat_score(self, ticket: TicketPlan) -> int:
        weights = [6, 7, 12, 30, 45]  # scores 1..5
        if ticket.reopened or ticket.late_reply:
            weights = [15, 15, 20, 30, 20]
        if ticket.category == "complaint":
            weights = [25, 20, 20, 20, 15]
        return self.rng.choices(range(1, 6), weights=weights)[0]

    def _nps_score(self, customer: CustomerPlan, wave: dt.datetime) -> int:
        times = customer.order_times()
        later = [t for t in times if wave < t <= wave + 120 * DAY]
        before = [t for t in times if t < wave]
        leaving = not later and wave + 120 * DAY < self.end
        if leaving or (customer.unhappy and customer.churned_at is not None):
            bucket = {"detractor": 55, "passive": 30, "promoter": 15}
        elif len(before) >= 6:
            bucket = {"detractor": 10, "passive": 30, "promoter": 60}
        else:
            bucket = {"detractor": 22, "passive": 33, "promoter": 45}
        chosen = _weighted(self.rng, bucket)
        if chosen == "promoter":
            return self.rng.choice([9, 10, 10])
        if chosen == "passive":
            return self.rng.choice([7, 8, 8])
        return self.rng.choices(range(0, 7), weights=[2, 1, 2, 3, 4, 8, 10])[0]

    # --- retention ------------------------------------------------------------------------

    def _retention(self) -> None:
        rng = self.rng
        outreaches = (
            ("Call from the account manager", 40, 120),
            ("10% discount voucher on the next order", 80, 400),
            ("Free training day", 300, 600),
        )
        for customer in self.plan.customers:
            times = customer.order_times()
            d = dt.timedelta(days=customer.inactivity_days)
            for previous, following in zip(times, times[1:], strict=False):
                gap = following - previous
                if gap > d * 0.6 and rng.random() < (0.5 if gap > d else 0.12):
                    opened = (
                        previous + gap * rng.uniform(0.55, 0.7)
                        if gap <= d
                        else (previous + d * rng.uniform(0.6, 0.9))
                    )
                    self._case(
                        customer,
                        opened,
                        "retained",
                        following + DAY,
                        outreaches,
                        "No order for a while",
                    )
            if times and customer.churned_at is None and rng.random() < 0.35:
                last = times[-1]
                opened = last + d * rng.uniform(0.6, 0.85)
                if last + d < self.end:
                    self._case(
                        customer,
                        opened,
                        "lost",
                        last + d + self.days(5, 40),
                        outreaches,
                        "No order for a while",
                    )
                elif opened < self.end:
                    self._case(customer, opened, None, None, outreaches, "Order rhythm slowing")
            if customer.churned_at is not None:
                opened = customer.churned_at - self.days(20, 40)
                self._case(
                    customer,
                    opened,
                    "lost",
                    customer.churned_at,
                    outreaches,
                    "Contract renewal at risk" if customer.contract else "Account cancellation",
                )

    def _case(
        self,
        customer: CustomerPlan,
        opened: dt.datetime,
        outcome: str | None,
        closed: dt.datetime | None,
        outreaches: Sequence[tuple[str, int, int]],
        reason: str,
    ) -> None:
        if opened >= self.end:
            return
        outreach, low, high = self.rng.choice(outreaches)
        cost = Decimal(self.rng.randint(low, high))
        plan = RetentionPlan(customer.index, customer.owner, reason, outreach, cost, opened)
        if outcome is not None and closed is not None and closed < self.end:
            plan.outcome, plan.closed_at = outcome, max(closed, opened + dt.timedelta(hours=1))
            plan.final_cost = cost + Decimal(self.rng.randint(0, 60))
        self.plan.retention.append(plan)

    # --- marketing spend and sales costs ----------------------------------------------------

    def _costs(self) -> None:
        rng = self.rng
        new_by_month: dict[tuple[int, str], int] = {}
        revenue_by_month: dict[tuple[int, str], Decimal] = {}
        for customer in self.plan.customers:
            acquired = customer.acquired_at
            if acquired is not None:
                key = (self.month_index(acquired), customer.channel)
                new_by_month[key] = new_by_month.get(key, 0) + 1
            for order in customer.orders:
                key2 = (self.month_index(order.at), customer.team)
                revenue_by_month[key2] = revenue_by_month.get(key2, Decimal("0")) + order.net
        team_size = {team: len(team_members(team)) for team in SALES_TEAMS}
        for m in range(HISTORY_MONTHS):
            first = self.months[m]
            last = min(self.months[m + 1], self.today)
            if last <= first:
                continue
            share = (last - first).days / (self.months[m + 1] - first).days
            for channel, cpa in COST_PER_ACQUISITION.items():
                newcomers = new_by_month.get((m, channel), 0)
                base = cpa * 2 * share  # always-on spend even in a quiet month
                spend = (newcomers * cpa + base) * rng.uniform(0.85, 1.15)
                self.plan.marketing_spend.append(
                    (first, last, channel, Decimal(str(round(spend, 2))).quantize(CENT))
                )
            for team in SALES_TEAMS:
                revenue = revenue_by_month.get((m, team), Decimal("0"))
                salaries = Decimal(team_size[team] * 4200) * Decimal(str(round(share, 4)))
                amount = (salaries + revenue * Decimal("0.06")).quantize(CENT)
                self.plan.sales_costs.append(
                    (first, last, team, amount, "Salaries and commissions")
                )


_AGENT_REPLY = "Thanks for reaching out. Here is what we found and how to fix it."
_TICKET_TEXT: dict[str, list[tuple[str, str]]] = {
    "question": [
        ("How do I export my sales report?", "Where can I find the monthly export?"),
        ("Adding a second store", "Can one licence cover two locations?"),
        ("Invoice address change", "Please use our new billing address from now on."),
    ],
    "problem": [
        ("Receipt printer not printing", "The printer stopped after the last update."),
        ("Barcode scanner disconnects", "The scanner drops the connection every few minutes."),
        ("Sync error on terminal 2", "Terminal 2 shows a sync error since this morning."),
    ],
    "incident": [
        ("Checkout down in all stores", "No terminal can take payments right now."),
        ("Card payments failing", "Every card payment is declined since 10:00."),
    ],
    "request": [
        ("Please add a user", "We need an account for our new store manager."),
        ("Training for new staff", "Can we book a training session next month?"),
    ],
    "complaint": [
        ("Still waiting for a fix", "This is the third time we report the same problem."),
        ("Wrong invoice again", "We were charged twice for the support plan."),
        ("Unhappy with response times", "Nobody answered our ticket for two days."),
    ],
}
_SPAM = [
    ("Boost your SEO ranking today!!!", "Cheap backlinks, guaranteed first page."),
    ("You have won a prize", "Click here to claim your reward."),
]
_COMMENTS = {
    "low": ["Too many problems lately.", "Support took too long.", "Price went up again."],
    "mid": ["Works, but the reports could be better.", "OK overall."],
    "high": [
        "Great product and friendly support!",
        "The new terminal is fast.",
        "Easy to use for our staff.",
    ],
}


def _comment(rng: random.Random, score: int, scale_max: int) -> str:
    if rng.random() > 0.4:
        return ""
    share = score / scale_max
    key = "low" if share < 0.65 else "mid" if share < 0.85 else "high"
    return rng.choice(_COMMENTS[key])


def company_plan(
    *,
    seed: int,
    scale: Scale,
    today: dt.date,
    time_zone: str,
    currency: str,
    inactivity_days: int,
    segment_inactivity: dict[str, int | None],
    calendar: WorkingCalendar,
) -> CompanyPlan:
    return Planner(
        seed=seed,
        scale=scale,
        today=today,
        time_zone=time_zone,
        currency=currency,
        inactivity_days=inactivity_days,
        segment_inactivity=segment_inactivity,
        calendar=calendar,
    ).run()

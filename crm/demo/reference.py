"""Reference data of the demo company: teams, channels, segments, pipeline, products, support
schedule and SLA policies, surveys. These rows carry no business rules, so they are written with
`get_or_create` directly; everything with rules goes through the services (crm.demo.build).

The constants here are also read by the planner (crm.demo.story), so the simulated history and
the configuration it runs against cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User

from crm.demo.people import MANAGER_USERNAME, TEAM_NAMES, team_members
from customers.models import Channel, Segment, Team
from sales.models import PipelineStage, Product, ProductLine
from support.business_hours import WorkingCalendar
from support.models import BusinessHours, BusinessSchedule, CannedResponse, Holiday, SLAPolicy
from surveys.models import Survey

# code, name, paid
CHANNELS: tuple[tuple[str, str, bool], ...] = (
    ("organic-search", "Organic search", False),
    ("paid-search", "Paid search", True),
    ("social", "Social media", True),
    ("referral", "Referral", False),
    ("partner", "Partner", True),
    ("events", "Events and trade fairs", True),
)

# code, name, inactivity-days override (enterprise buys rarely; 90 days would churn them wrongly)
SEGMENTS: tuple[tuple[str, str, int | None], ...] = (
    ("smb", "SMB", None),
    ("mid-market", "Mid-market", None),
    ("enterprise", "Enterprise", 180),
)

# code, name, position, probability, won, lost
STAGES: tuple[tuple[str, str, int, str, bool, bool], ...] = (
    ("prospecting", "Prospecting", 10, "0.100", False, False),
    ("qualification", "Qualification", 20, "0.250", False, False),
    ("proposal", "Proposal", 30, "0.500", False, False),
    ("negotiation", "Negotiation", 40, "0.750", False, False),
    ("won", "Won", 50, "1.000", True, False),
    ("lost", "Lost", 60, "0.000", False, True),
)
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

PRODUCT_LINES: tuple[tuple[str, str], ...] = (
    ("software", "Software licences"),
    ("hardware", "Hardware"),
    ("services", "Professional services"),
    ("support", "Support plans"),
)

# sku, name, product line, unit price in the organisation currency
PRODUCTS: tuple[tuple[str, str, str, str], ...] = (
    ("SW-STARTER", "Pulse POS Starter licence", "software", "290.00"),
    ("SW-PRO", "Pulse POS Professional licence", "software", "890.00"),
    ("SW-ENT", "Pulse POS Enterprise licence", "software", "2400.00"),
    ("HW-SCAN", "Barcode scanner", "hardware", "189.00"),
    ("HW-PRINT", "Receipt printer", "hardware", "249.00"),
    ("HW-TERM", "Point-of-sale terminal", "hardware", "649.00"),
    ("SV-ONB", "Onboarding package", "services", "1200.00"),
    ("SV-TRAIN", "Training day", "services", "950.00"),
    ("SV-CONS", "Consulting hour", "services", "140.00"),
    ("SP-STD", "Standard support plan (1 year)", "support", "360.00"),
    ("SP-PREM", "Premium support plan (1 year)", "support", "1440.00"),
)

SCHEDULE_NAME = "Office hours"
WORK_START = dt.time(9, 0)
WORK_END = dt.time(17, 0)
# (month, day, name): fixed-date public holidays, repeated for every year of the history.
HOLIDAYS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "New Year's Day"),
    (5, 1, "Labour Day"),
    (10, 3, "Day of German Unity"),
    (12, 25, "Christmas Day"),
    (12, 26, "Boxing Day"),
)

# priority -> (first response, resolution) targets in business minutes
SLA_TARGETS: dict[str, tuple[int, int]] = {
    "urgent": (60, 480),
    "high": (120, 960),
    "normal": (480, 2400),
    "low": (960, 4800),
}

NPS_SURVEY = "Relationship NPS"
CSAT_SURVEY = "Support CSAT"


def holiday_dates(years: range) -> list[tuple[dt.date, str]]:
    return [(dt.date(year, month, day), name) for year in years for month, day, name in HOLIDAYS]


def working_calendar(*, time_zone: str, years: range) -> WorkingCalendar:
    """The default schedule as an in-memory calendar, for planning reply times without queries."""
    day = ((WORK_START, WORK_END),)
    return WorkingCalendar(
        tz=ZoneInfo(time_zone),
        intervals={weekday: day for weekday in range(5)},
        holidays=frozenset(date for date, _name in holiday_dates(years)),
    )


@dataclass
class Reference:
    teams: dict[str, Team]
    channels: dict[str, Channel]
    segments: dict[str, Segment]
    stages: dict[str, PipelineStage]
    products: dict[str, Product]
    surveys: dict[str, Survey]
    schedule: BusinessSchedule


def reference_ensure(*, users: dict[str, User], years: range) -> Reference:
    teams: dict[str, Team] = {}
    for name in TEAM_NAMES:
        team, _created = Team.objects.get_or_create(name=name)
        team.manager = users[MANAGER_USERNAME]
        team.save(update_fields=["manager"])
        team.members.set([users[username] for username in team_members(name)])
        teams[name] = team

    channels = {}
    for code, name, paid in CHANNELS:
        channels[code], _created = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "is_paid": paid}
        )
    segments = {}
    for code, name, days in SEGMENTS:
        segments[code], _created = Segment.objects.get_or_create(
            code=code, defaults={"name": name, "inactivity_days": days}
        )
    stages = {}
    for code, name, position, probability, won, lost in STAGES:
        stages[code], _created = PipelineStage.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "position": position,
                "probability": Decimal(probability),
                "is_won": won,
                "is_lost": lost,
            },
        )
    lines = {}
    for code, name in PRODUCT_LINES:
        lines[code], _created = ProductLine.objects.get_or_create(
            code=code, defaults={"name": name}
        )
    products = {}
    for sku, name, line, price in PRODUCTS:
        products[sku], _created = Product.objects.get_or_create(
            sku=sku,
            defaults={"name": name, "product_line": lines[line], "unit_price": Decimal(price)},
        )

    schedule = _schedule_ensure(years)
    _sla_policies_ensure(schedule)
    _canned_responses_ensure()
    surveys = {
        NPS_SURVEY: Survey.objects.get_or_create(
            name=NPS_SURVEY,
            defaults={
                "kind": "nps",
                "question": "How likely are you to recommend Pulse to a friend or colleague?",
                "trigger": Survey.Trigger.RELATIONSHIP,
                "delay_hours": 0,
                "cooldown_days": 90,
            },
        )[0],
        CSAT_SURVEY: Survey.objects.get_or_create(
            name=CSAT_SURVEY,
            defaults={
                "kind": "csat",
                "question": "How satisfied are you with the help you received?",
                "trigger": Survey.Trigger.TICKET_SOLVED,
                "delay_hours": 24,
                "cooldown_days": 7,
            },
        )[0],
    }
    return Reference(teams, channels, segments, stages, products, surveys, schedule)


def _schedule_ensure(years: range) -> BusinessSchedule:
    schedule = BusinessSchedule.objects.filter(is_default=True).first()
    if schedule is None:
        schedule, _created = BusinessSchedule.objects.get_or_create(
            name=SCHEDULE_NAME,
            defaults={"time_zone": settings.CRM_TIME_ZONE, "is_default": True},
        )
    if not schedule.intervals.exists():
        BusinessHours.objects.bulk_create(
            BusinessHours(schedule=schedule, weekday=day, starts_at=WORK_START, ends_at=WORK_END)
            for day in range(5)
        )
    known = set(schedule.holidays.values_list("date", flat=True))
    Holiday.objects.bulk_create(
        Holiday(schedule=schedule, date=date, name=name)
        for date, name in holiday_dates(years)
        if date not in known
    )
    return schedule


# Shared with every team; placeholders as support.services.CANNED_PLACEHOLDERS fills them.
CANNED_RESPONSES: tuple[tuple[str, str], ...] = (
    (
        "Thanks, looking into it",
        "Hello {customer_name},\n\nthank you for contacting us about ticket {ticket_number}. "
        "I am looking into it and will get back to you today.\n\nBest regards,\n{agent_name}",
    ),
    (
        "Need more details",
        "Hello {customer_name},\n\nto help with ticket {ticket_number}, could you send us the "
        "order number and a screenshot of the problem?\n\nThank you,\n{agent_name}",
    ),
    (
        "Solved, please confirm",
        "Hello {customer_name},\n\nwe believe ticket {ticket_number} is solved. If anything "
        "is still wrong, just reply to this message.\n\nKind regards,\n{agent_name}",
    ),
)


def _canned_responses_ensure() -> None:
    for name, body in CANNED_RESPONSES:
        CannedResponse.objects.get_or_create(name=name, team=None, defaults={"body": body})


def _sla_policies_ensure(schedule: BusinessSchedule) -> None:
    if SLAPolicy.objects.exists():
        return
    policies = [
        SLAPolicy(
            name=f"{priority.capitalize()} priority",
            position=position,
            priority=priority,
            schedule=schedule,
            first_response_minutes=first,
            next_response_minutes=first * 2,
            resolution_minutes=resolution,
        )
        for position, (priority, (first, resolution)) in enumerate(SLA_TARGETS.items(), start=1)
    ]
    # A catch-all keeps every ticket under some policy even if a priority is added later.
    policies.append(
        SLAPolicy(
            name="Default",
            position=100,
            schedule=schedule,
            first_response_minutes=480,
            resolution_minutes=2400,
        )
    )
    SLAPolicy.objects.bulk_create(policies)

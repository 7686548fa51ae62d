"""Demo data: a believable 24-month company history and one login per role.

`seed_demo` is the entry point used by the `seed_demo` management command: reference data and
staff first (plain get_or_create), then the planned history (crm.demo.story) replayed through
the services (crm.demo.build).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from crm.demo.build import Builder, Output
from crm.demo.people import staff_ensure
from crm.demo.reference import SEGMENTS, reference_ensure, working_calendar
from crm.demo.story import HISTORY_MONTHS, SCALES, CompanyPlan, company_plan
from customers.models import Customer
from kpis.services import alert_rules_default_install
from sales.models import Lead, Opportunity, Order
from support.models import Ticket
from surveys.models import SurveyResponse

__all__ = ["SCALES", "DemoFigures", "demo_figures", "seed_demo"]


def history_today() -> dt.date:
    """Today's date in the organisation's time zone: the day the history ends."""
    return timezone.now().astimezone(ZoneInfo(settings.CRM_TIME_ZONE)).date()


def seed_demo(
    *, seed: int, scale: str, stdout: Output, today: dt.date | None = None
) -> CompanyPlan:
    """Write the demo company into an empty database; returns the plan it followed."""
    today = today or history_today()
    started = time.monotonic()
    years = range(today.year - HISTORY_MONTHS // 12 - 1, today.year + 2)
    users = staff_ensure()
    reference = reference_ensure(users=users, years=years)
    plan = company_plan(
        seed=seed,
        scale=SCALES[scale],
        today=today,
        time_zone=settings.CRM_TIME_ZONE,
        currency=settings.CRM_CURRENCY,
        inactivity_days=settings.CRM_INACTIVITY_DAYS,
        segment_inactivity={code: days for code, _name, days in SEGMENTS},
        calendar=working_calendar(time_zone=settings.CRM_TIME_ZONE, years=years),
    )
    stdout.write(
        f"Planned {len(plan.customers)} customers and {plan.order_count} orders "
        f"({plan.start:%Y-%m-%d} to {plan.end:%Y-%m-%d}) in {time.monotonic() - started:.1f}s\n"
    )
    Builder(plan=plan, reference=reference, users=users, stdout=stdout).run()
    # The migration installs them on a fresh database; a flushed one gets them here.
    alert_rules_default_install()
    return plan


@dataclass(frozen=True)
class DemoFigures:
    customers: int
    leads: int
    opportunities: int
    orders: int
    cancelled_orders: int
    revenue: Decimal
    tickets: int
    survey_responses: int

    def lines(self) -> list[str]:
        rows = [
            ("customers", f"{self.customers:,}"),
            ("leads", f"{self.leads:,}"),
            ("opportunities", f"{self.opportunities:,}"),
            ("orders", f"{self.orders:,} ({self.cancelled_orders:,} cancelled)"),
            ("net revenue", f"{self.revenue:,.2f} {settings.CRM_CURRENCY}"),
            ("tickets", f"{self.tickets:,}"),
            ("survey answers", f"{self.survey_responses:,}"),
        ]
        return [f"{label:<15} {value}" for label, value in rows]


def demo_figures() -> DemoFigures:
    """Aggregate figures of what is in the database (used by the summary and the tests)."""
    revenue = Order.objects.exclude(status=Order.Status.CANCELLED).aggregate(
        total=Sum("net_amount")
    )["total"]
    return DemoFigures(
        customers=Customer.objects.count(),
        leads=Lead.objects.count(),
        opportunities=Opportunity.objects.count(),
        orders=Order.objects.count(),
        cancelled_orders=Order.objects.filter(status=Order.Status.CANCELLED).count(),
        revenue=revenue or Decimal("0"),
        tickets=Ticket.objects.count(),
        survey_responses=SurveyResponse.objects.count(),
    )

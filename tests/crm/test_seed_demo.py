"""The demo generator: a small company built through the services, the demo logins, determinism."""

import datetime as dt
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Min
from django.test import Client

from crm.demo import SCALES, demo_figures, history_today
from crm.demo.people import CUSTOMER_SUPPORT, SALES_TEAMS, demo_logins
from crm.demo.reference import SEGMENTS, working_calendar
from crm.demo.story import company_plan
from customers.models import Customer, Team
from sales.models import (
    Activity,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    Order,
    RetentionCase,
    SalesCost,
)
from support.models import Ticket
from surveys.models import SurveyInvitation, SurveyResponse
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 would dominate the runtime of a test that logs in four times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", scale="small", seed=7, stdout=out, **options)
    return out.getvalue()


def _month_number(when: dt.datetime | dt.date) -> int:
    return when.year * 12 + when.month


def _reactivated_customers() -> set[int]:
    """Customers with a gap between two kept orders longer than their inactivity days."""
    days = {code: override or settings.CRM_INACTIVITY_DAYS for code, _name, override in SEGMENTS}
    rows = (
        Order.objects.exclude(status=Order.Status.CANCELLED)
        .order_by("customer_id", "ordered_at")
        .values_list("customer_id", "customer__segment__code", "ordered_at")
    )
    reactivated: set[int] = set()
    previous: dict[int, dt.datetime] = {}
    for customer_id, segment, ordered_at in rows:
        last = previous.get(customer_id)
        if last is not None and (ordered_at - last).days > days[segment]:
            reactivated.add(customer_id)
        previous[customer_id] = ordered_at
    return reactivated


def _assert_demo_logins_work(client: Client, output: str) -> None:
    """Every role has a working login, in the right group and teams."""
    users = {user.username: user for user in get_user_model().objects.all()}
    for login in demo_logins():
        assert client.login(username=login.username, password=login.password), login.username
        assert users[login.username].groups.filter(name=login.role).exists()
        assert login.password in output
        client.logout()
    assert users["admin"].is_superuser
    assert users["admin"].is_staff
    assert users["manager"].is_staff
    assert not users["manager"].is_superuser
    assert not users["rep"].is_staff
    assert not users["agent"].is_staff
    assert users["rep"].teams.filter(name__in=SALES_TEAMS).exists()
    assert users["agent"].teams.filter(name=CUSTOMER_SUPPORT).exists()
    managed = set(Team.objects.filter(manager=users["manager"]).values_list("name", flat=True))
    assert {*SALES_TEAMS, CUSTOMER_SUPPORT} <= managed


def _assert_small_volumes() -> None:
    """The volumes are about a tenth of the medium scale."""
    assert Customer.objects.count() == SCALES["small"].customers == 200
    assert 800 <= Order.objects.count() <= 1300
    assert 240 <= Ticket.objects.count() <= 380
    assert 140 <= SurveyResponse.objects.count() <= 260
    assert Lead.objects.count() >= 120
    assert Opportunity.objects.count() >= 80
    assert Activity.objects.count() >= 500
    # spend per month per channel (6) and costs per month per sales team (2); 23 months when
    # today is the 1st (the current month has no day of history yet)
    assert MarketingSpend.objects.count() in (23 * 6, 24 * 6)
    assert SalesCost.objects.count() in (23 * 2, 24 * 2)


def _assert_history_and_life_events() -> None:
    """Orders span 24 calendar months ending before today; growth, churn, come-backs."""
    tz = ZoneInfo(settings.CRM_TIME_ZONE)
    today = history_today()
    first_order_at = Order.objects.aggregate(first=Min("ordered_at"))["first"]
    assert first_order_at is not None
    earliest = first_order_at.astimezone(tz)
    assert _month_number(today) - _month_number(earliest) == 23
    assert not Order.objects.filter(ordered_at__gte=dt.datetime.combine(today, dt.time(0), tz))

    # growth: after the migrated base of month 0, the second year acquires more than the first
    age = [
        _month_number(today) - _month_number(acquired.astimezone(tz))
        for acquired in Customer.objects.values_list("acquired_at", flat=True)
        if acquired is not None
    ]
    assert sum(1 for months in age if months <= 11) > sum(1 for months in age if 12 <= months <= 22)
    assert len(_reactivated_customers()) >= 5
    assert Customer.objects.exclude(churned_at=None).exists()  # contract churn
    assert Customer.objects.exclude(referred_by=None).count() >= 5
    assert Order.objects.filter(status=Order.Status.CANCELLED).count() >= 5
    assert Order.objects.filter(refunded_total__gt=0).exists()
    assert Order.objects.exclude(currency=settings.CRM_CURRENCY).exclude(exchange_rate=1).exists()
    assert Order.objects.filter(status=Order.Status.DELIVERED).exists()


def _assert_leads_and_deals() -> None:
    """Leads in every state; every deal has its stage history."""
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {"converted", "merged", "disqualified", "new"} <= statuses
    assert set(Opportunity.objects.values_list("kind", flat=True)) == {
        "new",
        "cross_sell",
        "upsell",
        "renewal",
    }
    assert not Opportunity.objects.annotate(moves=Count("stage_changes")).filter(moves=0)
    assert not Opportunity.objects.filter(outcome="lost", lost_reason="")
    assert Opportunity.objects.filter(outcome="won").exists()
    assert Opportunity.objects.filter(outcome="open").exists()
    last_move_mismatch = [
        o.pk
        for o in Opportunity.objects.prefetch_related("stage_changes")
        if list(o.stage_changes.all())[-1].to_stage_id != o.stage_id
    ]
    assert last_move_mismatch == []
    assert OpportunityStageChange.objects.filter(from_stage=None).count() == (
        Opportunity.objects.count()
    )


def _assert_support_and_surveys() -> None:
    """Reopened and spam tickets, SLA misses; promoters and detractors."""
    assert Ticket.objects.filter(reopen_count__gt=0).count() >= 5
    assert Ticket.objects.filter(is_spam=True).exists()
    assert Ticket.objects.filter(first_response_at__isnull=False).count() >= 200
    assert Ticket.objects.filter(sla_first_response_met=False).exists()
    assert SurveyResponse.objects.filter(kind="nps", score__gte=9).exists()
    assert SurveyResponse.objects.filter(kind="nps", score__lte=6).exists()
    assert SurveyResponse.objects.filter(kind="csat", ticket__isnull=False).exists()
    assert not SurveyInvitation.objects.filter(sent_at__isnull=True)
    assert not SurveyResponse.objects.filter(responded_at__lt=F("invitation__created_at"))


def _assert_activities_and_retention() -> None:
    """Bulk mail, open and done tasks; retained and lost retention cases."""
    assert Activity.objects.filter(is_bulk=True).exists()
    assert Activity.objects.filter(kind="task", done_at=None).exists()
    assert Activity.objects.filter(kind="task", done_at__isnull=False).exists()
    outcomes = set(RetentionCase.objects.values_list("outcome", flat=True))
    assert {"retained", "lost"} <= outcomes


# A fixed "today" makes the generated company (and so these assertions) the same every day.
SEED_DAY = dt.datetime(2026, 3, 18, 9, 30, tzinfo=dt.UTC)


@time_machine.travel(SEED_DAY, tick=True)
def test_seed_demo_is_deterministic_believable_and_if_empty_is_a_no_op(client):
    # One scenario so the small company is generated only twice (the slow part, ~15 s each).
    # given a first run, rolled back so the second starts from the same empty database
    with transaction.atomic():
        _seed()
        first = demo_figures()
        transaction.set_rollback(True)
    assert Customer.objects.count() == 0

    # when the same seed runs again
    output = _seed()

    # then the aggregate figures are identical
    second = demo_figures()
    assert first == second
    assert second.revenue > 0

    # and the company is believable: logins, volumes, 24 months of life, deals, support, surveys
    _assert_demo_logins_work(client, output)
    _assert_small_volumes()
    _assert_history_and_life_events()
    _assert_leads_and_deals()
    _assert_support_and_surveys()
    _assert_activities_and_retention()

    # and --if-empty leaves the filled database alone, saying so
    again = _seed(if_empty=True)
    assert "already exist" in again
    assert demo_figures() == second


def test_seed_demo_refuses_a_database_that_already_has_customers():
    # given a database with a real customer; when seeding without --if-empty; then it refuses
    CustomerFactory(name="Real customer")
    with pytest.raises(CommandError, match="already holds customers"):
        _seed()
    assert Customer.objects.count() == 1


def test_another_seed_plans_another_company():
    # planning alone is deterministic and cheap: compare two seeds without writing anything
    today = dt.date(2026, 3, 15)
    years = range(2024, 2028)
    common: dict[str, Any] = {
        "scale": SCALES["small"],
        "today": today,
        "time_zone": settings.CRM_TIME_ZONE,
        "currency": "EUR",
        "inactivity_days": 90,
        "segment_inactivity": {code: days for code, _name, days in SEGMENTS},
        "calendar": working_calendar(time_zone=settings.CRM_TIME_ZONE, years=years),
    }
    seven, again, eight = (company_plan(seed=s, **common) for s in (7, 7, 8))
    assert (seven.order_count, seven.revenue) == (again.order_count, again.revenue)
    assert (seven.order_count, seven.revenue) != (eight.order_count, eight.revenue)


def test_demo_logins_prints_the_table_and_flags_missing_users():
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    for login in demo_logins():
        assert f"  {login.username} " in text
        assert login.password in text
    assert "missing" in text  # nobody seeded yet

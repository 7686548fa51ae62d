"""Customer health score: components, rescaling of missing ones, bands and history."""

import datetime as dt
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from customers.models import Customer
from kpis.health import health_recompute, health_score_for
from kpis.models import CustomerHealthSnapshot, default_health_config
from kpis.services import (
    weight_version_activate,
    weight_version_create_draft,
    weight_version_update,
)
from sales.models import Activity
from support.models import Ticket, TicketMessage
from surveys.models import SurveyKind
from tests.customers.factories import CustomerFactory
from tests.sales.factories import ActivityFactory, OrderFactory
from tests.support.factories import TicketFactory, TicketMessageFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2026, 7, 1, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))
Q2 = dt.date(2026, 4, 1)
ACQUIRED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def ago(days: int) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


@pytest.fixture
def hana():
    """A customer with every component present."""
    customer = CustomerFactory(name="Hana", acquired_at=ACQUIRED)
    for days in (45, 60, 75, 90, 105, 120):  # 6 order days, the last 45 days ago
        OrderFactory(customer=customer, ordered_at=ago(days), total=Decimal("500"))
    complaint = TicketFactory(
        customer=customer,
        category=Ticket.Category.COMPLAINT,
        status=Ticket.Status.OPEN,
        created_at=ago(20),
    )
    for ignored in ({"status": Ticket.Status.SOLVED}, {"is_spam": True}):
        TicketFactory(
            customer=customer, category=Ticket.Category.COMPLAINT, created_at=ago(20), **ignored
        )
    TicketMessageFactory(
        ticket=complaint, author_kind=TicketMessage.AuthorKind.CUSTOMER, created_at=ago(10)
    )
    ActivityFactory(customer=customer, kind=Activity.Kind.CALL, done_at=ago(5))
    ActivityFactory(customer=customer, kind=Activity.Kind.MEETING, done_at=ago(50))
    ActivityFactory(customer=customer, kind=Activity.Kind.EMAIL, is_bulk=True, done_at=ago(5))
    ActivityFactory(customer=customer, kind=Activity.Kind.NOTE, done_at=ago(5))
    ActivityFactory(customer=customer, kind=Activity.Kind.CALL, done_at=ago(120))  # too old
    csat = SurveyFactory(name="CSAT", kind=SurveyKind.CSAT)
    nps = SurveyFactory(name="NPS", kind=SurveyKind.NPS)
    SurveyResponseFactory(customer=customer, survey=csat, score=2, responded_at=ago(200))
    SurveyResponseFactory(customer=customer, survey=nps, score=8, responded_at=ago(30))
    return customer


def test_health_score_of_a_customer_with_every_component(hana, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        scored = health_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)

    # default weights: recency 25, frequency 20, monetary 15, complaints 15, satisfaction 15,
    # engagement 10 (Σ 100)
    # recency 45 d: (45 − 180) / (0 − 180) = 0.75 → 75
    # frequency 6 days: 6 / 12 → 50;  monetary 3000 / 10000 → 30
    # open complaints 1 (solved and spam ignored): (1 − 3) / (0 − 3) → 66.67
    # satisfaction: latest answer NPS 8 → 80 (the older CSAT 2 is ignored)
    # engagement: call + meeting + customer ticket message + NPS answer = 4 → 4 / 6 → 66.67
    # score = (25·75 + 20·50 + 15·30 + 15·66.67 + 15·80 + 10·66.67) / 100
    #       = (1875 + 1000 + 450 + 1000 + 1200 + 666.67) / 100 = 61.92
    hana.refresh_from_db()
    assert scored == 1
    assert hana.health_score == Decimal("61.92")
    assert hana.health_band == "yellow"
    history = CustomerHealthSnapshot.objects.get(customer=hana, period_start=Q2)
    assert history.score == Decimal("61.92")
    assert history.components["engagement"]["value"] == "4"
    assert history.components["open_complaints"]["value"] == "1"
    assert history.components["satisfaction"]["score"] == "80.00"


def test_scores_from_the_rfm_order_measures_equal_a_pass_of_their_own(hana):
    # After a KPI period the hook passes RFM's order measures (last order, order days and
    # revenue in 365 days) instead of measuring the orders again: the same components result.
    from kpis.rfm import rfm_recompute

    CustomerFactory(name="Prospect", acquired_at=ACQUIRED)  # scored, without orders
    health_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2)
    own = {
        row.customer_id: (row.score, row.components)
        for row in CustomerHealthSnapshot.objects.filter(period_start=Q2)
    }
    measures = rfm_recompute(as_of=AS_OF).order_measures
    health_recompute(as_of=AS_OF, granularity="quarter", period_start=Q2, order_measures=measures)
    shared = {
        row.customer_id: (row.score, row.components)
        for row in CustomerHealthSnapshot.objects.filter(period_start=Q2)
    }

    assert shared == own
    assert own[hana.pk][0] == Decimal("61.92")
    assert len(own) == 2


def test_missing_components_are_dropped_and_prospects_have_no_score():
    quiet = cast(Customer, CustomerFactory(name="Quiet", acquired_at=ACQUIRED))  # no order
    prospect = cast(
        Customer, CustomerFactory(name="Prospect", health_score=Decimal("50"), health_band="red")
    )

    health_recompute(as_of=AS_OF)

    # only open complaints (0 → 100, weight 15) and engagement (0 → 0, weight 10) are known:
    # (15·100 + 10·0) / 25 = 60.00
    quiet.refresh_from_db()
    prospect.refresh_from_db()
    assert quiet.health_score == Decimal("60.00")
    assert quiet.health_band == "yellow"
    assert (prospect.health_score, prospect.health_band) == (None, "")


def test_weights_come_from_the_active_version(hana):
    draft = weight_version_create_draft()
    # only satisfaction counts now
    config = [
        {**row, "weight": 1 if row["component"] == "satisfaction" else 0}
        for row in default_health_config()
    ]
    weight_version_update(version=draft, health_config=config)
    weight_version_activate(version=draft)

    health_recompute(as_of=AS_OF)

    assert Customer.objects.get(pk=hana.pk).health_score == Decimal("80.00")  # NPS 8 → 80


def test_health_score_for_rescales_over_present_components():
    config = [
        {"component": "recency", "weight": 3, "best": 0, "worst": 100},
        {"component": "satisfaction", "weight": 1, "best": 100, "worst": 0},
    ]
    # recency 25 → 75; satisfaction missing → score = 75
    score, components = health_score_for({"recency": Decimal(25), "satisfaction": None}, config)
    assert score == Decimal("75.00")
    assert components["satisfaction"]["score"] is None
    # both present: (3·75 + 1·40) / 4 = 66.25
    score, _components = health_score_for(
        {"recency": Decimal(25), "satisfaction": Decimal(40)}, config
    )
    assert score == Decimal("66.25")

"""Merging two customers: every related record moves to the survivor in one transaction, the
merged record points to it, and the KPI periods whose figures change are recomputed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact, Customer
from customers.services import (
    MERGE_DELETED_RELATIONS,
    MERGE_KEPT_RELATIONS,
    MERGE_MOVED_RELATIONS,
    customer_merge,
    relation_label,
)
from kpis.models import CustomerSegmentSnapshot, KpiSnapshot
from kpis.periods import period_bounds, to_datetime_range
from sales.models import Lead
from tests.customers.factories import (
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)
from tests.sales.factories import (
    ActivityFactory,
    OpportunityFactory,
    OrderFactory,
    RetentionCaseFactory,
)
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyInvitationFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(client, team):
    user = UserFactory(username="rita", role="Sales rep")
    team.members.add(user)
    client.force_login(user)
    return user


def test_every_relation_to_customer_is_classified():
    labels = {relation_label(r) for r in Customer._meta.related_objects}

    assert labels == MERGE_MOVED_RELATIONS | MERGE_KEPT_RELATIONS | MERGE_DELETED_RELATIONS


def test_every_related_record_moves_to_the_survivor(team, rep):
    source = CustomerFactory(name="Acme", team=team, external_id="ext-1")
    target = CustomerFactory(name="ACME GmbH", team=team)
    records = [
        ContactFactory(customer=source),
        OrderFactory(customer=source),
        OpportunityFactory(customer=source),
        ActivityFactory(customer=source),
        RetentionCaseFactory(customer=source),
        TicketFactory(customer=source),
        SurveyInvitationFactory(customer=source),
        SurveyResponseFactory(customer=source),
    ]
    lead = Lead.objects.create(
        name="Lead", status="converted", converted_at=timezone.now(), converted_customer=source
    )
    referral = CustomerFactory(referred_by=source)
    merged_earlier = CustomerFactory(merged_into=source)
    snapshot = CustomerSegmentSnapshot.objects.create(
        customer=source,
        granularity="month",
        period_start=dt.date(2026, 1, 1),
        as_of=timezone.now(),
        r=1,
        f=1,
        m=1,
        recency_days=1,
        frequency=1,
        monetary=1,
    )

    result = customer_merge(
        source=source, target=target, take_from_source=["external_id"], actor=rep
    )

    for record in records:
        record.refresh_from_db()
        assert record.customer_id == target.pk, type(record).__name__
    lead.refresh_from_db()
    referral.refresh_from_db()
    merged_earlier.refresh_from_db()
    snapshot.refresh_from_db()
    assert lead.converted_customer_id == target.pk
    assert referral.referred_by_id == target.pk
    assert merged_earlier.merged_into_id == target.pk
    assert snapshot.customer_id == source.pk  # derived history stays with the merged record
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert (source.external_id, result.target.external_id) == (None, "ext-1")
    assert result.target.name == "ACME GmbH"
    assert result.moved["sales.Order.customer"] == 1


def test_the_survivor_keeps_one_primary_contact(team):
    source, target = CustomerFactory(team=team), CustomerFactory(team=team)
    ContactFactory(customer=source, is_primary=True)
    kept = ContactFactory(customer=target, is_primary=True)

    customer_merge(source=source, target=target)

    assert list(Contact.objects.filter(customer=target, is_primary=True)) == [kept]
    assert Contact.objects.filter(customer=target).count() == 2


def test_merge_with_itself_is_refused(client, rep, team):
    customer = CustomerFactory(team=team)

    with pytest.raises(ValidationError):
        customer_merge(source=customer, target=customer)
    response = client.post(reverse("customers:merge", args=[customer.pk]), {"other": customer.pk})

    assert response.status_code == 400
    assert "itself" in " ".join(response.context["form"].non_field_errors())
    customer.refresh_from_db()
    assert customer.merged_into_id is None


def test_a_merged_customer_cannot_be_merged_again(team):
    first, second, third = (CustomerFactory(team=team) for _ in range(3))
    customer_merge(source=first, target=second)

    with pytest.raises(ValidationError):
        customer_merge(source=first, target=third)
    with pytest.raises(ValidationError):
        customer_merge(source=third, target=first)


def test_a_customer_of_a_team_the_user_cannot_see_is_a_404(client, rep, team):
    mine = CustomerFactory(team=team)
    theirs = CustomerFactory(team=TeamFactory(name="South"))

    as_source = client.post(reverse("customers:merge", args=[mine.pk]), {"other": theirs.pk})
    as_target = client.post(reverse("customers:merge", args=[theirs.pk]), {"other": mine.pk})
    compare = client.get(reverse("customers:merge", args=[mine.pk]), {"other": theirs.pk})

    assert [as_source.status_code, as_target.status_code, compare.status_code] == [404] * 3
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.merged_into_id is None
    assert mine.merged_into_id is None


def test_the_merge_page_compares_and_merges_with_chosen_values(client, rep, team):
    target = CustomerFactory(name="Acme", email="a@acme.example", team=team)
    source = CustomerFactory(name="Acme Trading", email="b@acme.example", team=team)
    url = reverse("customers:merge", args=[target.pk])

    compare = client.get(url, {"other": source.pk})
    merged = client.post(url, {"other": source.pk, "keep_email": "source"})

    assert compare.status_code == 200
    assert {row["name"] for row in compare.context["rows"] if row["differs"]} >= {"name", "email"}
    assert merged.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.email) == ("Acme", "b@acme.example")
    # The old link leads to the survivor; the list shows the survivor only.
    old = client.get(reverse("customers:detail", args=[source.pk]))
    assert old.status_code == 302
    assert old.url == reverse("customers:detail", args=[target.pk])
    listed = client.get(reverse("customers:list"))
    assert [c.pk for c in listed.context["customers"]] == [target.pk]


def _month_start(months_back: int) -> dt.date:
    start = period_bounds("month", timezone.localdate())[0]
    for _ in range(months_back):
        start = period_bounds("month", start - dt.timedelta(days=1))[0]
    return start


def _figure(kpi: str, month: dt.date, dimension: str = "all", value: str = "") -> Decimal | None:
    return KpiSnapshot.objects.get(
        kpi=kpi,
        granularity="month",
        period_start=month,
        dimension=dimension,
        dimension_value=value,
    ).value


def test_the_affected_months_revenue_and_customers_new_are_recomputed(
    team, django_capture_on_commit_callbacks
):
    from kpis.engine import compute_period

    smb, enterprise = SegmentFactory(code="smb"), SegmentFactory(code="enterprise")
    march, april = _month_start(2), _month_start(1)
    in_march = to_datetime_range(march, march)[0] + dt.timedelta(days=3)
    in_april = to_datetime_range(april, april)[0] + dt.timedelta(days=3)
    source = CustomerFactory(team=team, segment=smb, acquired_at=in_march, status="active")
    target = CustomerFactory(team=team, segment=enterprise, acquired_at=in_april, status="active")
    OrderFactory(customer=source, ordered_at=in_march, total=Decimal("100.00"))
    OrderFactory(customer=target, ordered_at=in_april, total=Decimal("200.00"))
    for month in (march, april):
        compute_period(
            granularity="month", period_start=month, kpi_keys=["revenue", "customers_new"]
        )
    # Before: each acquired in its own month; March revenue 100 all from the SMB customer.
    assert _figure("customers_new", march) == 1
    assert _figure("customers_new", april) == 1
    assert _figure("revenue", march, "segment", str(smb.pk)) == Decimal("100")

    with django_capture_on_commit_callbacks(execute=True):
        result = customer_merge(source=source, target=target)

    # The survivor (enterprise) is acquired at the earlier acquisition, in March:
    # customers_new March = 1 (the survivor instead of the source), April = 1 − 1 = 0.
    assert result.recompute_since == in_march
    assert _figure("customers_new", march) == 1
    assert _figure("customers_new", april) == 0
    # March's order now belongs to an enterprise customer: SMB 100 → 0, enterprise 0 → 100;
    # the total stays 100 (orders move, none is added or lost).
    assert _figure("revenue", march) == Decimal("100")
    assert _figure("revenue", march, "segment", str(enterprise.pk)) == Decimal("100")
    assert not KpiSnapshot.objects.filter(
        kpi="revenue",
        granularity="month",
        period_start=march,
        dimension="segment",
        dimension_value=str(smb.pk),
        value__gt=0,
    ).exists()

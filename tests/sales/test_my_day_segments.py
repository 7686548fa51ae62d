"""My day: the rep's own customers counted per RFM segment, each count linking to the customer
list filtered to exactly those customers."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MY_DAY = reverse("sales:my_day")
LIST = reverse("customers:list")


@pytest.fixture
def team():
    return TeamFactory.create()


@pytest.fixture
def rep(client, team):
    user = UserFactory.create(role="Sales rep")
    team.members.add(user)
    client.force_login(user)
    return user


def customers(owner, segment, count, **fields):
    return [
        CustomerFactory.create(owner=owner, rfm_segment=segment, name=f"{segment}-{i}", **fields)
        for i in range(count)
    ]


def test_my_customers_by_segment_count_and_link_my_own_customers(client, rep, team):
    teammate = UserFactory.create(role="Sales rep")
    team.members.add(teammate)
    outsider = UserFactory.create(role="Sales rep")
    other_team = TeamFactory.create()
    other_team.members.add(outsider)
    dormant = customers(rep, Customer.RfmSegment.DORMANT, 3)
    customers(rep, Customer.RfmSegment.CHAMPION, 1)
    customers(rep, "", 2)  # no orders: no segment to link
    # a merged duplicate of mine is no record of its own any more
    CustomerFactory.create(
        owner=rep, rfm_segment=Customer.RfmSegment.DORMANT, merged_into=dormant[0]
    )
    # a teammate's customer I may see, and another team's customer I may not: not mine
    CustomerFactory.create(owner=teammate, rfm_segment=Customer.RfmSegment.DORMANT, team=team)
    CustomerFactory.create(owner=outsider, rfm_segment=Customer.RfmSegment.DORMANT, team=other_team)

    response = client.get(MY_DAY)

    # 3 dormant + 1 champion of mine; the merged, the teammate's and the outsider's left out
    assert [(row.segment, row.customers) for row in response.context["segments"]] == [
        ("champion", 1),
        ("dormant", 3),
    ]
    html = response.content.decode()
    link = f'href="{LIST}?owner={rep.pk}&amp;rfm_segment=dormant" data-testid="my-segment-dormant"'
    assert link in html
    assert 'data-testid="my-segment-champion"' in html
    # following the link lists the 3 counted customers and nobody else
    listed = client.get(LIST, {"owner": rep.pk, "rfm_segment": "dormant"})
    assert sorted(c.name for c in listed.context["customers"]) == [c.name for c in dormant]


def test_the_segment_block_costs_the_same_queries_for_more_customers(
    client, rep, django_assert_max_num_queries
):
    customers(rep, Customer.RfmSegment.DORMANT, 2)
    with django_assert_max_num_queries(40) as few:
        client.get(MY_DAY)
    for segment in (Customer.RfmSegment.CHAMPION, Customer.RfmSegment.REGULAR):
        customers(rep, segment, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(MY_DAY)
    assert len(response.context["segments"]) == 3

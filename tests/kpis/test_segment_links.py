"""Where people act: each segment on the customer list (and the customer page) links to the
customers of that segment."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.customers.factories import CustomerFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")


@pytest.fixture
def admin(client):
    user = UserFactory(role="Admin")
    client.force_login(user)
    return user


def test_each_rfm_segment_on_the_list_links_to_its_customers(client, admin):
    retail = SegmentFactory(name="Retail")
    CustomerFactory(name="Ada", rfm_segment=Customer.RfmSegment.DORMANT, segment=retail)
    CustomerFactory(name="Bo", rfm_segment=Customer.RfmSegment.DORMANT)
    CustomerFactory(name="Cyrus", rfm_segment=Customer.RfmSegment.CHAMPION)

    html = client.get(LIST).content.decode()

    dormant = f'href="{LIST}?rfm_segment=dormant" data-testid="rfm-segment-link">Dormant</a>'
    assert html.count(dormant) == 2
    assert f'href="{LIST}?segment={retail.pk}" data-testid="segment-link">Retail</a>' in html
    # following the link lists the dormant customers only
    listed = client.get(LIST, {"rfm_segment": "dormant"}).content.decode()
    assert "Ada" in listed
    assert "Bo" in listed
    assert "Cyrus" not in listed


def test_the_customer_page_links_its_rfm_segment(client, admin):
    ada = CustomerFactory(name="Ada", rfm_segment=Customer.RfmSegment.CHAMPION)

    html = client.get(reverse("customers:detail", args=[ada.pk])).content.decode()

    assert f'href="{LIST}?rfm_segment=champion" data-testid="rfm-segment-link">Champion</a>' in html

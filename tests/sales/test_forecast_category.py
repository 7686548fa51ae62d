"""The forecast category of a deal: set and changed through the services, the API and the deal
page; refused when unknown or once the deal has closed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sales.models import Opportunity
from sales.services import opportunity_create, opportunity_move_stage, opportunity_update
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OpportunityFactory
from tests.sales.forecast_pipeline import stages as forecast_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages():
    return forecast_stages()


def test_a_new_deal_is_pipeline_unless_the_rep_says_otherwise(stages):
    customer = CustomerFactory()

    plain = opportunity_create(customer=customer, name="Plain", amount=Decimal("100"))
    called = opportunity_create(
        customer=customer, name="Called", amount=Decimal("100"), forecast_category="commit"
    )

    assert plain.forecast_category == Opportunity.ForecastCategory.PIPELINE
    assert called.forecast_category == Opportunity.ForecastCategory.COMMIT
    assert called.probability == Decimal("0.25")  # the stage probability stays beside it


def test_the_category_changes_through_opportunity_update(stages):
    deal = opportunity_create(customer=CustomerFactory(), name="D", amount=Decimal("100"))

    opportunity_update(opportunity=deal, forecast_category="best_case")

    deal.refresh_from_db()
    assert deal.forecast_category == "best_case"


@pytest.mark.parametrize("bad", ["maybe", "", None, "Commit"])
def test_an_unknown_category_is_refused(stages, bad):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as created:
        opportunity_create(customer=customer, name="D", amount=Decimal("1"), forecast_category=bad)
    assert "forecast_category" in created.value.message_dict
    deal = opportunity_create(customer=customer, name="D", amount=Decimal("1"))
    with pytest.raises(ValidationError) as updated:
        opportunity_update(opportunity=deal, forecast_category=bad)
    assert "forecast_category" in updated.value.message_dict
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"


def test_the_database_refuses_an_unknown_category(stages):
    deal = OpportunityFactory(stage=stages["qualify"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=deal.pk).update(forecast_category="maybe")


def test_a_closed_deal_keeps_its_call(stages):
    deal = opportunity_create(
        customer=CustomerFactory(), name="D", amount=Decimal("1"), forecast_category="commit"
    )
    opportunity_move_stage(opportunity=deal, to_stage=stages["won"])

    with pytest.raises(ValidationError) as refused:
        opportunity_update(opportunity=deal, forecast_category="pipeline")

    assert refused.value.message_dict["forecast_category"] == [
        "This deal is closed (Won); it can no longer change."
    ]


# --- API -----------------------------------------------------------------------------------------


@pytest.fixture
def rep():
    person = UserFactory(role="Sales rep")
    TeamFactory(name="A").members.add(person)
    return person


def api(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_the_api_creates_patches_and_filters_by_category(stages, rep):
    customer = CustomerFactory(owner=rep)
    client = api(rep)

    created = client.post(
        "/api/v1/opportunities/",
        {"customer": customer.pk, "name": "Big", "amount": "900", "forecast_category": "commit"},
    )
    deal_id = created.json()["id"]
    patched = client.patch(f"/api/v1/opportunities/{deal_id}/", {"forecast_category": "best_case"})
    listed = client.get("/api/v1/opportunities/", {"forecast_category": "best_case"}).json()

    assert created.status_code == 201, created.json()
    assert created.json()["forecast_category"] == "commit"
    assert patched.status_code == 200
    assert patched.json()["forecast_category"] == "best_case"
    assert [row["id"] for row in listed["results"]] == [deal_id]


def test_the_api_refuses_an_unknown_category_with_a_field_error(stages, rep):
    deal = OpportunityFactory(owner=rep, stage=stages["qualify"])

    response = api(rep).patch(f"/api/v1/opportunities/{deal.pk}/", {"forecast_category": "maybe"})

    assert response.status_code == 400
    assert "forecast_category" in response.json()
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"


# --- deal page -----------------------------------------------------------------------------------


def test_the_deal_page_shows_and_sets_the_category(client, stages, rep):
    deal = OpportunityFactory(
        owner=rep, stage=stages["propose"], expected_close_date=dt.date(2026, 12, 20)
    )
    client.force_login(rep)
    url = reverse("sales:opportunity_detail", args=[deal.pk])

    page = client.get(url)
    response = client.post(
        reverse("sales:opportunity_forecast_category", args=[deal.pk]),
        {"forecast_category": "commit"},
    )

    assert 'data-testid="forecast-category-form"' in page.content.decode()
    assert response.status_code == 302
    assert response.url == url
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"
    assert "Commit" in client.get(url).content.decode()


def test_the_deal_page_reports_a_refusal_and_hides_other_teams_deals(client, stages, rep):
    deal = OpportunityFactory(owner=rep, stage=stages["propose"])
    other = OpportunityFactory(owner=UserFactory(role="Sales rep"), stage=stages["propose"])
    client.force_login(rep)
    url = reverse("sales:opportunity_forecast_category", args=[deal.pk])

    bad = client.post(url, {"forecast_category": "maybe"}, follow=True)
    hidden = client.post(
        reverse("sales:opportunity_forecast_category", args=[other.pk]),
        {"forecast_category": "commit"},
    )

    assert "Choose a forecast category: pipeline, best case or commit." in bad.content.decode()
    assert hidden.status_code == 404
    assert client.get(url).status_code == 405  # POST only
    other.refresh_from_db()
    assert other.forecast_category == "pipeline"


def test_setting_the_category_needs_login_and_csrf(stages, rep):
    deal = OpportunityFactory(owner=rep, stage=stages["propose"])
    url = reverse("sales:opportunity_forecast_category", args=[deal.pk])

    anonymous = Client().post(url, {"forecast_category": "commit"})
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rep)
    forged = strict.post(url, {"forecast_category": "commit"})

    assert anonymous.status_code == 302
    assert forged.status_code == 403
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"

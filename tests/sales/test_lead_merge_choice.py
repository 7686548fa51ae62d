"""Merging leads with a per-field choice of the surviving value: on the page (side by side, a
radio per field) and through the API; a merge with itself or with a lead the user may not see
is refused with nothing saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from sales.models import Activity, Lead
from sales.services import lead_merge
from tests.customers.factories import TeamFactory, UserFactory
from tests.sales.factories import ActivityFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(team):
    user = UserFactory(username="rita", first_name="Rita", role="Sales rep")
    team.members.add(user)
    return user


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def merge_url(lead):
    return reverse("sales:lead_merge", args=[lead.pk])


def test_the_chosen_values_survive_and_the_others_stay(rep_client, rep, team):
    survivor = LeadFactory(
        owner=rep, team=team, name="Ada Lovelace", company="Analytical Ltd", phone=""
    )
    duplicate = LeadFactory(
        owner=rep,
        team=team,
        name="Ada King",
        company="Engines plc",
        phone="+44 20 1234 5678",
        campaign=CampaignFactory(name="Spring fair"),
    )
    ActivityFactory(lead=duplicate, customer=None)

    compare = rep_client.get(merge_url(survivor), {"duplicate": duplicate.pk})
    rows = {row["name"]: row for row in compare.context["rows"]}
    assert (rows["name"]["stays"], rows["name"]["duplicate"]) == ("Ada Lovelace", "Ada King")
    # A blank of the survivor's is preselected from the duplicate; differing values are not.
    assert (rows["phone"]["take"], rows["name"]["take"]) == (True, False)
    assert rows["campaign"]["duplicate"] == "Spring fair"
    html = compare.content.decode()
    assert 'name="keep_company" value="take"' in html

    response = rep_client.post(
        merge_url(survivor),
        {
            "duplicate": duplicate.pk,
            "keep_name": "keep",
            "keep_company": "take",
            "keep_phone": "take",
            "keep_campaign": "keep",
        },
    )

    assert response.status_code == 302
    survivor.refresh_from_db()
    assert (survivor.name, survivor.company, survivor.phone, survivor.campaign) == (
        "Ada Lovelace",
        "Engines plc",
        "+44 20 1234 5678",
        None,
    )
    assert Activity.objects.get().lead_id == survivor.pk
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (Lead.Status.MERGED, survivor.pk)


def test_keeping_the_survivors_blank_is_a_choice_too(rep_client, rep):
    survivor = LeadFactory(owner=rep, email="")
    duplicate = LeadFactory(owner=rep, email="ada@example.com")

    rep_client.post(merge_url(survivor), {"duplicate": duplicate.pk, "keep_email": "keep"})

    survivor.refresh_from_db()
    assert survivor.email == ""


def test_the_search_finds_the_duplicate_by_name_or_company(rep_client, rep):
    survivor = LeadFactory(owner=rep, name="Grace Hopper")
    by_company = LeadFactory(owner=rep, name="G. H.", company="Hopper Navy Systems")
    LeadFactory(owner=rep, name="Unrelated", company="Other")

    page = rep_client.get(merge_url(survivor), {"find": "hopper"})

    assert [lead.pk for lead in page.context["candidates"]] == [by_company.pk]


def test_a_merge_with_itself_is_refused_with_a_message(rep_client, rep):
    lead = LeadFactory(owner=rep, name="Alone")

    page = rep_client.get(merge_url(lead), {"duplicate": lead.pk})
    posted = rep_client.post(merge_url(lead), {"duplicate": lead.pk, "keep_name": "take"})

    assert page.status_code == 200
    assert "cannot be merged into itself" in page.content.decode()
    assert posted.status_code == 400
    assert posted.context["form"].errors["duplicate"]
    lead.refresh_from_db()
    assert (lead.status, lead.merged_into_id) == (Lead.Status.NEW, None)


def test_a_lead_of_a_team_the_user_cannot_see_is_refused(rep_client, rep):
    lead = LeadFactory(owner=rep, name="Mine")
    outsider = UserFactory(role="Sales rep")
    TeamFactory(name="South").members.add(outsider)
    foreign = LeadFactory(owner=outsider, name="Theirs", company="Secret Co")

    assert rep_client.get(merge_url(lead), {"duplicate": foreign.pk}).status_code == 404
    assert rep_client.get(merge_url(foreign), {"duplicate": lead.pk}).status_code == 404
    assert rep_client.post(merge_url(foreign), {"duplicate": lead.pk}).status_code == 404
    refused = rep_client.post(merge_url(lead), {"duplicate": foreign.pk, "keep_company": "take"})

    assert refused.status_code == 400
    assert refused.context["form"].errors["duplicate"]
    assert "Secret Co" not in refused.content.decode()
    lead.refresh_from_db()
    foreign.refresh_from_db()
    assert (lead.company, foreign.status) == ("", Lead.Status.NEW)


def test_a_refused_merge_saves_none_of_the_chosen_values():
    merged = LeadFactory(name="Merged earlier")
    lead_merge(duplicate=merged, into=LeadFactory(name="Its survivor"))
    duplicate = LeadFactory(name="New duplicate")
    ActivityFactory(lead=duplicate, customer=None)

    with pytest.raises(ValidationError, match="itself merged"):
        lead_merge(duplicate=duplicate, into=merged, take_from_duplicate=["name"])
    with pytest.raises(ValidationError) as unknown:
        lead_merge(duplicate=duplicate, into=merged, take_from_duplicate=["status"])

    assert "status" in unknown.value.message_dict
    merged.refresh_from_db()
    duplicate.refresh_from_db()
    assert (merged.name, duplicate.status) == ("Merged earlier", Lead.Status.NEW)
    assert Activity.objects.get().lead_id == duplicate.pk


def test_the_api_takes_the_chosen_fields(rep, team):
    survivor = LeadFactory(owner=rep, team=team, name="Kept name", company="Kept Co")
    duplicate = LeadFactory(owner=rep, team=team, name="Other name", company="Taken Co")
    client = APIClient()
    client.force_authenticate(user=rep)

    response = client.post(
        f"/api/v1/leads/{duplicate.pk}/merge/",
        {"into": survivor.pk, "take_from_duplicate": ["company"]},
        format="json",
    )
    refused = client.post(
        f"/api/v1/leads/{survivor.pk}/merge/",
        {"into": survivor.pk, "take_from_duplicate": ["status"]},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["company"]) == ("Kept name", "Taken Co")
    assert refused.status_code == 400


@pytest.mark.parametrize("rows", [1, 20])
def test_the_merge_page_and_the_merge_query_a_fixed_number_of_times(
    rep_client, rep, team, rows, django_assert_max_num_queries
):
    lead = LeadFactory(owner=rep, team=team, name="Same")
    duplicate = LeadFactory(owner=rep, team=team, name="Same", company="Taken")
    for _ in range(rows):
        LeadFactory(owner=rep, team=team, name="Same")
        ActivityFactory(lead=duplicate, customer=None)

    with django_assert_max_num_queries(7):
        assert rep_client.get(merge_url(lead)).status_code == 200
    with django_assert_max_num_queries(7):
        assert rep_client.get(merge_url(lead), {"duplicate": duplicate.pk}).status_code == 200
    with django_assert_max_num_queries(14):
        merged = rep_client.post(
            merge_url(lead), {"duplicate": duplicate.pk, "keep_company": "take"}
        )

    assert merged.status_code == 302
    assert Activity.objects.filter(lead=lead).count() == rows


def test_the_api_refuses_a_merge_with_another_teams_lead(rep, team):
    mine = LeadFactory(owner=rep, team=team, company="Mine Co")
    outsider = UserFactory(role="Sales rep")
    TeamFactory(name="South").members.add(outsider)
    foreign = LeadFactory(owner=outsider, company="Their Co")
    client = APIClient()
    client.force_authenticate(user=rep)

    as_duplicate = client.post(
        f"/api/v1/leads/{foreign.pk}/merge/", {"into": mine.pk}, format="json"
    )
    as_survivor = client.post(
        f"/api/v1/leads/{mine.pk}/merge/",
        {"into": foreign.pk, "take_from_duplicate": ["company"]},
        format="json",
    )

    assert (as_duplicate.status_code, as_survivor.status_code) == (404, 400)
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.status, foreign.status, foreign.company) == (
        Lead.Status.NEW,
        Lead.Status.NEW,
        "Their Co",
    )


def test_taking_an_owner_that_hides_the_lead_lands_on_the_lead_list(rep_client, rep, team):
    south = TeamFactory(name="South")
    colleague = UserFactory(role="Sales rep")
    south.members.add(colleague)
    # Visible to the rep: the survivor as its owner, the duplicate through the rep's team.
    survivor = LeadFactory(owner=rep, team=south, name="Mine")
    duplicate = LeadFactory(owner=colleague, team=team, name="Ours")

    response = rep_client.post(
        merge_url(survivor), {"duplicate": duplicate.pk, "keep_owner": "take"}
    )

    # Owned by the colleague in the South team, the survivor is out of the rep's sight.
    assert response.status_code == 302
    assert response.url == reverse("sales:lead_list")
    survivor.refresh_from_db()
    assert (survivor.owner_id, survivor.team_id) == (colleague.pk, south.pk)

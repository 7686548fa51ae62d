"""Saved views of the lists: save filters, sort and columns; share with the team; a default."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import SavedView, SavedViewDefault
from crm.roles import MANAGER, SALES_REP
from crm.saved_views import (
    saved_view_default_set,
    saved_view_save,
    saved_view_share,
    saved_views_visible_to,
)
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    rep = UserFactory(username="rep", role=SALES_REP)
    mate = UserFactory(username="mate", role=SALES_REP)
    boss = UserFactory(username="boss", role=MANAGER)
    outsider = UserFactory(username="outsider", role=SALES_REP)
    TeamFactory(name="A", manager=boss).members.add(rep, mate)
    TeamFactory(name="B").members.add(outsider)
    return {"rep": rep, "mate": mate, "boss": boss, "outsider": outsider}


def test_save_keeps_filters_sort_and_columns_but_not_the_page(client, people):
    client.force_login(people["rep"])

    response = client.post(
        reverse("saved_views:create", args=["customers"]),
        {
            "name": "  My prospects ",
            "query": "status=prospect&sort=-created&page=3&saved_view=9",
            "columns": "name,status,owner",
        },
    )

    view = SavedView.objects.get()
    assert (view.owner, view.list_key, view.name) == (people["rep"], "customers", "My prospects")
    assert view.query_string == "status=prospect&sort=-created"
    assert view.columns == ["name", "status", "owner"]
    assert not view.shared_with_team
    assert response.status_code == 302
    assert response["Location"] == (
        f"{reverse('customers:list')}?status=prospect&sort=-created&saved_view={view.pk}"
    )


def test_saving_under_the_same_name_replaces_the_view(people):
    first = saved_view_save(
        owner=people["rep"], list_key="leads", name="Hot", query="status=new", columns=[]
    )
    second = saved_view_save(
        owner=people["rep"], list_key="leads", name="Hot", query="status=qualified", columns=[]
    )

    assert first.pk == second.pk
    assert SavedView.objects.get().query_string == "status=qualified"


def test_a_view_needs_a_name_and_a_known_list(people):
    with pytest.raises(ValidationError):
        saved_view_save(owner=people["rep"], list_key="customers", name=" ", query="", columns=[])
    with pytest.raises(ValidationError):
        saved_view_save(owner=people["rep"], list_key="orders", name="x", query="", columns=[])


def test_shared_view_reaches_the_team_and_its_manager_but_not_another_team(people):
    view = saved_view_save(
        owner=people["rep"],
        list_key="customers",
        name="Churn watch",
        query="status=active",
        columns=[],
        shared_with_team=True,
    )

    assert list(saved_views_visible_to(people["mate"], "customers")) == [view]
    assert list(saved_views_visible_to(people["boss"], "customers")) == [view]
    assert list(saved_views_visible_to(people["outsider"], "customers")) == []
    # A private view is its owner's only.
    saved_view_share(view=view, user=people["rep"], shared=False)
    assert list(saved_views_visible_to(people["mate"], "customers")) == []


def test_only_the_owner_may_share_or_delete(client, people):
    view = saved_view_save(
        owner=people["rep"],
        list_key="customers",
        name="Mine",
        query="",
        columns=[],
        shared_with_team=True,
    )
    client.force_login(people["mate"])

    client.post(reverse("saved_views:share", args=[view.pk]), {"shared": "0"})
    client.post(reverse("saved_views:delete", args=[view.pk]))

    view.refresh_from_db()
    assert view.shared_with_team


def test_another_team_gets_404_on_a_view(client, people):
    view = saved_view_save(
        owner=people["rep"],
        list_key="customers",
        name="Team view",
        query="",
        columns=[],
        shared_with_team=True,
    )
    client.force_login(people["outsider"])

    assert client.post(reverse("saved_views:default", args=[view.pk])).status_code == 404
    assert client.post(reverse("saved_views:delete", args=[view.pk])).status_code == 404
    # Opening the list with the view's id shows no view menu entry of it.
    page = client.get(f"{reverse('customers:list')}?saved_view={view.pk}")
    assert "Team view" not in page.content.decode()


def test_default_view_opens_the_list_and_can_be_cleared(client, people):
    CustomerFactory(name="Prospect Ltd", status="prospect", owner=people["mate"])
    view = saved_view_save(
        owner=people["rep"],
        list_key="customers",
        name="Prospects",
        query="status=prospect",
        columns=["name", "status"],
        shared_with_team=True,
    )
    client.force_login(people["mate"])

    client.post(reverse("saved_views:default", args=[view.pk]))
    response = client.get(reverse("customers:list"))

    assert SavedViewDefault.objects.get(user=people["mate"]).view == view
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('customers:list')}?status=prospect&saved_view={view.pk}"
    )
    page = client.get(response["Location"]).content.decode()
    assert 'data-columns="name,status"' in page
    assert "View: Prospects" in page

    client.post(reverse("saved_views:clear_default", args=["customers"]))
    assert client.get(reverse("customers:list")).status_code == 200


def test_unsharing_drops_it_as_a_team_mates_default(people):
    view = saved_view_save(
        owner=people["rep"],
        list_key="deals",
        name="Closing",
        query="show=open",
        columns=[],
        shared_with_team=True,
    )
    saved_view_default_set(user=people["mate"], view=view, list_key="deals")

    saved_view_share(view=view, user=people["rep"], shared=False)

    assert not SavedViewDefault.objects.filter(user=people["mate"]).exists()


def test_another_teams_view_cannot_become_a_default(people):
    view = saved_view_save(
        owner=people["outsider"],
        list_key="leads",
        name="Theirs",
        query="",
        columns=[],
        shared_with_team=True,
    )
    with pytest.raises(ValidationError):
        saved_view_default_set(user=people["rep"], view=view, list_key="leads")


@pytest.mark.parametrize("list_name", ["customers:list", "sales:lead_list", "sales:index"])
def test_list_page_with_views_and_bulk_bar_has_a_constant_query_count(
    client, people, django_assert_max_num_queries, list_name
):
    for number in range(3):
        saved_view_save(
            owner=people["rep"],
            list_key={
                "customers:list": "customers",
                "sales:lead_list": "leads",
                "sales:index": "deals",
            }[list_name],
            name=f"View {number}",
            query="",
            columns=[],
            shared_with_team=True,
        )
    CustomerFactory.create_batch(5, owner=people["mate"])
    client.force_login(people["mate"])

    with django_assert_max_num_queries(30):
        page = client.get(reverse(list_name), {"q": ""})

    assert page.status_code == 200
    assert page.content.decode().count('data-testid="saved-view-link"') == 3

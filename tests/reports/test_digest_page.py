"""Each user's digest subscriptions page: what the role may receive is what the list offers and
what the service accepts; own subscriptions only; the test digest goes to the user now."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from reports.digests import digest_subscription_create
from reports.models import DigestSendLog, DigestSubscription
from tests.customers.factories import TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_send_time")]

PAGE = "/reports/digests/"


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def options(html: str, name: str) -> list[str]:
    """The option values of the <select name=…> of a page."""
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return [part.split('"')[0] for part in select.split('<option value="')[1:]]


def test_the_page_is_linked_from_the_user_menu(people):
    html = logged_in(people["ann"]).get(reverse("customers:list")).content.decode()

    assert f'href="{PAGE}" data-testid="nav-digests"' in html


def test_a_rep_is_offered_their_own_figures_only(people):
    TeamFactory(name="South")

    html = logged_in(people["ann"]).get(PAGE).content.decode()

    # A rep's KPI scope is their own figures (kpi_scope_for): no team, no company digest.
    assert options(html, "scope") == ["own"]
    assert options(html, "team") == [""]
    offered = options(html, "kpi_keys")
    assert "activities_logged" in offered
    assert "revenue" in offered
    # Marketing ROI is stored per channel only: no own or team figures, so not offered to a rep.
    assert "marketing_roi" not in offered


def test_a_manager_is_offered_the_company(people):
    html = logged_in(people["manager"]).get(PAGE).content.decode()

    assert options(html, "scope") == ["own", "team", "company"]
    assert "marketing_roi" in options(html, "kpi_keys")


def test_a_rep_subscribes_to_their_own_weekly_figures(people):
    ann = people["ann"]

    response = logged_in(ann).post(
        PAGE,
        {
            "frequency": "weekly",
            "scope": "own",
            "kpi_keys": ["revenue", "activities_logged"],
            "stages": ["pipeline"],
            "include_alerts": "on",
            "language": "en",
        },
    )

    assert response.status_code == 302
    subscription = DigestSubscription.objects.get(user=ann)
    assert (subscription.frequency, subscription.scope) == ("weekly", "own")
    assert subscription.kpi_keys == ["revenue", "activities_logged"]
    assert subscription.stages == ["pipeline"]
    listed = logged_in(ann).get(PAGE).content.decode()
    assert f'data-subscription-id="{subscription.pk}"' in listed
    assert "Sales pipeline" in listed


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"scope": "company"}, "scope", "Your role does not allow company figures"),
        # A rep's KPI scope is their own figures: no team, their own included.
        ({"scope": "team", "team": "south"}, "scope", "Your role does not allow team figures"),
        ({"scope": "team"}, "scope", "Your role does not allow team figures"),
        ({"kpi_keys": ["marketing_roi"]}, "kpi_keys", "no own figures exist for this KPI"),
        ({"kpi_keys": ["happiness"]}, "kpi_keys", "Select a valid choice"),
        ({"include_alerts": ""}, "kpi_keys", "Choose KPIs, stages or the alert summary."),
    ],
)
def test_a_rep_is_refused_more_than_their_role_may_see_and_nothing_is_saved(
    people, fields, field, message
):
    south = TeamFactory(name="South")
    data = {"frequency": "monthly", "scope": "own", "include_alerts": "on", "language": "en"}
    data |= fields
    if data.get("team") == "south":
        data["team"] = str(south.pk)
    if not data["include_alerts"]:
        del data["include_alerts"]

    response = logged_in(people["ann"]).post(PAGE, data)

    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert "Nothing was saved" in response.content.decode()
    assert not DigestSubscription.objects.exists()


def test_users_delete_their_own_subscriptions_only(people):
    mine = digest_subscription_create(user=people["ann"], frequency="weekly", scope="own")
    theirs = digest_subscription_create(user=people["bob"], frequency="weekly", scope="own")
    ann = logged_in(people["ann"])

    not_mine = ann.post(reverse("reports:digest_delete", args=[theirs.pk]))
    no_token = logged_in(people["ann"], enforce_csrf_checks=True).post(
        reverse("reports:digest_delete", args=[mine.pk])
    )
    deleted = ann.post(reverse("reports:digest_delete", args=[mine.pk]))

    assert (not_mine.status_code, no_token.status_code, deleted.status_code) == (404, 403, 302)
    assert list(DigestSubscription.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert f'data-subscription-id="{theirs.pk}"' not in ann.get(PAGE).content.decode()


def test_anonymous_users_are_sent_to_log_in():
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_role_defaults_for_a_user_without_subscriptions(people):
    agent = logged_in(people["agent"])

    agent.post(reverse("reports:digest_defaults"))
    agent.post(reverse("reports:digest_defaults"))

    (subscription,) = DigestSubscription.objects.filter(user=people["agent"])
    assert (subscription.scope, subscription.team, subscription.stages) == (
        "team",
        people["north"],
        ["service"],
    )


def test_send_me_a_test_digest_now(snapshots):
    ann = snapshots["ann"]
    digest_subscription_create(user=ann, frequency="monthly", scope="own", kpi_keys=["revenue"])
    digest_subscription_create(user=snapshots["bob"], frequency="monthly", scope="own")

    response = logged_in(ann).post(reverse("reports:digest_test"), follow=True)

    assert "1 test digest sent to ann@example.com." in response.content.decode()
    (message,) = mail.outbox
    assert message.to == [ann.email]
    assert "March 2026" in message.subject
    # A test leaves the real digest to be sent: no send log.
    assert not DigestSendLog.objects.exists()


def test_the_page_reads_a_fixed_number_of_queries(people, django_assert_max_num_queries):
    maria = people["manager"]
    for frequency in ("daily", "weekly", "monthly"):
        digest_subscription_create(
            user=maria, frequency=frequency, scope="own", stages=["pipeline"]
        )
        digest_subscription_create(
            user=maria,
            frequency=frequency,
            scope="team",
            team=people["north"],
            kpi_keys=["revenue"],
        )
    client = logged_in(maria)

    with django_assert_max_num_queries(10):
        response = client.get(PAGE)

    assert response.content.decode().count("data-subscription-id=") == 6

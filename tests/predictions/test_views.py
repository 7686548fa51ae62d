"""Prediction pages: the model page and its chart (managers), the at-risk tab of my day with the
one-click retention case (reps: own customers; managers: their teams'), the customer one-liner —
roles, visibility (404), CSRF and query counts."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from predictions.models import CustomerPrediction
from predictions.services import prediction_score
from sales.models import RetentionCase
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.predictions.conftest import AS_OF, buy

pytestmark = pytest.mark.django_db

MODEL = reverse("predictions:model")
AT_RISK = reverse("predictions:at_risk")


def lapsed(owner, name: str, *, team=None, repeats: int = 6):
    """A customer who bought every two weeks in 2025 and then stopped: a low P(alive) with a
    high value, so at risk on AS_OF (2026-06-30)."""
    customer = CustomerFactory.create(owner=owner, team=team, name=name)
    first = dt.date(2025, 3, 3)
    buy(customer, *(first + dt.timedelta(weeks=2 * k) for k in range(repeats + 1)), total="80.00")
    return customer


def loyal(owner, name: str):
    """Bought every two weeks until a week before AS_OF: almost certainly alive."""
    customer = CustomerFactory.create(owner=owner, name=name)
    last = AS_OF - dt.timedelta(days=7)
    buy(customer, *(last - dt.timedelta(weeks=2 * k) for k in range(8)), total="80.00")
    return customer


# --- model page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("Manager", 200), ("Admin", 200), ("Sales rep", 403), ("Support agent", 403)],
)
def test_only_managers_and_admins_open_the_model_page(client, role, status, published_run):
    client.force_login(UserFactory.create(role=role))

    response = client.get(MODEL)

    assert response.status_code == status
    if status == 200:
        assert b"0.2426" in response.content  # r of the run in use
        assert b"4.4135" in response.content  # α


def test_the_model_page_requires_login(client):
    response = client.get(MODEL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_tracking_chart_is_chart_js_json(client, published_run):
    client.force_login(UserFactory.create(role="Manager"))

    response = client.get(reverse("predictions:run_chart", args=[published_run.pk]))

    payload = json.loads(response.content)
    assert payload["labels"] == ["2025-01-07", "2025-01-14"]
    assert [dataset["data"] for dataset in payload["datasets"]] == [[3, 5], [2.5, 4.25]]
    assert payload["calibrationEnd"] == AS_OF.isoformat()


def test_the_chart_of_an_unknown_run_is_404_and_reps_are_refused(client, published_run):
    client.force_login(UserFactory.create(role="Manager"))
    assert (
        client.get(reverse("predictions:run_chart", args=[published_run.pk + 1])).status_code == 404
    )

    client.force_login(UserFactory.create(role="Sales rep"))
    assert client.get(reverse("predictions:run_chart", args=[published_run.pk])).status_code == 403


def test_fit_now_needs_a_manager_and_csrf(published_run):
    rep_client = Client(enforce_csrf_checks=True)
    rep_client.force_login(UserFactory.create(role="Manager"))

    assert rep_client.post(reverse("predictions:fit")).status_code == 403  # no CSRF token


# --- at-risk tab --------------------------------------------------------------------------------


@pytest.fixture
def scored(published_run):
    """Two reps of one team with lapsed and loyal customers, scored on AS_OF."""
    team = TeamFactory.create()
    ada, bob = UserFactory.create(role="Sales rep"), UserFactory.create(role="Sales rep")
    team.members.add(ada, bob)
    customers = {
        "ada_lapsed": lapsed(ada, "Ada lapsed", team=team),
        "ada_loyal": loyal(ada, "Ada loyal"),
        "bob_lapsed": lapsed(bob, "Bob lapsed", team=team, repeats=3),
    }
    prediction_score(as_of=AS_OF)
    return {"team": team, "ada": ada, "bob": bob, **customers}


def listed(response) -> list[str]:
    return [prediction.customer.name for prediction in response.context["predictions"]]


def test_the_at_risk_tab_shows_a_reps_own_lapsed_customers(client, scored):
    client.force_login(scored["ada"])

    response = client.get(AT_RISK)

    assert response.status_code == 200
    assert listed(response) == ["Ada lapsed"]
    alive = CustomerPrediction.objects.get(customer=scored["ada_loyal"]).p_alive
    lost = CustomerPrediction.objects.get(customer=scored["ada_lapsed"]).p_alive
    assert lost < 0.5 < alive
    assert b'data-testid="my-day-tabs"' in response.content


def test_a_manager_sees_the_teams_at_risk_customers_most_valuable_first(client, scored):
    manager = UserFactory.create(role="Manager")
    scored["team"].members.add(manager)
    client.force_login(manager)

    response = client.get(AT_RISK)

    # Bob's customer bought 4 times before the silence, Ada's 7: a regular buyer who stops is
    # more surely gone, so Bob's keeps the higher P(alive) and the higher predicted CLV.
    bob, ada = (
        CustomerPrediction.objects.get(customer=scored[key]) for key in ("bob_lapsed", "ada_lapsed")
    )
    assert ada.p_alive < bob.p_alive
    assert ada.predicted_clv < bob.predicted_clv
    assert listed(response) == ["Bob lapsed", "Ada lapsed"]


@pytest.mark.parametrize(("role", "status"), [("Support agent", 403), (None, 403)])
def test_other_roles_have_no_at_risk_tab(client, role, status):
    client.force_login(UserFactory.create(role=role))

    assert client.get(AT_RISK).status_code == status


def test_the_at_risk_list_runs_a_constant_number_of_queries(
    client, published_run, django_assert_max_num_queries
):
    manager = UserFactory.create(role="Manager")
    team = TeamFactory.create()
    team.members.add(manager)
    for index in range(3):
        lapsed(UserFactory.create(role="Sales rep"), f"Few {index}", team=team)
    prediction_score(as_of=AS_OF)
    client.force_login(manager)
    with django_assert_max_num_queries(20) as few:
        client.get(AT_RISK)
    for index in range(12):
        lapsed(UserFactory.create(role="Sales rep"), f"Many {index}", team=team)
    prediction_score(as_of=AS_OF)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(AT_RISK)

    assert len(response.context["predictions"]) == 15


def test_one_click_opens_a_retention_case_once(client, scored):
    client.force_login(scored["ada"])
    url = reverse("predictions:at_risk_case", args=[scored["ada_lapsed"].pk])

    response = client.post(url)
    client.post(url)  # a second click finds the open case

    assert response.status_code == 302
    case = RetentionCase.objects.get(customer=scored["ada_lapsed"])
    assert case.owner == scored["ada"]
    assert case.reason.startswith("Predicted at risk:")


def test_a_case_for_a_customer_the_rep_cannot_see_is_404(client, scored):
    outsider = UserFactory.create(role="Sales rep")
    client.force_login(outsider)

    response = client.post(reverse("predictions:at_risk_case", args=[scored["ada_lapsed"].pk]))

    assert response.status_code == 404
    assert not RetentionCase.objects.exists()


def test_opening_a_case_needs_post_and_csrf(scored):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(scored["ada"])
    url = reverse("predictions:at_risk_case", args=[scored["ada_lapsed"].pk])

    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
    assert not RetentionCase.objects.exists()


# --- customer page ------------------------------------------------------------------------------


def test_the_customer_page_explains_the_prediction_in_one_line(client, scored):
    client.force_login(scored["ada"])

    response = client.get(reverse("customers:detail", args=[scored["ada_lapsed"].pk]))

    prediction = CustomerPrediction.objects.get(customer=scored["ada_lapsed"])
    # 7 purchase days, two weeks apart from 2025-03-03: the last on 2025-05-26, 400 days
    # (57 weeks) before 2026-06-30.
    text = response.content.decode()
    assert (
        f"Bought 7 times, last 57 weeks ago — {prediction.alive_percent} % likely still active."
        in " ".join(text.split())
    )


def test_the_navigation_links_the_model_page_for_managers_only(client):
    link = f'href="{MODEL}"'.encode()
    client.force_login(UserFactory.create(role="Manager"))
    assert link in client.get(AT_RISK).content

    client.force_login(UserFactory.create(role="Sales rep"))
    assert link not in client.get(AT_RISK).content

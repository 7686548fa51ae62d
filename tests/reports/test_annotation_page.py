"""The annotations page: managers add notes on a KPI period or a date range and delete them;
bad input is refused with the service's message and nothing saved; login, role and CSRF."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from reports.models import Annotation
from reports.services import annotation_create
from tests.customers.factories import UserFactory
from tests.reports.conftest import MARCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_send_time")]

PAGE = "/reports/annotations/"


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def period_note(**fields: str) -> dict[str, str]:
    return {
        "target": "period",
        "kpi": "revenue",
        "granularity": "month",
        "period_start": "2026-03-01",
        "kind": "price_change",
        "text": "New price list",
    } | fields


def test_the_page_is_mounted_where_the_kpi_pages_link_to_it():
    assert reverse("reports:annotations") == PAGE


def test_annotate_this_period_opens_the_form_on_that_kpi_and_period(people):
    response = logged_in(people["manager"]).get(
        PAGE,
        {"kpi": "revenue", "granularity": "month", "period": "2026-03-01", "next": "/kpis/"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form["kpi"].value() == "revenue"
    assert form["period_start"].value() == "2026-03-01"
    assert form["target"].value() == "period"
    assert 'name="next" value="/kpis/"' in response.content.decode()


def test_a_manager_annotates_a_kpi_period_and_returns_to_the_kpi_page(people):
    back = "/kpis/kpi/revenue/?granularity=month&period=2026-03-01"

    response = logged_in(people["manager"]).post(PAGE, period_note(next=back))

    assert response.status_code == 302
    assert response["Location"] == back
    note = Annotation.objects.get()
    assert (note.kpi, note.granularity, note.kind) == ("revenue", "month", "price_change")
    assert (note.starts_on, note.ends_on) == (MARCH, dt.date(2026, 3, 31))
    assert note.created_by == people["manager"]


def test_a_date_range_for_every_kpi(people):
    response = logged_in(people["manager"]).post(
        PAGE,
        {
            "target": "range",
            "kpi": "",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-12",
            "kind": "outage",
            "text": "Checkout down",
            # Period fields left over from the other option are ignored.
            "granularity": "month",
            "period_start": "2026-03-01",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == PAGE
    note = Annotation.objects.get()
    assert (note.kpi, note.granularity) == ("", "")
    assert (note.starts_on, note.ends_on) == (dt.date(2026, 3, 10), dt.date(2026, 3, 12))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"text": "   "}, "text", "An annotation needs a text."),
        ({"period_start": "2026-05-01"}, "period_start", "is in the future"),
        ({"period_start": "2026-03-02"}, "period_start", "is not the start of a month"),
        ({"kpi": ""}, "kpi", "use a date range for all KPIs"),
        ({"period_start": "next tuesday"}, "period_start", "Enter a valid date."),
        (
            {"target": "range", "starts_on": "2026-06-01", "ends_on": "2026-06-02"},
            "starts_on",
            "is in the future",
        ),
        (
            {"target": "range", "starts_on": "2026-03-05", "ends_on": "2026-03-01"},
            "ends_on",
            "must not be before the first day",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(
    people, fields, field, message
):
    response = logged_in(people["manager"]).post(PAGE, period_note(**fields))

    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors)
    html = response.content.decode()
    assert f'data-testid="error-{field}"' in html
    assert "Nothing was saved" in html
    assert not Annotation.objects.exists()


def test_an_outside_next_is_not_followed(people):
    response = logged_in(people["manager"]).post(
        PAGE, period_note(next="https://evil.example.com/")
    )

    assert response.status_code == 302
    assert response["Location"] == PAGE


def test_login_manager_role_and_csrf_are_required(people):
    anonymous = Client().post(PAGE, period_note())
    rep = logged_in(people["ann"]).post(PAGE, period_note())
    agent_page = logged_in(people["agent"]).get(PAGE)
    no_token = logged_in(people["manager"], enforce_csrf_checks=True).post(PAGE, period_note())

    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert rep.status_code == 403
    assert agent_page.status_code == 403
    assert no_token.status_code == 403
    assert not Annotation.objects.exists()


def test_a_manager_deletes_an_annotation_and_others_may_not(people):
    note = annotation_create(
        text="Campaign", starts_on=MARCH, ends_on=MARCH, actor=people["manager"]
    )
    url = reverse("reports:annotation_delete", args=[note.pk])
    other_manager = UserFactory(username="olga", role="Manager")

    by_rep = logged_in(people["ann"]).post(url)
    by_get = logged_in(other_manager).get(url)
    no_token = logged_in(other_manager, enforce_csrf_checks=True).post(url)
    assert (by_rep.status_code, by_get.status_code, no_token.status_code) == (403, 405, 403)
    assert Annotation.objects.filter(pk=note.pk).exists()

    deleted = logged_in(other_manager).post(url)
    again = logged_in(other_manager).post(url)

    assert deleted.status_code == 302
    assert not Annotation.objects.exists()
    assert again.status_code == 404


def test_the_list_pages_with_a_bounded_number_of_queries(people, django_assert_max_num_queries):
    manager = people["manager"]
    for day in range(1, 31):
        annotation_create(
            text=f"Day {day}",
            starts_on=dt.date(2026, 3, day),
            ends_on=dt.date(2026, 3, day),
            actor=manager,
        )
    client = logged_in(manager)

    with django_assert_max_num_queries(10):
        response = client.get(PAGE)

    html = response.content.decode()
    # Newest first, 25 a page.
    assert html.count('data-testid="annotation-delete"') == 25
    assert "Day 30" in html
    assert "Day 5" not in html
    assert "Day 5" in client.get(PAGE, {"page": 2}).content.decode()

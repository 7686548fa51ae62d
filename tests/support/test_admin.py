# mypy: disable-error-code="arg-type,attr-defined,misc"
# (factory_boy types Factory() as the factory class, not the model instance it returns)
import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from support.models import Ticket, TicketMessage
from support.services import ticket_create, ticket_message_add, ticket_status_change
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory
from tests.support.factories import (
    HolidayFactory,
    SLAPolicyFactory,
    business_week_schedule,
)

pytestmark = pytest.mark.django_db

CREATED = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def form_post_data(response: Any) -> dict[str, Any]:
    """The POST body the rendered change page would send unchanged (main form and inlines)."""

    def put(data: dict[str, Any], form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif value not in (None, False):
                data[key] = value

    data: dict[str, Any] = {}
    put(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        data[management.add_prefix("TOTAL_FORMS")] = formset.initial_form_count()
        for form in formset.initial_forms:
            put(data, form)
    return data


@pytest.fixture
def ticket():
    schedule = business_week_schedule()
    HolidayFactory(schedule=schedule, date=dt.date(2026, 12, 25))
    SLAPolicyFactory(schedule=schedule)
    return ticket_create(
        customer=CustomerFactory(), subject="Broken", body="It broke", created_at=CREATED
    )


@pytest.mark.parametrize(
    "model",
    [
        "ticket",
        "ticketmessage",
        "ticketstatuschange",
        "slapolicy",
        "businessschedule",
        "businesshours",
        "holiday",
        "slaescalation",
        "cannedresponse",
        "agentavailability",
    ],
)
def test_changelists_render_with_a_bounded_query_count(
    admin_client, django_assert_max_num_queries, model
):
    # given 15 tickets with agents, teams, messages and status changes, and 15 policies
    agents = [UserFactory(), UserFactory()]
    for index in range(15):
        schedule = business_week_schedule(name=f"Schedule {index}")
        HolidayFactory(schedule=schedule, date=dt.date(2026, 12, 25))
        SLAPolicyFactory(schedule=schedule, team=TeamFactory(name=f"Team {index}"))
        ticket = ticket_create(
            customer=CustomerFactory(),
            subject=f"T{index}",
            body="hello",
            team=TeamFactory(name=f"Team {index}"),
            assignee=agents[index % 2],
            created_at=CREATED,
        )
        ticket_status_change(ticket=ticket, to_status="open", actor=agents[0])

    # then a constant number of queries (session, user, counts, rows, filter choices)
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse(f"admin:support_{model}_changelist"))
    assert response.status_code == 200


def test_the_ticket_page_shows_clock_fields_read_only(admin_client, ticket):
    ticket_message_add(ticket=ticket, body="On it", author_kind="agent", at=CREATED)
    response = admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    form = response.context["adminform"].form
    for derived in ("first_response_at", "resolution_due_at", "reopen_count", "sla_policy"):
        assert derived not in form.fields
    assert "status" in form.fields
    assert b"On it" in response.content


def test_an_impossible_status_change_shows_the_service_refusal(admin_client, ticket):
    # given a solved ticket
    ticket_status_change(ticket=ticket, to_status="solved", at=CREATED + dt.timedelta(hours=1))
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    data = form_post_data(admin_client.get(url))
    # when the admin sets it to pending
    response = admin_client.post(url, {**data, "status": "pending"})
    # then the form shows the status machine's message and nothing changed
    assert response.status_code == 200
    assert "A ticket cannot go from Solved to Pending." in str(
        response.context["adminform"].form.errors
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.SOLVED


def test_a_reply_on_a_closed_ticket_shows_the_refusal(admin_client, ticket):
    ticket_status_change(ticket=ticket, to_status="closed", at=CREATED + dt.timedelta(hours=1))
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    data = form_post_data(admin_client.get(url))
    new = data["messages-TOTAL_FORMS"]
    data.update(
        {
            "messages-TOTAL_FORMS": new + 1,
            f"messages-{new}-body": "Too late",
            f"messages-{new}-is_public": "on",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "The ticket is closed." in response.content.decode()
    assert ticket.messages.count() == 1


def test_a_reply_and_a_status_change_go_through_the_services(
    admin_client, admin_user, ticket, django_capture_on_commit_callbacks
):
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    data = form_post_data(admin_client.get(url))
    new = data["messages-TOTAL_FORMS"]
    data.update(
        {
            "status": "solved",
            "messages-TOTAL_FORMS": new + 1,
            f"messages-{new}-body": "Fixed it",
            f"messages-{new}-is_public": "on",
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(pk=ticket.pk)
    # Bodies are encrypted: find the reply in Python, not with a database comparison.
    (reply,) = [message for message in ticket.messages.all() if message.body == "Fixed it"]
    # the public reply was e-mailed to the customer with its Message-ID stored
    assert [m.to for m in mail.outbox] == [[ticket.customer.email]]
    assert reply.email_message_id == mail.outbox[0].extra_headers["Message-ID"]
    assert (reply.author_kind, reply.author_user) == (TicketMessage.AuthorKind.AGENT, admin_user)
    # the reply opened the ticket (new → open), then the admin solved it (open → solved)
    assert list(ticket.status_changes.values_list("to_status", flat=True)) == ["open", "solved"]
    assert ticket.first_response_at == reply.created_at
    assert ticket.public_agent_replies == 1
    assert ticket.last_solved_at is not None


def test_adding_a_ticket_creates_its_first_message(admin_client, admin_user):
    customer = CustomerFactory()
    response = admin_client.post(
        reverse("admin:support_ticket_add"),
        {
            "customer": customer.pk,
            "subject": "Call back",
            "category": "request",
            "channel": "phone",
            "priority": "high",
            "opened_by_agent": "on",
            "body": "Customer called about the invoice.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket = Ticket.objects.get()
    message = ticket.messages.get()
    assert ticket.opened_by_agent
    assert (message.author_kind, message.author_user) == ("agent", admin_user)
    assert ticket.public_agent_replies == 0


def test_a_schedule_with_an_unknown_time_zone_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:support_businessschedule_add"),
        {
            "name": "Mars",
            "time_zone": "Mars/Olympus",
            "intervals-TOTAL_FORMS": 0,
            "intervals-INITIAL_FORMS": 0,
            "holidays-TOTAL_FORMS": 0,
            "holidays-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "Unknown time zone" in response.content.decode()


def test_a_contact_of_another_customer_is_refused_on_the_form(admin_client, ticket):
    stranger = ContactFactory()
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    data = form_post_data(admin_client.get(url))
    response = admin_client.post(url, {**data, "contact": stranger.pk})
    assert response.status_code == 200
    assert "The contact belongs to another customer." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).contact is None


def test_the_ticket_search_finds_a_number_and_tolerates_words(admin_client, ticket):
    url = reverse("admin:support_ticket_changelist")
    found = admin_client.get(url, {"q": str(ticket.pk)})
    assert list(found.context["cl"].result_list) == [ticket]
    assert admin_client.get(url, {"q": "no such words"}).status_code == 200


def test_the_change_page_query_count_does_not_grow_with_the_conversation(
    admin_client, ticket, django_assert_max_num_queries
):
    agent = UserFactory()
    for minute in range(20):
        ticket_message_add(
            ticket=ticket,
            body=f"Reply {minute}",
            author_kind="agent",
            author_user=agent,
            at=CREATED + dt.timedelta(minutes=minute),
        )
    with django_assert_max_num_queries(14):
        response = admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200


# --- schedules with overlapping intervals, canned responses --------------------------------


def test_overlapping_intervals_in_the_schedule_page_are_refused(admin_client):
    # given a Tue 9–17 schedule (weekday 1: the form helper drops falsy values such as 0)
    schedule = business_week_schedule(weekdays=(1,))
    url = reverse("admin:support_businessschedule_change", args=[schedule.pk])
    data = form_post_data(admin_client.get(url))
    # when an editor adds Tue 12:00–13:00 (a "break" typed as working time)
    prefix = "intervals"
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": total + 1,
            f"{prefix}-{total}-weekday": 1,
            f"{prefix}-{total}-starts_at": "12:00",
            f"{prefix}-{total}-ends_at": "13:00",
        }
    )
    response = admin_client.post(url, data)
    # then the page shows the refusal and nothing is written
    assert response.status_code == 200
    errors = [
        str(inline.formset.non_form_errors())
        for inline in response.context["inline_admin_formsets"]
    ]
    assert "Working intervals overlap on weekday 1" in " ".join(errors)
    assert schedule.intervals.count() == 1


def test_overlapping_interval_on_the_interval_page_is_refused(admin_client):
    schedule = business_week_schedule(weekdays=(2,))
    response = admin_client.post(
        reverse("admin:support_businesshours_add"),
        {"schedule": schedule.pk, "weekday": 2, "starts_at": "16:00", "ends_at": "18:00"},
    )
    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    assert schedule.intervals.count() == 1


def test_canned_response_with_unknown_placeholder_is_refused(admin_client):
    from support.models import CannedResponse

    response = admin_client.post(
        reverse("admin:support_cannedresponse_add"),
        {"name": "Evil", "body": "Hi {customer.__class__}", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Unknown placeholder" in response.content.decode()
    assert not CannedResponse.objects.exists()

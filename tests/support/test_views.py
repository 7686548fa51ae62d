# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The support workspace: the queue with saved views and export, and the ticket page."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Notification
from customers.models import Team
from support.models import CannedResponse, SLAPolicy, Ticket
from support.services import ticket_create, ticket_message_add, ticket_status_change
from tests.customers.factories import CustomerFactory, SegmentFactory, TeamFactory, UserFactory
from tests.support.factories import BusinessScheduleFactory, SLAPolicyFactory, TicketFactory
from tests.surveys.factories import SurveyResponseFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("support:index")


def subjects(response) -> list[str]:
    return [ticket.subject for ticket in response.context["tickets"]]


def test_the_ticket_queue_requires_login(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("Support agent", 200), ("Manager", 200), ("Admin", 200), ("Sales rep", 403), (None, 403)],
)
def test_only_support_roles_open_the_ticket_queue(client, role, status):
    client.force_login(UserFactory(role=role))

    assert client.get(INDEX).status_code == status


def test_an_agent_sees_team_and_assigned_tickets_without_spam_or_merged(client):
    agent = UserFactory.create(role="Support agent")
    client.force_login(agent)
    team: Team = Team.objects.create(name="Helpdesk")
    team.members.add(agent)
    kept = TicketFactory(subject="Team ticket", team=team)
    TicketFactory(subject="Assigned", assignee=agent, status=Ticket.Status.OPEN)
    TicketFactory(subject="Spam", team=team, is_spam=True)
    TicketFactory(subject="Duplicate", team=team, merged_into=kept)
    TicketFactory(subject="Other team", team=TeamFactory())

    assert set(subjects(client.get(INDEX))) == {"Team ticket", "Assigned"}
    assert subjects(client.get(INDEX, {"status": "open"})) == ["Assigned"]
    assert subjects(client.get(INDEX, {"q": "team"})) == ["Team ticket"]


# --- saved views, sorting, export --------------------------------------------------------------


@pytest.fixture
def helpdesk():
    """An agent in the Helpdesk team, a colleague, and a 60/600-minute 24/7 SLA policy."""
    agent = UserFactory.create(username="agnes", role="Support agent")
    colleague = UserFactory.create(username="carl", role="Support agent")
    team: Team = TeamFactory.create(name="Helpdesk")
    team.members.add(agent, colleague)
    SLAPolicyFactory(
        schedule=BusinessScheduleFactory(name="Never open"),
        first_response_minutes=60,
        resolution_minutes=600,
        warning_minutes=30,
    )
    return {"agent": agent, "colleague": colleague, "team": team}


def opened(*, minutes_ago: int, **fields) -> Ticket:
    """A ticket through the service, so its SLA due times are stored like in production."""
    defaults = {"customer": CustomerFactory(), "subject": "Help", "body": "Please help"}
    return ticket_create(
        **(defaults | fields), created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )


def test_saved_views_split_the_queue(client, helpdesk):
    # given: tickets in every state the views care about
    agent, colleague, team = helpdesk["agent"], helpdesk["colleague"], helpdesk["team"]
    mine = opened(minutes_ago=5, subject="Mine", team=team, assignee=agent)
    opened(minutes_ago=5, subject="Colleague's", team=team, assignee=colleague)
    opened(minutes_ago=5, subject="Nobody's", team=team)
    # 24/7 clock: due 60 minutes after creation; 45 minutes ago → 15 left, inside the warning.
    opened(minutes_ago=45, subject="Soon", team=team, assignee=colleague)
    opened(minutes_ago=90, subject="Late", team=team, assignee=colleague)
    waiting = opened(minutes_ago=5, subject="Waiting", team=team, assignee=colleague)
    ticket_status_change(ticket=waiting, to_status="pending")
    solved = opened(minutes_ago=5, subject="Solved", team=team, assignee=agent)
    ticket_status_change(ticket=solved, to_status="solved")
    client.force_login(agent)

    def view(name: str) -> set[str]:
        return set(subjects(client.get(INDEX, {"view": name})))

    # when / then
    assert view("mine") == {"Mine"}
    assert view("unassigned") == {"Nobody's"}
    assert view("breaching_soon") == {"Soon"}
    assert view("breached") == {"Late"}
    assert view("pending") == {"Waiting"}
    assert "Solved" not in view("team")
    assert "Mine" in view("team")
    assert "Solved" in view("all")
    counts = client.get(INDEX).context["views"]
    assert {item.key: count for item, count in counts}["breached"] == 1
    assert mine.pk in [t.pk for t in client.get(INDEX, {"q": f"#{mine.pk}"}).context["tickets"]]


def test_the_queue_shows_sla_badges_from_stored_due_times(client, helpdesk):
    opened(minutes_ago=90, subject="Late", team=helpdesk["team"])
    opened(minutes_ago=45, subject="Soon", team=helpdesk["team"])
    client.force_login(helpdesk["agent"])

    html = client.get(INDEX).content.decode()

    assert 'data-sla-state="breached"' in html
    assert 'data-sla-state="breaching_soon"' in html


def test_the_queue_sorts_by_priority_and_filters_by_priority(client, helpdesk):
    team = helpdesk["team"]
    opened(minutes_ago=5, subject="Low", team=team, priority="low")
    opened(minutes_ago=6, subject="Urgent", team=team, priority="urgent")
    opened(minutes_ago=7, subject="Normal", team=team)
    client.force_login(helpdesk["agent"])

    ordered = subjects(client.get(INDEX, {"sort": "-priority"}))
    filtered = subjects(client.get(INDEX, {"priority": ["urgent", "low"], "sort": "priority"}))

    assert ordered == ["Urgent", "Normal", "Low"]
    assert filtered == ["Low", "Urgent"]


def test_the_queue_runs_a_bounded_number_of_queries(
    client, helpdesk, django_assert_max_num_queries
):
    for minutes in range(30):
        opened(minutes_ago=minutes, team=helpdesk["team"], assignee=helpdesk["colleague"])
    client.force_login(helpdesk["agent"])

    with django_assert_max_num_queries(20):
        response = client.get(INDEX)

    assert len(response.context["tickets"]) == 25


def test_csv_export_has_the_filtered_visible_tickets(client, helpdesk):
    team = helpdesk["team"]
    late = opened(minutes_ago=90, subject="Late, very", team=team)
    opened(minutes_ago=5, subject="Fresh", team=team)
    opened(minutes_ago=5, subject="Other team", team=TeamFactory(name="Billing"))
    client.force_login(helpdesk["agent"])

    response = client.get(reverse("support:export"), {"view": "breached"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv"
    assert rows[0][:3] == ["Number", "Subject", "Customer"]
    assert [row[:2] for row in rows[1:]] == [[str(late.pk), "Late, very"]]
    assert rows[1][-1] == "breached"


def test_sales_reps_cannot_export_the_queue(client):
    client.force_login(UserFactory(role="Sales rep"))

    assert client.get(reverse("support:export")).status_code == 403


# --- the ticket page ---------------------------------------------------------------------------


def detail_url(ticket: Ticket) -> str:
    return reverse("support:ticket_detail", kwargs={"pk": ticket.pk})


def test_the_ticket_page_shows_conversation_clocks_and_customer_context(
    client, helpdesk, django_assert_max_num_queries
):
    # given: a customer with a segment, a health score, another open ticket and an NPS answer
    customer = CustomerFactory(
        name="Acme", segment=SegmentFactory(name="Enterprise"), health_score=42, health_band="red"
    )
    ticket = opened(minutes_ago=10, customer=customer, team=helpdesk["team"], subject="Broken")
    other = opened(minutes_ago=20, customer=customer, team=helpdesk["team"], subject="Also broken")
    ticket_message_add(ticket=ticket, body="Secret plan", author_kind="agent", is_public=False)
    SurveyResponseFactory(customer=customer, score=3, comment="Slow support")
    CannedResponse.objects.create(
        name="Thanks", body="Hello {customer_name}, ticket {ticket_number}."
    )
    client.force_login(helpdesk["agent"])

    # when
    with django_assert_max_num_queries(20):
        response = client.get(detail_url(ticket))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-message-kind="customer"' in html
    assert "Please help" in html
    assert 'data-message-kind="note"' in html
    assert "Secret plan" in html
    assert 'data-testid="sla-first_response" data-state="running"' in html
    assert "Enterprise" in html
    assert "Slow support" in html
    assert f"#{other.pk} Also broken" in html
    assert f"Hello Acme, ticket #{ticket.pk}." in html


def test_a_public_reply_and_an_internal_note_are_stored_differently(
    client, helpdesk, django_capture_on_commit_callbacks
):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    client.force_login(helpdesk["agent"])
    url = reverse("support:ticket_message", kwargs={"pk": ticket.pk})

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"body": "We are on it", "kind": "reply"})
        note = client.post(
            url, {"body": "Customer is grumpy", "kind": "note"}, HTTP_HX_REQUEST="true"
        )

    reply_message, note_message = ticket.messages.filter(author_kind="agent").order_by("id")
    assert (reply_message.body, reply_message.is_public) == ("We are on it", True)
    assert (note_message.body, note_message.is_public) == ("Customer is grumpy", False)
    ticket.refresh_from_db()
    # Only the public reply is a first response and moves the new ticket to open.
    assert ticket.first_response_at == reply_message.created_at
    assert ticket.public_agent_replies == 1
    assert ticket.status == "open"
    assert len(mail.outbox) == 1
    assert "We are on it" in mail.outbox[0].body
    assert note.status_code == 200
    assert 'id="ticket-workspace"' in note.content.decode()


def test_an_empty_reply_is_refused_with_the_services_message(client, helpdesk):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    client.force_login(helpdesk["agent"])

    response = client.post(
        reverse("support:ticket_message", kwargs={"pk": ticket.pk}),
        {"body": "   ", "kind": "reply"},
        HTTP_HX_REQUEST="true",
    )

    assert "A message needs a body." in response.content.decode()
    assert ticket.messages.filter(author_kind="agent").count() == 0


def test_solving_stops_the_clock_and_a_refused_change_is_shown(client, helpdesk):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    client.force_login(helpdesk["agent"])
    url = reverse("support:ticket_status", kwargs={"pk": ticket.pk})

    client.post(url, {"status": "closed"})
    refused = client.post(url, {"status": "open"}, follow=True)

    html = refused.content.decode()
    assert "The ticket is closed and cannot change status." in html
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert 'data-testid="sla-resolution" data-state="met"' in html


def test_routing_to_a_colleague_notifies_them(client, helpdesk):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    client.force_login(helpdesk["agent"])

    client.post(
        reverse("support:ticket_assign", kwargs={"pk": ticket.pk}),
        {"assign-assignee": helpdesk["colleague"].pk, "assign-team": ""},
    )

    ticket.refresh_from_db()
    assert ticket.assignee_id == helpdesk["colleague"].pk
    assert ticket.team_id == helpdesk["team"].pk
    notification = Notification.objects.get(user=helpdesk["colleague"])
    assert notification.kind == "assignment"
    assert notification.link == detail_url(ticket)


def test_tickets_of_another_team_are_404_for_page_and_writes(client, helpdesk):
    foreign = opened(minutes_ago=10, team=TeamFactory(name="Billing"))
    client.force_login(helpdesk["agent"])

    assert client.get(detail_url(foreign)).status_code == 404
    response = client.post(
        reverse("support:ticket_message", kwargs={"pk": foreign.pk}), {"body": "x", "kind": "reply"}
    )
    assert response.status_code == 404
    assert foreign.messages.count() == 1


def test_a_rep_reads_their_customers_ticket_but_cannot_write(client):
    rep = UserFactory(role="Sales rep")
    ticket = opened(minutes_ago=10, customer=CustomerFactory(owner=rep))
    client.force_login(rep)

    page = client.get(detail_url(ticket))
    write = client.post(
        reverse("support:ticket_status", kwargs={"pk": ticket.pk}), {"status": "solved"}
    )

    assert page.status_code == 200
    assert 'data-testid="message-form"' not in page.content.decode()
    assert write.status_code == 403


def test_writes_need_post_and_a_csrf_token(helpdesk):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(helpdesk["agent"])
    url = reverse("support:ticket_status", kwargs={"pk": ticket.pk})

    assert csrf_client.get(url).status_code == 405
    assert csrf_client.post(url, {"status": "solved"}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_routing_a_ticket_out_of_sight_returns_to_the_queue(client, helpdesk):
    ticket = opened(minutes_ago=10, team=helpdesk["team"])
    billing = TeamFactory(name="Billing")
    client.force_login(helpdesk["agent"])
    url = reverse("support:ticket_assign", kwargs={"pk": ticket.pk})

    response = client.post(
        url, {"assign-assignee": "", "assign-team": billing.pk}, HTTP_HX_REQUEST="true"
    )

    ticket.refresh_from_db()
    assert ticket.team_id == billing.pk
    assert response["HX-Redirect"] == INDEX


def test_a_customer_waiting_again_shows_the_next_response_clock(client, helpdesk):
    # given: a policy with a 120-minute next-response target, answered once, then the customer
    # writes again; a second ticket is on hold
    SLAPolicy.objects.update(next_response_minutes=120)
    ticket = opened(minutes_ago=20, team=helpdesk["team"])
    ticket_message_add(ticket=ticket, body="On it", author_kind="agent")
    ticket_message_add(ticket=ticket, body="Any news?", author_kind="customer")
    held = opened(minutes_ago=5, subject="Held", team=helpdesk["team"])
    ticket_status_change(ticket=held, to_status="on_hold")
    client.force_login(helpdesk["agent"])

    # when
    page = client.get(detail_url(ticket)).content.decode()
    on_hold = subjects(client.get(INDEX, {"view": "on_hold"}))

    # then
    assert 'data-testid="sla-next_response" data-state="running"' in page
    assert 'data-testid="sla-first_response" data-state="met"' in page
    assert on_hold == ["Held"]


# --- CSV / XLSX export from the queue (issue 4) -------------------------------------------------


def _queue_xlsx(response) -> list[tuple]:
    import openpyxl

    body = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def test_the_queue_exports_its_saved_view_as_csv_and_xlsx(client, helpdesk, settings):
    from zoneinfo import ZoneInfo

    settings.CRM_TIME_ZONE = "Europe/Berlin"
    team = helpdesk["team"]
    late = opened(minutes_ago=90, subject="Late, very", team=team)
    opened(minutes_ago=5, subject="Fresh", team=team)
    opened(minutes_ago=90, subject="Other team", team=TeamFactory(name="Billing"))
    client.force_login(helpdesk["agent"])

    as_csv = client.get(INDEX, {"view": "breached", "format": "csv"})
    header, *rows = _queue_xlsx(client.get(INDEX, {"view": "breached", "format": "xlsx"}))

    body = b"".join(as_csv.streaming_content).decode("utf-8-sig")
    assert [row[:2] for row in csv.reader(io.StringIO(body))][1:] == [[str(late.pk), "Late, very"]]
    (row,) = rows
    values = dict(zip(header, row, strict=True))
    assert values["Number"] == late.pk
    assert values["Subject"] == "Late, very"
    assert values["SLA state"] == "breached"
    assert values["First response SLA met"] is None
    # A date-time cell in Berlin time, without tzinfo (Excel keeps about a millisecond).
    berlin = timezone.localtime(late.first_response_due_at, timezone=ZoneInfo("Europe/Berlin"))
    assert abs(values["First response due"] - berlin.replace(tzinfo=None)) < dt.timedelta(seconds=1)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_queue_export_runs_a_bounded_number_of_queries(
    client, helpdesk, file_format, django_assert_max_num_queries
):
    for _ in range(40):
        opened(minutes_ago=5, team=helpdesk["team"], assignee=helpdesk["colleague"])
    client.force_login(helpdesk["agent"])

    with django_assert_max_num_queries(12):
        response = client.get(INDEX, {"view": "all", "format": file_format})
        body = b"".join(response.streaming_content)

    assert body


def test_sales_reps_cannot_export_the_queue_in_any_format(client):
    client.force_login(UserFactory(role="Sales rep"))

    assert client.get(INDEX, {"format": "xlsx"}).status_code == 403


def test_the_queue_shows_export_buttons_that_keep_the_view(client, helpdesk):
    client.force_login(helpdesk["agent"])

    page = client.get(INDEX, {"view": "mine"}).content.decode()

    assert 'href="?view=mine&amp;format=csv"' in page
    assert 'href="?view=mine&amp;format=xlsx"' in page

"""The web shell: home redirects, login/logout, password change and reset, navigation, i18n."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Notification
from crm.notifications import notification_create, notification_mark_read
from tests.customers.factories import ContactFactory, CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import ActivityFactory, LeadFactory, OpportunityFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pulse-demo-pass"  # UserFactory's password


def test_home_sends_anonymous_users_to_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("Manager", "kpis:overview"),
        ("Admin", "kpis:overview"),
        ("Sales rep", "sales:my_day"),
        ("Support agent", "support:index"),
    ],
)
def test_home_sends_each_role_to_its_workspace(client, role, target):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse(target)


def test_login_form_carries_a_csrf_token_and_a_post_without_it_is_refused():
    csrf_client = Client(enforce_csrf_checks=True)
    UserFactory(username="rita", role="Sales rep")

    page = csrf_client.get(reverse("login"))
    refused = csrf_client.post(reverse("login"), {"username": "rita", "password": PASSWORD})

    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert refused.status_code == 403


def test_logging_in_through_the_form_lands_a_rep_on_my_day():
    csrf_client = Client(enforce_csrf_checks=True)
    UserFactory(username="rita", role="Sales rep")
    page = csrf_client.get(reverse("login"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None

    response = csrf_client.post(
        reverse("login"),
        {"username": "rita", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("sales:my_day")
    assert response.status_code == 200


def test_a_wrong_password_shows_the_form_again_with_an_error(client):
    UserFactory(username="rita")

    response = client.post(reverse("login"), {"username": "rita", "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_form_with_csrf_and_get_is_refused(client):
    client.force_login(UserFactory(role="Sales rep"))

    page = client.get(reverse("customers:list")).content.decode()
    logout_form = page.split(f'action="{reverse("logout")}"')[1].split("</form>")[0]
    assert 'name="csrfmiddlewaretoken"' in logout_form
    assert client.get(reverse("logout")).status_code == 405

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        # Every role has KPIs: a rep their own figures, an agent their team's service figures.
        (
            "Sales rep",
            ["customers:list", "sales:index", "kpis:overview"],
            ["support:index", "admin:index"],
        ),
        (
            "Support agent",
            ["customers:list", "support:index", "kpis:overview"],
            ["sales:index", "admin:index"],
        ),
        (
            "Manager",
            ["customers:list", "kpis:overview", "sales:index", "support:index"],
            ["admin:index"],
        ),
        (
            "Admin",
            ["customers:list", "kpis:overview", "sales:index", "support:index", "admin:index"],
            [],
        ),
    ],
)
def test_navigation_shows_what_the_role_may_use(client, role, visible, hidden):
    client.force_login(UserFactory(role=role))

    html = client.get(reverse("customers:list")).content.decode()
    nav = html.split('data-testid="main-nav"')[1].split("</ul>")[0]

    for name in visible:
        assert f'href="{reverse(name)}"' in nav
    for name in hidden:
        assert f'href="{reverse(name)}"' not in nav


def test_every_form_on_a_page_carries_a_csrf_token(client):
    client.force_login(UserFactory(role="Manager"))

    html = client.get(reverse("kpis:overview")).content.decode()
    post_forms = re.findall(r'<form method="post".*?</form>', html, flags=re.DOTALL)

    # The language switch, the logout form and "recompute now".
    assert len(post_forms) == 3
    assert all('name="csrfmiddlewaretoken"' in form for form in post_forms)


def test_language_switch_to_simplified_chinese_translates_the_navigation(client):
    client.force_login(UserFactory(role="Manager"))

    response = client.post(
        reverse("set_language"),
        {"language": "zh-hans", "next": reverse("customers:list")},
        follow=True,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    nav = html.split('data-testid="main-nav"')[1].split("</ul>")[0]
    assert "客户" in nav  # "Customers"
    assert "关键指标" in nav  # "KPIs"
    assert "Customers" not in nav


def test_password_change_requires_login_and_changes_the_password(client):
    assert client.get(reverse("password_change")).status_code == 302
    user = UserFactory.create(username="rita")
    client.force_login(user)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-much-longer-secret-42")


def test_password_reset_mails_a_working_link(client):
    UserFactory(username="rita", email="rita@example.com")

    response = client.post(reverse("password_reset"), {"email": "rita@example.com"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    confirm = client.get(link.group(1), follow=True)
    assert confirm.context["validlink"] is True


def test_password_reset_for_an_unknown_address_sends_nothing_and_looks_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mail.outbox == []


# --- global search -------------------------------------------------------------------------------

SEARCH = reverse("search")


def hits(response, group: str) -> list[object]:
    return next((g.hits for g in response.context["groups"] if g.key == group), [])


@pytest.fixture
def two_teams():
    """Rita sells for North; another rep's customer, lead, deal and ticket belong to South."""
    rita = UserFactory(username="rita", role="Sales rep")
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    north.members.add(rita)
    ours = CustomerFactory(name="Globex North", email="buy@globex-north.example", team=north)
    theirs = CustomerFactory(name="Globex South", email="buy@globex-south.example", team=south)
    ContactFactory(customer=ours, first_name="Gloria", last_name="Globex")
    ContactFactory(customer=theirs, first_name="Gus", last_name="Globex")
    LeadFactory(name="Globex lead North", team=north)
    LeadFactory(name="Globex lead South", team=south)
    OpportunityFactory(name="Globex renewal North", customer=ours, team=north)
    OpportunityFactory(name="Globex renewal South", customer=theirs, team=south)
    TicketFactory(subject="Globex printer North", customer=ours, team=north)
    foreign_ticket = TicketFactory(subject="Globex printer South", customer=theirs, team=south)
    return {"rita": rita, "ours": ours, "theirs": theirs, "foreign_ticket": foreign_ticket}


def test_a_rep_never_finds_another_teams_records(client, two_teams):
    client.force_login(two_teams["rita"])

    response = client.get(SEARCH, {"q": "globex"})

    assert [c.name for c in hits(response, "customers")] == ["Globex North"]
    assert [c.first_name for c in hits(response, "contacts")] == ["Gloria"]
    assert [lead.name for lead in hits(response, "leads")] == ["Globex lead North"]
    assert [o.name for o in hits(response, "opportunities")] == ["Globex renewal North"]
    assert [t.subject for t in hits(response, "tickets")] == ["Globex printer North"]
    assert "South" not in response.content.decode()


def test_search_matches_whole_email_phone_and_ticket_number(client, two_teams):
    two_teams["ours"].phone = "+49 30 1234567"
    two_teams["ours"].save()
    client.force_login(UserFactory(role="Admin"))
    ticket = two_teams["foreign_ticket"]

    # E-mail and phone are encrypted: whole values match (blind index), parts do not.
    by_email = client.get(SEARCH, {"q": "Buy@Globex-South.example"})
    by_part = client.get(SEARCH, {"q": "buy@globex-south"})
    by_phone = client.get(SEARCH, {"q": "+49 (30) 1234567"})
    by_number = client.get(SEARCH, {"q": f"#{ticket.pk}"})

    assert [c.name for c in hits(by_email, "customers")] == ["Globex South"]
    assert hits(by_part, "customers") == []
    assert [c.name for c in hits(by_phone, "customers")] == ["Globex North"]
    assert ticket in hits(by_number, "tickets")


def test_search_reads_one_query_per_record_type(client, two_teams, django_assert_max_num_queries):
    client.force_login(two_teams["rita"])
    client.get(SEARCH, {"q": "warm-up"})

    # session + user + roles, then customers, contacts, leads, deals, tickets, the bell.
    with django_assert_max_num_queries(9):
        response = client.get(SEARCH, {"q": "globex"}, HTTP_HX_REQUEST="true")

    assert 'data-testid="search-results"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_a_support_agent_searches_without_sales_records(client, two_teams):
    agent = UserFactory(role="Support agent")
    client.force_login(agent)

    groups = [g.key for g in client.get(SEARCH, {"q": "globex"}).context["groups"]]

    assert groups == ["customers", "contacts", "tickets"]


def test_a_one_letter_search_asks_for_more(client):
    client.force_login(UserFactory(role="Sales rep"))

    response = client.get(SEARCH, {"q": "g"})

    assert response.context["groups"] == []
    assert response.context["too_short"] is True


def test_search_requires_login(client):
    response = client.get(SEARCH, {"q": "globex"})

    assert response.status_code == 302


# --- notifications -------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count(client):
    user = UserFactory(role="Support agent")
    for title in ("One", "Two"):
        notification_create(user=user, kind="assignment", title=title, send_email=False)
    read = notification_create(user=user, kind="alert", title="Old", send_email=False)
    notification_mark_read(notification=read)
    notification_create(user=UserFactory(), kind="alert", title="Not mine", send_email=False)
    client.force_login(user)

    html = client.get(reverse("notifications")).content.decode()

    bell = html.split('data-testid="notification-bell"')[1].split("</a>")[0]
    assert 'data-testid="unread-count">2<' in bell
    assert "Not mine" not in html
    assert html.count('data-testid="notification"') == 3


def test_marking_one_read_and_opening_its_target(client):
    user = UserFactory(role="Support agent")
    first = notification_create(
        user=user, kind="assignment", title="Ticket", link="/support/", send_email=False
    )
    second = notification_create(user=user, kind="alert", title="Churn", send_email=False)
    client.force_login(user)

    opened = client.post(reverse("notification_read", kwargs={"pk": first.pk}), {"open": "1"})
    marked = client.post(
        reverse("notification_read", kwargs={"pk": second.pk}),
        {"next": "https://evil.example/"},
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert opened.url == "/support/"
    assert first.read_at is not None
    assert second.read_at is not None
    # An off-site next is ignored: back to the inbox.
    assert marked.url == reverse("notifications")


def test_mark_all_read_touches_only_the_users_notifications(client):
    user, other = UserFactory(role="Manager"), UserFactory(role="Manager")
    notification_create(user=user, kind="alert", title="A", send_email=False)
    notification_create(user=user, kind="task_due", title="B", send_email=False)
    foreign = notification_create(user=other, kind="alert", title="C", send_email=False)
    client.force_login(user)

    client.post(reverse("notifications_read_all"))

    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_another_users_notification_is_404_and_get_is_refused(client):
    foreign = notification_create(user=UserFactory(), kind="alert", title="C", send_email=False)
    client.force_login(UserFactory(role="Manager"))
    url = reverse("notification_read", kwargs={"pk": foreign.pk})

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 404


def test_notification_writes_need_a_csrf_token():
    user = UserFactory(role="Manager")
    notification_create(user=user, kind="alert", title="A", send_email=False)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)

    assert csrf_client.post(reverse("notifications_read_all")).status_code == 403
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 1


def test_the_inbox_lists_my_overdue_tasks(client):
    rep = UserFactory(role="Sales rep")
    customer = CustomerFactory(owner=rep)
    ActivityFactory(
        subject="Call back Acme",
        kind="task",
        owner=rep,
        customer=customer,
        due_at=timezone.now() - dt.timedelta(hours=2),
    )
    ActivityFactory(
        subject="Done already",
        owner=rep,
        customer=customer,
        due_at=timezone.now(),
        done_at=timezone.now(),
    )
    client.force_login(rep)

    html = client.get(reverse("notifications")).content.decode()

    due = html.split('data-testid="due-tasks"')[1]
    assert "Call back Acme" in due
    assert "Overdue" in due
    assert "Done already" not in due


# --- administration ------------------------------------------------------------------------------


def test_the_administration_page_links_every_settings_area_for_admins(client):
    client.force_login(UserFactory(role="Admin"))

    response = client.get(reverse("administration"))

    html = response.content.decode()
    for url_name in (
        "kpis:weights",
        "kpis:targets",
        "kpis:alert_rules",
        "kpis:alerts",
        "admin:sales_pipelinestage_changelist",
        "admin:support_slapolicy_changelist",
        "admin:support_businessschedule_changelist",
        "admin:surveys_survey_changelist",
        "admin:auth_user_changelist",
        "admin:customers_team_changelist",
        "admin:auth_group_changelist",
    ):
        assert f'href="{reverse(url_name)}"' in html
    assert html.count('class="small text-body-secondary"') >= 10
    # KPI configuration is product pages, not the Django admin's raw forms (issue 13).
    assert "/admin/kpis/" not in html


@pytest.mark.parametrize("role", ["Manager", "Sales rep", "Support agent"])
def test_the_administration_page_is_for_admins_only(client, role):
    client.force_login(UserFactory(role=role))

    assert client.get(reverse("administration")).status_code == 403

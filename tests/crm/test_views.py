"""The web shell: home redirects, login/logout, password change and reset, navigation, i18n."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.customers.factories import UserFactory

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
        ("Sales rep", "customers:list"),
        ("Support agent", "customers:list"),
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


def test_logging_in_through_the_form_lands_a_rep_on_the_customer_list():
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

    assert response.redirect_chain[-1][0] == reverse("customers:list")
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
        (
            "Sales rep",
            ["customers:list", "sales:index"],
            ["kpis:overview", "support:index", "admin:index"],
        ),
        (
            "Support agent",
            ["customers:list", "support:index"],
            ["kpis:overview", "sales:index", "admin:index"],
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

    # The language switch and the logout form.
    assert len(post_forms) == 2
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

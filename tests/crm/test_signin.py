"""Sign-in protection: lock-out per account and per address, TOTP two-factor sign-in for the roles
that need it (with recovery codes), and the session's lifetime and idle limits."""

import base64
import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.contrib import admin
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.models import AuthEvent
from crm.signin import services
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pulse-demo-pass"  # UserFactory's password
LOCKED_TEXT = "Too many failed sign-in attempts"


def sign_in(client, username: str, password: str, address: str = "10.1.1.1", **extra):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


@pytest.fixture
def limits(settings):
    """An account budget of 3 failures, an address budget of 5, within 15 minutes."""
    settings.CRM_SIGNIN_FAILURES_PER_ACCOUNT = 3
    settings.CRM_SIGNIN_FAILURES_PER_ADDRESS = 5
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    return settings


# --- Lock-out ---


def test_an_account_is_locked_after_its_failure_limit_even_with_the_right_password(client, limits):
    user = UserFactory(username="maria")

    statuses = [sign_in(client, "maria", "wrong").status_code for _ in range(3)]
    right_password = sign_in(client, "maria", PASSWORD)

    # two ordinary "wrong password" pages, the third failure spends the budget of 3
    assert statuses == [200, 200, 429]
    assert right_password.status_code == 429
    assert LOCKED_TEXT in right_password.content.decode()
    assert "_auth_user_id" not in client.session
    # another account from the same address is not affected (address budget 5: 4 spent)
    other = UserFactory(username="other")
    assert sign_in(client, other.username, PASSWORD).status_code == 302
    assert user.pk != other.pk


def test_an_address_is_locked_after_its_limit_across_accounts(client, limits):
    UserFactory(username="victim")
    # five different usernames, one wrong password each: no account reaches 3
    for n in range(5):
        sign_in(client, f"guess{n}", "wrong", address="10.9.9.9")

    from_that_address = sign_in(client, "victim", PASSWORD, address="10.9.9.9")
    from_elsewhere = sign_in(client, "victim", PASSWORD, address="10.2.2.2")

    assert from_that_address.status_code == 429
    assert from_elsewhere.status_code == 302


def test_the_lock_out_page_is_the_same_for_an_unknown_user(client, limits):
    UserFactory(username="known")
    for _ in range(3):
        sign_in(client, "known", "wrong", address="10.3.3.3")
        sign_in(client, "nobody-here", "wrong", address="10.4.4.4")

    known = sign_in(client, "known", "wrong", address="10.3.3.3")
    unknown = sign_in(client, "nobody-here", "wrong", address="10.4.4.4")

    assert known.status_code == unknown.status_code == 429

    def main_part(response) -> str:  # the page without the per-request CSRF token
        return response.content.decode().split("<main", 1)[1]

    assert main_part(known) == main_part(unknown)
    assert LOCKED_TEXT in main_part(known)
    assert "known" not in main_part(known)


def test_an_admin_unlocks_an_account(client, limits):
    UserFactory(username="maria")
    for _ in range(3):
        sign_in(client, "maria", "wrong")
    assert AccessAttempt.objects.filter(username="maria").exists()
    assert AccessAttempt in admin.site._registry  # the admin lists and deletes the attempts

    call_command("axes_reset_username", "maria")

    assert sign_in(client, "maria", PASSWORD).status_code == 302


def test_the_lock_out_ends_after_the_cool_off_time(client, limits):
    UserFactory(username="maria")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            sign_in(client, "maria", "wrong")
        assert sign_in(client, "maria", PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert sign_in(client, "maria", PASSWORD).status_code == 302


def test_a_lock_out_is_announced_with_the_axes_signal(client, limits):
    received: list[dict] = []

    def receiver(sender, request, username, ip_address, **kwargs):
        received.append({"username": username, "ip_address": ip_address})

    user_locked_out.connect(receiver)
    try:
        for _ in range(3):
            sign_in(client, "maria", "wrong", address="10.5.5.5")
    finally:
        user_locked_out.disconnect(receiver)

    assert received == [{"username": "maria", "ip_address": "10.5.5.5"}]


def test_a_lock_out_is_an_event_of_the_sign_in_trail(client, limits):
    UserFactory(username="maria")

    for _ in range(3):
        sign_in(client, "maria", "wrong", address="10.5.5.6")

    # 3 failures (the budget) → 3 "failed" events and 1 "locked out", all from that address
    # (axes announces the lock-out while the third failure is being handled, so no order).
    kinds = sorted(AuthEvent.objects.filter(username="maria").values_list("kind", "ip_address"))
    assert kinds == [("locked_out", "10.5.5.6")] + [("sign_in_failed", "10.5.5.6")] * 3


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, limits):
    """A client writing a new X-Forwarded-For each time still spends one address budget."""
    limits.CRM_TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        sign_in(
            client,
            f"guess{n}",
            "wrong",
            address="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",
        )

    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").count() == 5
    blocked = sign_in(
        client,
        "someone",
        PASSWORD,
        address="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7",
    )
    assert blocked.status_code == 429


def test_the_test_clients_login_still_works(client):
    user = UserFactory(username="maria")

    assert client.login(username="maria", password=PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)


# --- Two-factor sign-in ---


@pytest.fixture
def two_factor_on(settings):
    settings.CRM_REQUIRE_2FA_ROLES = ["Admin", "Manager"]
    return settings


def current_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The six digits an authenticator app shows for this device now (RFC 6238)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():06d}"


def after_the_throttle_delay():
    """django-otp refuses any code for 2**(n-1) seconds after the n-th wrong one in a row."""
    return time_machine.travel(timezone.now() + dt.timedelta(seconds=2), tick=True)


def test_a_manager_reaches_no_page_before_setting_up_a_second_factor(client, two_factor_on):
    UserFactory(username="manager", role="Manager")

    signed_in = sign_in(client, "manager", PASSWORD)
    page = client.get("/customers/")
    api = client.get("/api/v1/customers/")

    assert signed_in.status_code == 302
    assert page.status_code == 302
    assert page["Location"] == "/account/two-factor/setup/?next=%2Fcustomers%2F"
    assert api.status_code == 403
    assert api.json() == {"detail": "Two-factor sign-in required."}


def test_a_manager_sets_up_totp_and_gets_recovery_codes(client, two_factor_on):
    manager = UserFactory(username="manager", role="Manager")
    sign_in(client, "manager", PASSWORD)

    setup = client.get("/account/two-factor/setup/", {"next": "/customers/"})
    html = setup.content.decode()
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    wrong = client.post("/account/two-factor/setup/", {"token": "000000"})
    with after_the_throttle_delay():
        confirmed = client.post(
            "/account/two-factor/setup/", {"token": current_code(device), "next": "/customers/"}
        )

    assert setup.status_code == 200
    assert 'src="data:image/svg+xml' in html  # the QR code
    secret = html.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0].replace(" ", "")
    # the key to type in by hand: the device's key in base32
    assert secret == base64.b32encode(device.bin_key).decode().rstrip("=")
    assert wrong.status_code == 200
    assert "That code is not valid" in wrong.content.decode()
    assert confirmed.status_code == 200
    assert confirmed.content.decode().count('class="list-group-item font-monospace"') == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/customers/").status_code == 200


def test_a_returning_manager_verifies_with_the_app(client, two_factor_on):
    manager = UserFactory(username="manager", role="Manager")
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    sign_in(client, "manager", PASSWORD)

    before = client.get("/customers/")
    wrong = client.post("/account/two-factor/verify/", {"token": "123456"})
    with after_the_throttle_delay():
        # the previous 30-second step's code: what a phone a little behind the server shows
        verified = client.post(
            "/account/two-factor/verify/",
            {"token": current_code(device, steps_ahead=-1), "next": "/customers/"},
        )

    assert before["Location"] == "/account/two-factor/verify/?next=%2Fcustomers%2F"
    assert "That code is not valid" in wrong.content.decode()
    assert verified.status_code == 302
    assert verified["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200


def test_a_recovery_code_works_once(client, two_factor_on):
    manager = UserFactory(username="manager", role="Manager")
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    codes = services.recovery_codes_issue(user=manager)

    sign_in(client, "manager", PASSWORD)
    first = client.post("/account/two-factor/verify/", {"token": codes[0].upper()})
    client.post("/logout/")
    sign_in(client, "manager", PASSWORD)
    again = client.post("/account/two-factor/verify/", {"token": codes[0]})
    with after_the_throttle_delay():
        other_code = client.post("/account/two-factor/verify/", {"token": codes[1]})

    assert first.status_code == 302
    assert again.status_code == 200
    assert "That code is not valid" in again.content.decode()
    assert other_code.status_code == 302
    assert client.get("/customers/").status_code == 200


def test_roles_not_named_and_an_empty_setting_need_no_second_factor(client, two_factor_on):
    UserFactory(username="rep", role="Sales rep")
    UserFactory(username="manager", role="Manager")

    sign_in(client, "rep", PASSWORD)
    rep_page = client.get("/customers/")
    client.post("/logout/")
    two_factor_on.CRM_REQUIRE_2FA_ROLES = []
    sign_in(client, "manager", PASSWORD)
    manager_page = client.get("/customers/")

    assert rep_page.status_code == 200
    assert manager_page.status_code == 200


def test_a_superuser_counts_as_admin(two_factor_on):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert services.two_factor_required(superuser)


def test_api_tokens_are_not_affected(two_factor_on):
    manager = UserFactory(username="manager", role="Manager")
    _token, key = AuthToken.objects.create(user=manager)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/v1/customers/").status_code == 200


def test_logout_stays_reachable_before_verifying(client, two_factor_on):
    UserFactory(username="manager", role="Manager")
    sign_in(client, "manager", PASSWORD)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- Session lifetime and idle timeout ---


@pytest.fixture
def session_limits(settings):
    settings.CRM_SESSION_MAX_AGE_MINUTES = 120
    settings.CRM_SESSION_IDLE_MINUTES = 30
    return settings


def test_an_idle_session_ends(client, session_limits):
    UserFactory(username="maria", role="Sales rep")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "maria", PASSWORD)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        active = client.get("/notifications/")
    # 29 + 31 = 60 minutes since sign-in, 31 since the last request
    with time_machine.travel(start + dt.timedelta(minutes=60), tick=False):
        idle = client.get("/notifications/")

    assert active.status_code == 200
    assert idle.status_code == 302
    assert idle["Location"].startswith("/login/")


def test_a_busy_session_ends_at_its_lifetime(client, session_limits):
    UserFactory(username="maria", role="Sales rep")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "maria", PASSWORD)
    statuses = []
    # a request every 25 minutes never trips the 30-minute idle limit; 125 > 120 minutes does
    for minutes in (25, 50, 75, 100, 125):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            statuses.append(client.get("/notifications/").status_code)

    assert statuses == [200, 200, 200, 200, 302]


def test_an_idle_limit_of_zero_is_off(client, session_limits):
    session_limits.CRM_SESSION_IDLE_MINUTES = 0
    UserFactory(username="maria", role="Sales rep")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "maria", PASSWORD)
    with time_machine.travel(start + dt.timedelta(minutes=110), tick=False):
        assert client.get("/notifications/").status_code == 200


def test_the_session_cookie_lives_as_long_as_the_session(settings):
    assert settings.SESSION_COOKIE_AGE == settings.CRM_SESSION_MAX_AGE_MINUTES * 60

"""Two-factor sign-in in Chromium, under the real Content-Security-Policy: a manager scans (here:
reads) the key, types the app's code, keeps the recovery codes and reaches the customers page."""

import base64

import pytest
from django.urls import reverse
from django_otp.oath import TOTP

from tests.browser.conftest import use_language
from tests.customers.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pulse-demo-pass"  # UserFactory's password


def app_code(secret: str) -> str:
    """What an authenticator app shows for this base32 key now (RFC 6238, 30 s, 6 digits)."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{TOTP(key).token():06d}"


def test_a_manager_sets_up_two_factor_sign_in(page, settings, screenshot_dir):
    settings.CRM_REQUIRE_2FA_ROLES = ["Admin", "Manager"]
    UserFactory(username="maren", role="Manager")
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(reverse("login") + "?next=/customers/")
    page.fill("input[name=username]", "maren")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.url.endswith("/account/two-factor/setup/?next=%2Fcustomers%2F")
    # the QR code is a data: image the CSP allows: it has drawn
    assert page.eval_on_selector("[data-testid=totp-qr]", "(img) => img.naturalWidth") > 0
    page.screenshot(path=str(screenshot_dir / "signin-two-factor-setup-en.png"), full_page=True)
    use_language(page, "zh-hans")
    page.screenshot(path=str(screenshot_dir / "signin-two-factor-setup-zh.png"), full_page=True)
    use_language(page, "en")

    secret = page.inner_text("[data-testid=totp-secret]")
    page.fill("input[name=token]", app_code(secret))
    page.click("[data-testid=two-factor-confirm]")
    page.wait_for_load_state("networkidle")

    assert page.locator("[data-testid=recovery-codes] li").count() == 10
    page.click("text=Continue")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/customers/")
    assert csp_errors == []

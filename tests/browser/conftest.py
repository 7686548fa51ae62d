"""Real Chromium through Playwright against pytest-django's live server.

The browser is Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium): Playwright's own
browser download does not work on our machines. Without the binary every browser test is skipped.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

# Playwright's sync API runs an event loop in this thread; Django would then refuse ORM calls
# from the test body ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def _chromium_available() -> bool:
    return Path(CHROMIUM_PATH).is_file() or shutil.which(CHROMIUM_PATH) is not None


@pytest.fixture
def browser(live_server) -> Iterator[object]:
    """A fresh Playwright + Chromium per test, started after the test database is ready.

    Not session-scoped on purpose: between its calls Playwright marks an event loop as running
    in this thread, and Django then keeps its connections per context instead of per thread.
    Started before a test's database setup, that hides the serialized migration data from
    `serialized_rollback`, and the role groups are gone after the first browser test.
    """
    if not _chromium_available():
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH!r} (set CHROMIUM_PATH or install it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
        # Connections opened while Playwright ran live in that context's storage, not in the
        # thread's: close them here, or PostgreSQL cannot drop the test database at the end.
        connections.close_all()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def use_language(page, code: str) -> None:
    """Switch the interface language with the navbar's language form, as a person would."""
    page.select_option("[data-testid=language-form] select[name=language]", code)
    page.click("[data-testid=language-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == code


def wait_for_charts(page) -> None:
    """Every chart on the page has drawn (or found nothing to draw), none failed.

    Predicates are written as functions: Playwright polls a bare expression with eval(), which
    the Content-Security-Policy (script-src 'self') refuses."""
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('canvas.kpi-chart'))
            .every((c) => ['ready', 'empty', 'error'].includes(c.dataset.chartState))"""
    )
    states = page.eval_on_selector_all(
        "canvas.kpi-chart", "(cs) => cs.map((c) => c.dataset.chartState)"
    )
    assert "error" not in states, page.url


PASSWORD = "pulse-demo-pass"  # UserFactory's password


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state("networkidle")

"""End to end in Chromium: a manager bulk-assigns 500 customers and watches the job's progress
bar reach the end; a rep saves a view with hidden columns, shares it, and a team mate reopens
it and makes it their default. Screenshots in English and Chinese."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import BulkJob, SavedView
from customers.models import Customer
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_out(page) -> None:
    page.context.clear_cookies()


def test_a_manager_bulk_assigns_500_customers(page, screenshot_dir):
    maria = UserFactory(username="maria", role="Manager")
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    north = TeamFactory(name="North", manager=maria)
    north.members.add(rita)
    now = timezone.now()
    Customer.objects.bulk_create(
        Customer(name=f"North customer {n:03}", team=north, created_at=now) for n in range(500)
    )
    CustomerFactory(name="Elsewhere", team=TeamFactory(name="South"))

    log_in(page, "maria")
    page.goto(reverse("customers:list"))
    assert page.locator("[data-testid=customer-count]").inner_text().startswith("500")
    page.click("[data-testid=bulk-select-all]")
    assert "500" in page.locator("[data-testid=bulk-summary]").inner_text()
    page.select_option("[data-testid=bulk-action]", "assign_owner")
    page.select_option("#bulk-assign_owner-owner", label="rita")
    page.screenshot(path=str(screenshot_dir / "bulk-customers.png"), full_page=True)
    # Without a broker the Celery task runs eagerly inside the request: 500 services calls.
    page.click("[data-testid=bulk-apply]", no_wait_after=True)

    page.wait_for_url("**/bulk/jobs/*/", timeout=180_000)
    page.wait_for_function(
        """() => document.querySelector('[data-testid=bulk-progress]')
            .getAttribute('aria-valuenow') === '100'"""
    )
    page.wait_for_selector("[data-testid=bulk-result]")
    assert "500 records changed." in page.locator("[data-testid=bulk-result]").inner_text()
    page.screenshot(path=str(screenshot_dir / "bulk-job.png"), full_page=True)
    job = BulkJob.objects.get()
    assert (job.total, job.done, job.succeeded, job.status) == (500, 500, 500, "done")
    assert Customer.objects.filter(owner=rita).count() == 500
    # The customer outside Maria's teams was never part of the selection.
    assert Customer.objects.get(name="Elsewhere").owner is None

    use_language(page, "zh-hans")
    assert "500" in page.locator("[data-testid=bulk-result]").inner_text()
    page.screenshot(path=str(screenshot_dir / "bulk-job-zh-hans.png"), full_page=True)
    page.goto(reverse("customers:list"))
    page.click("[data-testid=bulk-select-all]")
    page.screenshot(path=str(screenshot_dir / "bulk-customers-zh-hans.png"), full_page=True)
    use_language(page, "en")


def test_a_rep_saves_and_shares_a_view_that_a_team_mate_reopens(page, screenshot_dir):
    rita = UserFactory(username="rita", role="Sales rep")
    sam = UserFactory(username="sam", role="Sales rep")
    north = TeamFactory(name="North")
    north.members.add(rita, sam)
    CustomerFactory(name="Prospect Ltd", team=north, status="prospect")
    CustomerFactory(name="Active AG", team=north, status="active", acquired_at=timezone.now())

    log_in(page, "rita")
    page.goto(reverse("customers:list") + "?status=prospect&sort=-created")
    page.click("[data-testid=columns-toggle]")
    page.uncheck("#column-team")
    assert not page.locator("th[data-column=team]").is_visible()
    page.click("[data-testid=saved-views-toggle]")
    page.fill("[data-testid=saved-view-form] input[name=name]", "Prospects")
    page.check("[data-testid=saved-view-form] input[name=shared_with_team]")
    page.screenshot(path=str(screenshot_dir / "saved-view-save.png"), full_page=True)
    page.click("[data-testid=saved-view-save]")
    page.wait_for_load_state("networkidle")

    view = SavedView.objects.get()
    assert (view.query_string, view.shared_with_team) == ("status=prospect&sort=-created", True)
    assert "team" not in view.columns
    assert "name" in view.columns
    assert "saved_view=" in page.url

    log_out(page)
    log_in(page, "sam")
    page.goto(reverse("customers:list"))
    page.click("[data-testid=saved-views-toggle]")
    assert "shared by rita" in page.locator("[data-testid=saved-views-menu]").inner_text()
    page.click("[data-testid=saved-view-link]")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=Prospect Ltd").is_visible()
    assert page.locator("text=Active AG").count() == 0
    assert not page.locator("th[data-column=team]").is_visible()
    page.click("[data-testid=saved-views-toggle]")
    page.click("[data-testid=saved-view-default]")
    page.wait_for_load_state("networkidle")

    # The plain list address now opens on the default view.
    page.goto(reverse("customers:list"))
    assert "saved_view=" in page.url
    assert "Prospects" in page.locator("[data-testid=saved-views-toggle]").inner_text()
    page.screenshot(path=str(screenshot_dir / "saved-view-default.png"), full_page=True)
    use_language(page, "zh-hans")
    page.click("[data-testid=saved-views-toggle]")
    page.screenshot(path=str(screenshot_dir / "saved-view-default-zh-hans.png"), full_page=True)
    use_language(page, "en")

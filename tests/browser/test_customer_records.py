"""End to end in Chromium, as a rep: create a customer with a contact, be warned of a duplicate
and create it anyway; merge the two duplicates and land on the survivor. Screenshots in English
and Chinese."""

import pytest
from django.urls import reverse

from customers.models import Contact, Customer
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_rep_creates_a_duplicate_anyway_then_merges_it(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    team = TeamFactory(name="North")
    team.members.add(rep)
    existing = CustomerFactory(
        name="Blue Harbor Logistics", email="info@blueharbor.example", team=team, owner=rep
    )
    log_in(page, "rita")

    # Create: the team picker is searched and picked like a person would.
    page.goto(reverse("customers:list"))
    page.click("[data-testid=new-customer]")
    page.fill("input[name=name]", "Blue Harbour Logistics")
    page.fill("input[name=email]", "sales@blueharbor.example")
    page.fill("[data-testid=picker-team]", "Nor")
    page.click(".picker-results .picker-option >> text=North")
    page.fill("input[name=contact-first_name]", "Mia")
    page.fill("input[name=contact-last_name]", "Lang")
    page.click("[data-testid=save-customer]")

    warning = page.locator("[data-testid=duplicate-warning]")
    warning.wait_for()
    assert "Blue Harbor Logistics" in warning.inner_text()
    page.screenshot(path=str(screenshot_dir / "customer-duplicate-warning-en.png"), full_page=True)
    assert Customer.objects.count() == 1
    page.click("[data-testid=create-anyway]")
    page.wait_for_selector("[data-testid=customer-name]")
    created = Customer.objects.exclude(pk=existing.pk).get()
    assert created.team_id == team.pk
    assert Contact.objects.get(customer=created).is_primary
    assert "Mia Lang" in page.locator("[data-testid=contacts]").inner_text()

    # Merge the new record into the older one.
    page.goto(reverse("customers:merge", args=[existing.pk]))
    page.click(f"[data-testid=merge-suggestions] a[href='?other={created.pk}']")
    page.wait_for_selector("[data-testid=merge-table]")
    page.check("[data-testid=take-email]")
    page.screenshot(path=str(screenshot_dir / "customer-merge-en.png"), full_page=True)
    page.click("[data-testid=confirm-merge]")
    page.wait_for_selector("[data-testid=customer-name]")
    assert page.url.endswith(reverse("customers:detail", args=[existing.pk]))
    assert "Mia Lang" in page.locator("[data-testid=contacts]").inner_text()
    existing.refresh_from_db()
    assert existing.email == "sales@blueharbor.example"
    # The merged record's old link leads to the survivor.
    page.goto(reverse("customers:detail", args=[created.pk]))
    assert page.url.endswith(reverse("customers:detail", args=[existing.pk]))

    use_language(page, "zh-hans")
    page.goto(reverse("customers:merge", args=[existing.pk]))
    page.screenshot(path=str(screenshot_dir / "customer-merge-zh-hans.png"), full_page=True)
    page.goto(reverse("customers:create"))
    page.fill("input[name=name]", "Blue Harbor Logistics")
    page.click("[data-testid=save-customer]")
    page.locator("[data-testid=duplicate-warning]").wait_for()
    assert "仍然创建" in page.locator("[data-testid=create-anyway]").inner_text()
    page.screenshot(
        path=str(screenshot_dir / "customer-duplicate-warning-zh-hans.png"), full_page=True
    )

"""End to end in Chromium: an admin reads the audit trail and a customer's data rights page."""

import pytest
from django.db import connection
from django.urls import reverse

from audit.context import audit_context
from customers.models import Customer
from tests.browser.conftest import use_language
from tests.browser.test_shell import log_in
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_admin_reads_the_trail_and_a_customers_data_page(page, screenshot_dir):
    admin = UserFactory(username="ada", role="Admin")
    customer = CustomerFactory(name="Acme", email="office@acme.test")
    with audit_context(source="web", user=admin.pk):
        Customer.objects.filter(pk=customer.pk).update(email="billing@acme.test")
    log_in(page, "ada")

    page.goto(reverse("audit:events") + f"?record_type=customers.Customer&record_id={customer.pk}")

    if connection.vendor == "postgresql":
        rows = page.locator("[data-testid=audit-row]")
        assert rows.count() == 2
        assert "office@acme.test → billing@acme.test" in rows.first.inner_text()
    else:
        assert page.locator("[data-testid=audit-unsupported]").is_visible()
    page.screenshot(path=str(screenshot_dir / "audit-trail.png"), full_page=True)
    use_language(page, "zh-hans")
    page.screenshot(path=str(screenshot_dir / "audit-trail-zh.png"), full_page=True)
    use_language(page, "en")

    page.goto(reverse("audit:customer_data", args=[customer.pk]))
    page.click("[data-testid=customer-anonymise-form] button[type=submit]")
    # the browser refuses the empty confirmation; nothing was anonymised
    customer.refresh_from_db()
    assert customer.name == "Acme"
    page.fill("[data-testid=customer-anonymise-form] input[name=confirm]", str(customer.pk))
    page.click("[data-testid=customer-anonymise-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    customer.refresh_from_db()
    assert customer.name == f"Anonymised customer {customer.pk}"
    page.screenshot(path=str(screenshot_dir / "audit-customer-data.png"), full_page=True)

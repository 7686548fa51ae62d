"""End to end in Chromium, each as the role that does it: a rep merges two duplicate customers
and the affected months' revenue and customers_new change as they should; an agent merges a
duplicate ticket choosing per field which value survives; a rep finds a duplicate lead by
searching and merges it. Screenshots in English and Simplified Chinese."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from kpis.engine import compute_period
from kpis.models import KpiSnapshot
from kpis.periods import period_bounds, to_datetime_range
from sales.models import Lead
from support.models import Priority, Ticket
from support.services import ticket_create
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import (
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)
from tests.sales.factories import LeadFactory, OrderFactory

# serialized_rollback: the live server needs committed rows, and the rows of the data migrations
# (role groups, close reasons) must be there again for the next transactional test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def shoot(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)


def month_start(months_back: int) -> dt.date:
    start = period_bounds("month", timezone.localdate())[0]
    for _ in range(months_back):
        start = period_bounds("month", start - dt.timedelta(days=1))[0]
    return start


def figure(kpi: str, month: dt.date, dimension: str = "all", value: str = "") -> Decimal | None:
    row = KpiSnapshot.objects.filter(
        kpi=kpi,
        granularity="month",
        period_start=month,
        dimension=dimension,
        dimension_value=value,
    ).first()
    return row.value if row is not None else None


def compute(*months: dt.date) -> None:
    for month in months:
        compute_period(
            granularity="month", period_start=month, kpi_keys=["revenue", "customers_new"]
        )


def test_a_rep_merges_duplicate_customers_and_the_months_figures_follow(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    team = TeamFactory(name="North")
    team.members.add(rep)
    smb, enterprise = SegmentFactory(code="smb"), SegmentFactory(code="enterprise")
    march, april = month_start(2), month_start(1)
    in_march = to_datetime_range(march, march)[0] + dt.timedelta(days=3)
    in_april = to_datetime_range(april, april)[0] + dt.timedelta(days=3)
    # The same company entered twice: once in March (SMB), once in April (enterprise).
    source = CustomerFactory(
        name="Blue Harbour Logistics",
        team=team,
        owner=rep,
        segment=smb,
        acquired_at=in_march,
        status="active",
    )
    target = CustomerFactory(
        name="Blue Harbor Logistics GmbH",
        team=team,
        owner=rep,
        segment=enterprise,
        acquired_at=in_april,
        status="active",
    )
    OrderFactory(customer=source, ordered_at=in_march, total=Decimal("100.00"))
    OrderFactory(customer=target, ordered_at=in_april, total=Decimal("200.00"))
    ContactFactory(customer=source, first_name="Mia", last_name="Lang")
    compute(march, april)
    # Before: each record acquired in its own month, each month's revenue from its own record.
    assert (figure("customers_new", march), figure("customers_new", april)) == (1, 1)
    assert figure("revenue", march) == Decimal("100")
    assert figure("revenue", march, "segment", str(smb.pk)) == Decimal("100")
    assert figure("revenue", april, "segment", str(enterprise.pk)) == Decimal("200")

    log_in(page, "rita")
    page.goto(reverse("customers:detail", args=[target.pk]))
    page.get_by_test_id("merge-customer").click()
    page.click(f"[data-testid=merge-suggestions] a[href='?other={source.pk}']")
    page.wait_for_selector("[data-testid=merge-table]")
    # Keep the survivor's segment (enterprise), take the source's shorter name.
    page.check("[data-testid=take-name]")
    shoot(page, screenshot_dir, "customer-merge-kpis-en")
    page.get_by_test_id("confirm-merge").click()
    page.wait_for_selector("[data-testid=customer-name]")
    assert page.url.endswith(reverse("customers:detail", args=[target.pk]))
    assert page.get_by_test_id("customer-name").inner_text() == "Blue Harbour Logistics"
    assert "Mia Lang" in page.get_by_test_id("contacts").inner_text()
    shoot(page, screenshot_dir, "customer-merged-en")

    target.refresh_from_db()
    assert (target.segment_id, target.acquired_at) == (enterprise.pk, in_march)
    assert Customer.objects.get(pk=source.pk).merged_into_id == target.pk
    # The merge queued the recomputation from March on (run at commit); computing the two
    # months again gives the same figures, so what is read here is what the merge left.
    after_merge = (figure("customers_new", march), figure("customers_new", april))
    compute(march, april)
    assert (figure("customers_new", march), figure("customers_new", april)) == after_merge
    # customers_new: the survivor is acquired at the earlier acquisition (March) and the merged
    # record counts nowhere: March 1 (survivor instead of source), April 1 − 1 = 0.
    assert after_merge == (1, 0)
    # revenue: no order is lost or added, March 100 and April 200 in total; March's 100 now
    # belongs to an enterprise customer: SMB 100 → 0, enterprise 0 → 100; April unchanged.
    assert (figure("revenue", march), figure("revenue", april)) == (
        Decimal("100"),
        Decimal("200"),
    )
    assert figure("revenue", march, "segment", str(enterprise.pk)) == Decimal("100")
    assert figure("revenue", march, "segment", str(smb.pk)) in (None, Decimal("0"))
    assert figure("revenue", april, "segment", str(enterprise.pk)) == Decimal("200")

    use_language(page, "zh-hans")
    shoot(page, screenshot_dir, "customer-merged-zh-hans")
    other = CustomerFactory(name="Blue Harbor Logistik", team=team, owner=rep)
    page.goto(reverse("customers:merge", args=[target.pk]) + f"?other={other.pk}")
    page.wait_for_selector("[data-testid=merge-table]")
    assert page.get_by_test_id("confirm-merge").inner_text() == "合并"
    shoot(page, screenshot_dir, "customer-merge-kpis-zh-hans")


def test_an_agent_merges_a_duplicate_ticket_choosing_the_surviving_values(page, screenshot_dir):
    agent = UserFactory(username="alex", first_name="Alex", last_name="Agent", role="Support agent")
    team = TeamFactory(name="Helpdesk")
    team.members.add(agent)
    customer = CustomerFactory(name="Initech", team=team)
    caller = ContactFactory(customer=customer, first_name="Peter", last_name="Gibbons")
    kept = ticket_create(
        customer=customer, subject="Printer", body="It jams.", team=team, priority=Priority.LOW
    )
    duplicate = ticket_create(
        customer=customer,
        subject="Printer on floor 3 jams on every page",
        body="Peter called again.",
        team=team,
        priority=Priority.HIGH,
        contact=caller,
        channel=Ticket.Channel.PHONE,
    )

    log_in(page, "alex")
    page.goto(reverse("support:ticket_detail", args=[kept.pk]))
    page.get_by_test_id("merge-ticket").click()
    page.get_by_test_id("merge-candidates").get_by_role("link").first.click()
    compare = page.get_by_test_id("merge-compare")
    assert "Peter called again." in compare.inner_text()
    # Side by side, a radio per field: the better subject, the higher priority and the caller.
    page.check("[data-testid=take-subject]")
    page.check("[data-testid=take-priority]")
    page.check("[data-testid=take-contact]")
    assert page.is_checked("[data-testid=keep-category]")
    shoot(page, screenshot_dir, "ticket-merge-choice-en")
    page.get_by_test_id("confirm-merge").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(reverse("support:ticket_detail", args=[kept.pk]))

    kept.refresh_from_db()
    duplicate.refresh_from_db()
    assert (kept.subject, kept.priority, kept.contact_id) == (
        "Printer on floor 3 jams on every page",
        Priority.HIGH,
        caller.pk,
    )
    assert (duplicate.merged_into_id, duplicate.status) == (kept.pk, Ticket.Status.CLOSED)
    shoot(page, screenshot_dir, "ticket-merged-en")

    use_language(page, "zh-hans")
    shoot(page, screenshot_dir, "ticket-merged-zh-hans")
    another = ticket_create(customer=customer, subject="Toner", body="Low.", team=team)
    page.goto(reverse("support:ticket_merge", args=[kept.pk]) + f"?duplicate={another.pk}")
    assert "请逐个字段选择保留的值" in page.locator("main").inner_text()
    shoot(page, screenshot_dir, "ticket-merge-choice-zh-hans")


def test_a_rep_finds_a_duplicate_lead_by_search_and_merges_it(page, screenshot_dir):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="Sales rep")
    team = TeamFactory(name="North")
    team.members.add(rep)
    kept = LeadFactory(
        owner=rep, team=team, name="Grace Hopper", company="", email="grace@navy.example"
    )
    duplicate = LeadFactory(
        owner=rep,
        team=team,
        name="G. Hopper",
        company="Hopper Navy Systems",
        email="g.hopper@navy.example",
        phone="+1 202 555 0100",
    )
    LeadFactory(owner=rep, team=team, name="Alan Turing", company="Bletchley")

    log_in(page, "rita")
    page.goto(reverse("sales:lead_detail", args=[kept.pk]))
    page.get_by_test_id("merge-lead").click()
    page.fill("#find-lead", "navy systems")
    page.get_by_role("button", name="Find").click()
    candidates = page.get_by_test_id("merge-candidates")
    assert "Alan Turing" not in candidates.inner_text()
    candidates.get_by_role("link").first.click()
    page.wait_for_selector("[data-testid=merge-compare]")
    # The survivor's blanks (company, phone) come preselected from the duplicate.
    assert page.is_checked("[data-testid=take-company]")
    assert page.is_checked("[data-testid=take-phone]")
    assert page.is_checked("[data-testid=keep-email]")
    page.check("[data-testid=take-email]")
    shoot(page, screenshot_dir, "lead-merge-choice-en")
    page.get_by_test_id("confirm-merge").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(reverse("sales:lead_detail", args=[kept.pk]))

    kept.refresh_from_db()
    duplicate.refresh_from_db()
    assert (kept.name, kept.company, kept.email, kept.phone) == (
        "Grace Hopper",
        "Hopper Navy Systems",
        "g.hopper@navy.example",
        "+1 202 555 0100",
    )
    assert (duplicate.status, duplicate.merged_into_id) == (Lead.Status.MERGED, kept.pk)
    shoot(page, screenshot_dir, "lead-merged-en")

    use_language(page, "zh-hans")
    shoot(page, screenshot_dir, "lead-merged-zh-hans")
    other = LeadFactory(owner=rep, team=team, name="Grace B. Hopper")
    page.goto(reverse("sales:lead_merge", args=[kept.pk]) + f"?duplicate={other.pk}")
    assert "请逐个字段选择保留的值" in page.locator("main").inner_text()
    shoot(page, screenshot_dir, "lead-merge-choice-zh-hans")

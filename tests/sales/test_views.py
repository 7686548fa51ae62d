"""Sales workspace pages: deals list, my day, activity logging, leads and conversion, the
pipeline board and stage moves, order entry — visibility, CSRF and query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from sales.models import Activity, Opportunity, OpportunityStageChange, Order, OrderLine
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import (
    ActivityFactory,
    LeadFactory,
    OpportunityFactory,
    PipelineStageFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("sales:index")


def names(response) -> list[str]:
    return [deal.name for deal in response.context["opportunities"]]


def test_the_deals_list_requires_login(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("Sales rep", 200), ("Manager", 200), ("Admin", 200), ("Support agent", 403), (None, 403)],
)
def test_only_sales_roles_open_the_deals_list(client, role, status):
    client.force_login(UserFactory(role=role))

    assert client.get(INDEX).status_code == status


def test_a_rep_sees_own_open_deals_soonest_close_first(client):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    customer = CustomerFactory(owner=rep)
    OpportunityFactory(
        name="Later", owner=rep, customer=customer, expected_close_date=dt.date(2026, 12, 20)
    )
    OpportunityFactory(name="Undated", owner=rep, customer=customer, expected_close_date=None)
    OpportunityFactory(
        name="Sooner", owner=rep, customer=customer, expected_close_date=dt.date(2026, 12, 1)
    )
    OpportunityFactory(
        name="Won",
        owner=rep,
        customer=customer,
        outcome=Opportunity.Outcome.WON,
        closed_at=timezone.now(),
    )
    OpportunityFactory(name="Not mine", owner=UserFactory(role="Sales rep"))

    assert names(client.get(INDEX)) == ["Sooner", "Later", "Undated"]
    assert set(names(client.get(INDEX, {"show": "all"}))) == {"Sooner", "Later", "Undated", "Won"}
    assert names(client.get(INDEX, {"q": "soon"})) == ["Sooner"]


def test_the_deals_list_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    for _ in range(20):
        OpportunityFactory(owner=rep, customer=CustomerFactory(owner=rep))

    with django_assert_max_num_queries(10):
        response = client.get(INDEX)

    assert len(response.context["opportunities"]) == 20


# --- shared fixtures ----------------------------------------------------------------------------


@pytest.fixture
def rep(client):
    user = UserFactory.create(role="Sales rep")
    client.force_login(user)
    return user


@pytest.fixture
def stages():
    """A small pipeline: two open stages, then won and lost."""
    return {
        "qualify": PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.2")),
        "propose": PipelineStageFactory(code="propose", position=2, probability=Decimal("0.6")),
        "won": PipelineStageFactory(code="won", position=3, probability=Decimal("1"), is_won=True),
        "lost": PipelineStageFactory(
            code="lost", position=4, probability=Decimal("0"), is_lost=True
        ),
    }


def other_team_rep():
    outsider = UserFactory.create(role="Sales rep")
    team = TeamFactory.create()
    team.members.add(outsider)
    return outsider, team


# --- my day -------------------------------------------------------------------------------------

MY_DAY = reverse("sales:my_day")


def test_my_day_lists_my_overdue_and_due_work_leads_deals_and_at_risk_customers(
    client, rep, stages, django_assert_max_num_queries
):
    now = timezone.now()
    customer = CustomerFactory(owner=rep, name="Wobbly", rfm_segment="at_risk")
    CustomerFactory(owner=rep, name="Healthy", health_band="green")
    ActivityFactory(customer=customer, owner=rep, subject="Late", due_at=now - dt.timedelta(days=1))
    ActivityFactory(customer=customer, owner=rep, subject="Soon", due_at=now + dt.timedelta(days=2))
    ActivityFactory(
        customer=customer,
        owner=rep,
        subject="Finished",
        due_at=now - dt.timedelta(days=1),
        done_at=now,
    )
    ActivityFactory(customer=customer, owner=UserFactory(), subject="Not mine", due_at=now)
    LeadFactory(owner=rep, name="Fresh lead")
    LeadFactory(owner=rep, name="Dead lead", status="disqualified")
    OpportunityFactory(
        owner=rep,
        customer=customer,
        stage=stages["qualify"],
        name="Closing",
        expected_close_date=timezone.localdate() + dt.timedelta(days=5),
    )
    OpportunityFactory(
        owner=rep,
        customer=customer,
        stage=stages["qualify"],
        name="Far away",
        expected_close_date=timezone.localdate() + dt.timedelta(days=90),
    )

    with django_assert_max_num_queries(20):
        response = client.get(MY_DAY)

    context = response.context
    assert [a.subject for a in context["overdue"]] == ["Late"]
    assert [a.subject for a in context["due"]] == ["Soon"]
    assert [lead.name for lead in context["leads"]] == ["Fresh lead"]
    assert [deal.name for deal in context["closing"]] == ["Closing"]
    assert [c.name for c in context["at_risk"]] == ["Wobbly"]


def test_my_day_is_refused_to_a_support_agent(client):
    client.force_login(UserFactory(role="Support agent"))

    assert client.get(MY_DAY).status_code == 403


def test_completing_an_activity_from_my_day(client, rep):
    activity = ActivityFactory(
        owner=rep, customer=CustomerFactory(owner=rep), due_at=timezone.now()
    )

    response = client.post(reverse("sales:activity_complete", args=[activity.pk]))

    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.done_at is not None


# --- log an activity ----------------------------------------------------------------------------

LOG = reverse("sales:activity_log")


def test_logging_a_call_on_a_customer_creates_exactly_one_done_activity(client, rep):
    customer = CustomerFactory(owner=rep)

    response = client.post(
        LOG,
        {"customer": customer.pk, "kind": "call", "subject": "Discussed renewal", "notes": "ok"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "activityLogged"
    activity = Activity.objects.get()
    assert (activity.customer_id, activity.owner_id, activity.kind) == (customer.pk, rep.pk, "call")
    assert activity.done_at is not None
    assert 'data-testid="activity-logged"' in response.content.decode()


def test_a_task_needs_a_due_date_and_the_error_is_shown_inline(client, rep):
    customer = CustomerFactory(owner=rep)

    response = client.post(
        LOG,
        {"customer": customer.pk, "kind": "task", "subject": "Send offer"},
        HTTP_HX_REQUEST="true",
    )

    assert Activity.objects.count() == 0
    assert "A task needs a due date." in response.content.decode()
    assert "is-invalid" in response.content.decode()


def test_a_task_with_a_due_date_stays_open(client, rep):
    lead = LeadFactory(owner=rep)

    client.post(
        LOG, {"lead": lead.pk, "kind": "task", "subject": "Follow up", "due_at": "2030-01-15T10:00"}
    )

    activity = Activity.objects.get()
    assert activity.lead_id == lead.pk
    assert activity.done_at is None
    assert timezone.localtime(activity.due_at).hour == 10


def test_a_missing_subject_is_refused_without_htmx_too(client, rep):
    deal = OpportunityFactory(owner=rep, customer=CustomerFactory(owner=rep))

    response = client.post(LOG, {"opportunity": deal.pk, "kind": "note", "subject": ""})

    assert response.status_code == 400
    assert Activity.objects.count() == 0
    assert "This field is required." in response.content.decode()


def test_logging_on_another_teams_customer_is_a_404(client, rep):
    _outsider, team = other_team_rep()
    hidden = CustomerFactory(team=team)

    response = client.post(LOG, {"customer": hidden.pk, "kind": "call", "subject": "Sneaky"})

    assert response.status_code == 404
    assert Activity.objects.count() == 0


def test_logging_without_a_csrf_token_is_refused(rep):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(rep)
    customer = CustomerFactory(owner=rep)

    response = csrf_client.post(LOG, {"customer": customer.pk, "kind": "call", "subject": "x"})

    assert response.status_code == 403
    assert Activity.objects.count() == 0


# --- leads and conversion -----------------------------------------------------------------------

LEADS = reverse("sales:lead_list")


def test_the_lead_list_filters_by_status_and_searches(client, rep, django_assert_max_num_queries):
    LeadFactory(owner=rep, name="Ada", company="Analytical", status="new")
    LeadFactory(owner=rep, name="Bob", status="contacted")
    LeadFactory(owner=UserFactory(), name="Hidden")

    with django_assert_max_num_queries(20):
        everything = client.get(LEADS)

    assert {lead.name for lead in everything.context["leads"]} == {"Ada", "Bob"}
    assert [lead.name for lead in client.get(LEADS, {"status": "contacted"}).context["leads"]] == [
        "Bob"
    ]
    assert [lead.name for lead in client.get(LEADS, {"q": "analyt"}).context["leads"]] == ["Ada"]


def test_lead_pages_of_another_team_are_404(client, rep):
    _outsider, team = other_team_rep()
    hidden = LeadFactory(team=team)

    assert client.get(reverse("sales:lead_detail", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("sales:lead_convert", args=[hidden.pk])).status_code == 404


def test_converting_a_lead_creates_the_customer_and_a_deal(client, rep, stages):
    lead = LeadFactory(owner=rep, name="Grace", company="Hopper Ltd")

    page = client.get(reverse("sales:lead_convert", args=[lead.pk]))
    response = client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {"mode": "new", "create_opportunity": "on", "opportunity_amount": "2500.00"},
    )

    assert page.status_code == 200
    lead.refresh_from_db()
    customer = Customer.objects.get(name="Hopper Ltd")
    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert (lead.status, lead.converted_customer_id) == ("converted", customer.pk)
    deal = Opportunity.objects.get(lead=lead)
    assert deal.amount == Decimal("2500.00")
    assert deal.stage == stages["qualify"]


def test_converting_into_an_existing_customer_links_it(client, rep, stages):
    customer = CustomerFactory(owner=rep, name="Existing")
    lead = LeadFactory(owner=rep, company="Existing")

    client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {"mode": "existing", "customer": customer.pk},
    )

    lead.refresh_from_db()
    assert lead.converted_customer_id == customer.pk
    assert Customer.objects.count() == 1
    assert not Opportunity.objects.exists()


def test_a_customer_of_another_team_cannot_be_linked(client, rep, stages):
    _outsider, team = other_team_rep()
    hidden = CustomerFactory(team=team)
    lead = LeadFactory(owner=rep)

    response = client.post(
        reverse("sales:lead_convert", args=[lead.pk]), {"mode": "existing", "customer": hidden.pk}
    )

    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.status == "new"


def test_the_services_refusal_is_shown_when_converting_twice(client, rep, stages):
    lead = LeadFactory(owner=rep, status="disqualified")

    response = client.post(reverse("sales:lead_convert", args=[lead.pk]), {"mode": "new"})

    assert response.status_code == 400
    assert "A disqualified lead cannot be converted." in response.content.decode()
    assert not Customer.objects.exists()


# --- pipeline board and stage moves -------------------------------------------------------------

PIPELINE = reverse("sales:pipeline")


def test_the_board_has_a_column_per_active_stage_with_weighted_totals(
    client, rep, stages, django_assert_max_num_queries
):
    PipelineStageFactory(code="retired", position=9, is_active=False)
    customer = CustomerFactory(owner=rep)
    for amount in ("1000.00", "500.00"):
        OpportunityFactory(
            owner=rep,
            customer=customer,
            stage=stages["qualify"],
            amount=Decimal(amount),
            probability=Decimal("0.2"),
        )
    OpportunityFactory(
        owner=rep,
        customer=customer,
        stage=stages["propose"],
        amount=Decimal("2000.00"),
        probability=Decimal("0.6"),
    )
    OpportunityFactory(
        owner=rep,
        customer=customer,
        stage=stages["won"],
        amount=Decimal("700.00"),
        probability=Decimal("1"),
        outcome="won",
        closed_at=timezone.now(),
    )
    OpportunityFactory(
        owner=rep,
        customer=customer,
        stage=stages["won"],
        name="Old win",
        probability=Decimal("1"),
        outcome="won",
        closed_at=timezone.now() - dt.timedelta(days=90),
    )
    OpportunityFactory(stage=stages["qualify"], name="Someone else's")

    with django_assert_max_num_queries(20):
        response = client.get(PIPELINE)

    columns = {column["stage"].code: column for column in response.context["columns"]}
    assert list(columns) == ["qualify", "propose", "won", "lost"]
    # qualify: (1000 + 500) × 0.2 → 300; propose: 2000 × 0.6 → 1200; won: 700 × 1 → 700.
    assert columns["qualify"]["weighted"] == Decimal("300.00")
    assert columns["propose"]["weighted"] == Decimal("1200.00")
    assert columns["won"]["weighted"] == Decimal("700.00")
    assert columns["qualify"]["count"] == 2
    assert "Old win" not in response.content.decode()
    assert "Someone else&#x27;s" not in response.content.decode()


def test_moving_a_deal_writes_the_stage_history(client, rep, stages):
    deal = OpportunityFactory(
        owner=rep, customer=CustomerFactory(owner=rep), stage=stages["qualify"]
    )

    response = client.post(
        reverse("sales:opportunity_move", args=[deal.pk]),
        {"stage": stages["propose"].pk},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert response.json()["ok"] is True
    deal.refresh_from_db()
    assert deal.stage == stages["propose"]
    assert deal.probability == Decimal("0.6")
    change = OpportunityStageChange.objects.get(opportunity=deal)
    assert (change.from_stage_id, change.to_stage_id, change.changed_by_id) == (
        stages["qualify"].pk,
        stages["propose"].pk,
        rep.pk,
    )


def test_a_closed_deal_is_refused_and_nothing_is_written(client, rep, stages):
    deal = OpportunityFactory(
        owner=rep,
        customer=CustomerFactory(owner=rep),
        stage=stages["won"],
        outcome="won",
        closed_at=timezone.now(),
    )

    as_json = client.post(
        reverse("sales:opportunity_move", args=[deal.pk]),
        {"stage": stages["qualify"].pk},
        HTTP_ACCEPT="application/json",
    )
    as_form = client.post(
        reverse("sales:opportunity_move", args=[deal.pk]),
        {"stage": stages["qualify"].pk},
        follow=True,
    )

    assert as_json.status_code == 400
    assert "closed" in as_json.json()["errors"][0]
    assert "cannot move to another stage" in as_form.content.decode()
    deal.refresh_from_db()
    assert deal.stage == stages["won"]
    assert not OpportunityStageChange.objects.exists()


def test_moving_another_teams_deal_is_a_404(client, rep, stages):
    _outsider, team = other_team_rep()
    deal = OpportunityFactory(team=team, stage=stages["qualify"])

    response = client.post(
        reverse("sales:opportunity_move", args=[deal.pk]), {"stage": stages["propose"].pk}
    )

    assert response.status_code == 404
    assert client.get(reverse("sales:opportunity_detail", args=[deal.pk])).status_code == 404


def test_the_deal_page_shows_history_and_renders_in_bounded_queries(
    client, rep, stages, django_assert_max_num_queries
):
    deal = OpportunityFactory(
        owner=rep, customer=CustomerFactory(owner=rep), stage=stages["qualify"]
    )
    OpportunityStageChange.objects.create(opportunity=deal, to_stage=stages["qualify"])
    for _ in range(10):
        ActivityFactory(opportunity=deal, customer=deal.customer, owner=rep)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("sales:opportunity_detail", args=[deal.pk]))

    assert response.status_code == 200
    assert len(response.context["activities"]) == 10


# --- order entry --------------------------------------------------------------------------------


def order_post(product_rows, **extra) -> dict:
    data = {
        "ordered_at": "2026-11-02T10:30",
        "status": "completed",
        "lines-TOTAL_FORMS": str(max(len(product_rows), 3)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for index, (product, quantity, price) in enumerate(product_rows):
        data[f"lines-{index}-product"] = str(product.pk)
        data[f"lines-{index}-quantity"] = str(quantity)
        data[f"lines-{index}-unit_price"] = price
    data.update(extra)
    return data


def test_order_entry_creates_the_order_with_its_lines(client, rep, django_assert_max_num_queries):
    customer = CustomerFactory(owner=rep)
    widget = ProductFactory(unit_price=Decimal("10.00"))
    gadget = ProductFactory(unit_price=Decimal("99.00"))
    url = reverse("sales:order_create", args=[customer.pk])

    with django_assert_max_num_queries(20):
        page = client.get(url)
    response = client.post(url, order_post([(widget, 3, "12.50"), (gadget, 1, "")]))

    assert page.status_code == 200
    assert response.status_code == 302
    order = Order.objects.get()
    # 3 × 12.50 + 1 × 99.00 (list price) → 136.50.
    assert order.total == Decimal("136.50")
    assert order.owner_id == rep.pk
    assert sorted((line.product_id, line.quantity) for line in order.lines.all()) == sorted(
        [(widget.pk, 3), (gadget.pk, 1)]
    )


def test_a_negative_price_is_refused_and_nothing_is_saved(client, rep):
    customer = CustomerFactory(owner=rep)
    widget = ProductFactory()
    url = reverse("sales:order_create", args=[customer.pk])

    response = client.post(url, order_post([(widget, 1, "10.00"), (widget, 2, "-5.00")]))

    assert response.status_code == 400
    assert "The amount cannot be negative." in response.content.decode()
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_an_order_without_lines_is_refused(client, rep):
    customer = CustomerFactory(owner=rep)

    response = client.post(reverse("sales:order_create", args=[customer.pk]), order_post([]))

    assert response.status_code == 400
    assert "An order needs at least one line." in response.content.decode()
    assert not Order.objects.exists()


def test_order_entry_for_another_teams_customer_is_a_404(client, rep):
    _outsider, team = other_team_rep()
    hidden = CustomerFactory(team=team)

    assert client.get(reverse("sales:order_create", args=[hidden.pk])).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["sales:my_day", "sales:pipeline", "sales:lead_list"],
)
def test_sales_pages_require_login_and_a_sales_role(client, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(UserFactory(role="Support agent"))
    assert client.get(reverse(name)).status_code == 403


def test_marking_a_deal_lost_from_its_page_keeps_the_reason(client, rep, stages):
    deal = OpportunityFactory(
        owner=rep, customer=CustomerFactory(owner=rep), stage=stages["propose"]
    )
    page = client.get(reverse("sales:opportunity_detail", args=[deal.pk])).content.decode()

    response = client.post(
        reverse("sales:opportunity_move", args=[deal.pk]),
        {"stage": stages["lost"].pk, "lost_reason": "Budget frozen"},
    )

    assert 'name="lost_reason"' in page
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.outcome, deal.lost_reason) == ("lost", "Budget frozen")
    assert deal.closed_at is not None


# --- CSV / XLSX export of the deals and leads lists (issue 4) ------------------------------------


def _xlsx_rows(response) -> list[tuple]:
    import io

    import openpyxl

    body = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def _csv_rows(response) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_deals_export_has_the_filtered_visible_deals_with_typed_amounts(client):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    mine = CustomerFactory(owner=rep)
    OpportunityFactory(name="Acme renewal", owner=rep, customer=mine, amount=Decimal("1250.50"))
    OpportunityFactory(
        name="Acme closed", owner=rep, customer=mine, outcome="won", closed_at=timezone.now()
    )
    OpportunityFactory(name="Acme elsewhere", owner=UserFactory(), customer=CustomerFactory())

    as_csv = _csv_rows(client.get(INDEX, {"q": "acme", "format": "csv"}))
    header, *rows = _xlsx_rows(client.get(INDEX, {"q": "acme", "format": "xlsx"}))

    assert [row[0] for row in as_csv[1:]] == ["Acme renewal"]
    assert header[:2] == ("Deal", "Customer")
    (row,) = rows
    values = dict(zip(header, row, strict=True))
    assert values["Deal"] == "Acme renewal"
    assert values["Amount"] == 1250.5
    assert values["Outcome"] == "Open"


def test_the_leads_export_has_the_filtered_visible_leads(client):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    LeadFactory(name="Ada", owner=rep, status="contacted")
    LeadFactory(name="Bob", owner=rep, status="new")
    LeadFactory(name="Eve", owner=UserFactory(), status="contacted")

    as_csv = _csv_rows(client.get(LEADS, {"status": "contacted", "format": "csv"}))
    header, *rows = _xlsx_rows(client.get(LEADS, {"status": "contacted", "format": "xlsx"}))

    assert as_csv[0][:2] == ["Name", "Company"]
    assert [row[0] for row in as_csv[1:]] == ["Ada"]
    assert [row[0] for row in rows] == ["Ada"]
    assert dict(zip(header, rows[0], strict=True))["Status"] == "Contacted"


@pytest.mark.parametrize(("url", "file_format"), [(INDEX, "csv"), (INDEX, "xlsx"), (LEADS, "xlsx")])
def test_sales_exports_run_a_bounded_number_of_queries(
    client, url, file_format, django_assert_max_num_queries
):
    rep = UserFactory.create(role="Sales rep")
    client.force_login(rep)
    for _ in range(40):
        customer = CustomerFactory(owner=rep)
        OpportunityFactory(owner=rep, customer=customer, stage=PipelineStageFactory())
        LeadFactory(owner=rep)

    with django_assert_max_num_queries(12):
        response = client.get(url, {"format": file_format})
        body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert body


def test_the_sales_lists_show_export_buttons_keeping_the_filters(client):
    client.force_login(UserFactory.create(role="Sales rep"))

    deals = client.get(INDEX, {"show": "all"}).content.decode()
    leads = client.get(LEADS, {"status": "new"}).content.decode()

    assert 'href="?show=all&amp;format=xlsx"' in deals
    assert 'href="?status=new&amp;format=csv"' in leads

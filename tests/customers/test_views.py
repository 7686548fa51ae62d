"""Customer list and 360 page: visibility, search, filters, sorting, pagination, CSV export,
the merged timeline and the customer's figures."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.models import CustomerHealthSnapshot
from sales.models import OpportunityStageChange
from tests.customers.factories import (
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)
from tests.sales.factories import (
    ActivityFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    PipelineStageFactory,
    ProductFactory,
)
from tests.support.factories import TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")


def detail(customer) -> str:
    return reverse("customers:detail", kwargs={"pk": customer.pk})


@pytest.fixture
def rep(client):
    user = UserFactory(role="Sales rep")
    client.force_login(user)
    return user


def names(response) -> list[str]:
    return [customer.name for customer in response.context["customers"]]


@pytest.mark.parametrize("url", [LIST, reverse("customers:detail", kwargs={"pk": 1})])
def test_customer_pages_require_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_rep_sees_own_and_team_customers_only(client, rep):
    team = TeamFactory.create()
    team.members.add(rep)
    CustomerFactory(name="Own", owner=rep)
    CustomerFactory(name="Team's", team=team)
    CustomerFactory(name="Someone else's", owner=UserFactory(role="Sales rep"))

    response = client.get(LIST)

    assert response.status_code == 200
    assert names(response) == ["Own", "Team's"]


def test_a_customer_the_user_may_not_see_is_a_404(client, rep):
    hidden = CustomerFactory(owner=UserFactory(role="Sales rep"))
    own = CustomerFactory(owner=rep)

    assert client.get(detail(hidden)).status_code == 404
    page = client.get(detail(own))
    assert page.status_code == 200
    assert own.name in page.content.decode()


def test_an_admin_sees_every_customer(client):
    client.force_login(UserFactory(role="Admin"))
    CustomerFactory.create_batch(3)

    assert client.get(LIST).context["page_obj"].paginator.count == 3


def test_search_matches_name_and_whole_email_and_phone(client, rep):
    CustomerFactory(name="Acme Widgets", owner=rep)
    CustomerFactory(name="Globex", email="buyer@acme.test", owner=rep)
    CustomerFactory(name="Initech", phone="+49 30 1234", owner=rep)
    CustomerFactory(name="Hooli", owner=rep)

    # Encrypted e-mail and phone match as whole values (blind index), not as substrings.
    assert names(client.get(LIST, {"q": "acme"})) == ["Acme Widgets"]
    assert names(client.get(LIST, {"q": "BUYER@acme.test"})) == ["Globex"]
    assert names(client.get(LIST, {"q": "1234"})) == []
    assert names(client.get(LIST, {"q": "+49 (30) 1234"})) == ["Initech"]


def test_search_never_reaches_customers_outside_the_users_view(client, rep):
    CustomerFactory(name="Acme hidden", owner=UserFactory())

    assert names(client.get(LIST, {"q": "acme"})) == []


def test_sorting_by_a_whitelisted_column_both_ways_and_ignoring_others(client, rep):
    for name in ("Bravo", "Alpha", "Charlie"):
        CustomerFactory(name=name, owner=rep)

    assert names(client.get(LIST, {"sort": "name"})) == ["Alpha", "Bravo", "Charlie"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Charlie", "Bravo", "Alpha"]
    # An unknown sort key (here a private column) falls back to name order.
    assert names(client.get(LIST, {"sort": "owner__password"})) == ["Alpha", "Bravo", "Charlie"]


def test_pagination_shows_25_a_page_and_keeps_the_search(client, rep):
    for number in range(30):
        CustomerFactory(name=f"Acme {number:02d}", owner=rep)

    first = client.get(LIST, {"q": "acme"})
    second = client.get(LIST, {"q": "acme", "page": 2})

    # 30 matches at 25 a page → 25 + 5.
    assert len(first.context["customers"]) == 25
    assert len(second.context["customers"]) == 5
    assert "q=acme" in first.content.decode().split('aria-label="Pages"')[1]


def test_the_list_runs_a_bounded_number_of_queries(client, rep, django_assert_max_num_queries):
    team = TeamFactory.create()
    team.members.add(rep)
    for _ in range(25):
        CustomerFactory(owner=rep, team=team)

    with django_assert_max_num_queries(10):
        response = client.get(LIST)

    assert len(response.context["customers"]) == 25


def test_a_support_agent_reads_the_customers_of_their_team(client):
    agent = UserFactory(role="Support agent")
    team = TeamFactory.create()
    team.members.add(agent)
    client.force_login(agent)
    CustomerFactory(name="Team customer", team=team)
    CustomerFactory(name="Other customer")

    assert names(client.get(LIST)) == ["Team customer"]


# --- customer list filters and CSV export ---------------------------------------------------------

EXPORT = reverse("customers:export")


def export_body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def export_names(response) -> list[str]:
    body = export_body(response)
    rows = list(csv.reader(io.StringIO(body)))
    return [row[1] for row in rows[1:]]


def test_filters_narrow_the_list_by_segment_status_and_health_band(client, rep):
    smb = SegmentFactory(code="smb")
    CustomerFactory(name="Red SMB", owner=rep, segment=smb, health_band="red", status="active")
    CustomerFactory(name="Green SMB", owner=rep, segment=smb, health_band="green", status="active")
    CustomerFactory(name="Red prospect", owner=rep, health_band="red")

    assert names(client.get(LIST, {"segment": smb.pk})) == ["Green SMB", "Red SMB"]
    assert set(names(client.get(LIST, {"health_band": "red"}))) == {"Red prospect", "Red SMB"}
    assert names(client.get(LIST, {"health_band": "red", "status": "active"})) == ["Red SMB"]


def test_the_owner_menu_lists_only_owners_of_visible_customers(client, rep):
    stranger = UserFactory(username="stranger", role="Sales rep")
    CustomerFactory(owner=stranger)
    CustomerFactory(owner=rep)

    form = client.get(LIST).context["filter_form"]

    assert list(form.fields["owner"].queryset) == [rep]


def test_filtering_by_an_invisible_owner_never_reveals_their_customers(client, rep):
    stranger = UserFactory(role="Sales rep")
    CustomerFactory(name="Hidden", owner=stranger)
    CustomerFactory(name="Mine", owner=rep)

    # The menu refuses the stranger, so the filter is ignored and only visible rows remain.
    assert names(client.get(LIST, {"owner": stranger.pk})) == ["Mine"]


def test_the_filtered_list_runs_a_bounded_number_of_queries(
    client, rep, django_assert_max_num_queries
):
    team = TeamFactory.create()
    team.members.add(rep)
    segment = SegmentFactory()
    for _ in range(25):
        CustomerFactory(owner=rep, team=team, segment=segment)

    with django_assert_max_num_queries(20):
        response = client.get(LIST, {"segment": segment.pk, "team": team.pk, "sort": "-health"})

    assert len(response.context["customers"]) == 25


def test_csv_export_streams_the_filtered_visible_customers(client, rep):
    CustomerFactory(name="Acme active", owner=rep, status="active")
    CustomerFactory(name="Acme prospect", owner=rep)
    CustomerFactory(name="Acme hidden", owner=UserFactory(), status="active")

    response = client.get(EXPORT, {"q": "acme", "status": "active"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert export_names(response) == ["Acme active"]


def test_csv_export_without_filters_has_every_visible_customer_and_a_header(client, rep):
    CustomerFactory(name="B", owner=rep)
    CustomerFactory(name="A", owner=rep)
    CustomerFactory(name="Other", owner=UserFactory())

    response = client.get(EXPORT)
    body = export_body(response)

    assert body.splitlines()[0].startswith("Id,Name,Kind,Status")
    assert [row[1] for row in csv.reader(io.StringIO(body))][1:] == ["A", "B"]


def test_csv_export_requires_login(client):
    response = client.get(EXPORT)

    assert response.status_code == 302


# --- customer 360 ---------------------------------------------------------------------------------


@pytest.fixture
def rich_customer(rep):
    """A customer with many records of every kind on the timeline."""
    customer = CustomerFactory(name="Rich Co", owner=rep, rfm_segment="at_risk", rfm_recency=2)
    for number in range(3):
        ContactFactory(customer=customer, first_name=f"Person{number}")
    product = ProductFactory()
    stages = [PipelineStageFactory(code=f"s{n}", position=n) for n in range(3)]
    for number in range(15):
        order = OrderFactory(customer=customer, total=Decimal("100.00"))
        OrderLineFactory(order=order, product=product)
        ActivityFactory(customer=customer, owner=rep, subject=f"Call {number}")
        TicketFactory(customer=customer, subject=f"Ticket {number}")
        SurveyResponseFactory(customer=customer, score=number % 11)
        deal = OpportunityFactory(customer=customer, owner=rep, stage=stages[0])
        OpportunityStageChange.objects.create(opportunity=deal, to_stage=stages[0])
        OpportunityStageChange.objects.create(
            opportunity=deal, from_stage=stages[0], to_stage=stages[1]
        )
    return customer


def test_customer_360_runs_a_bounded_number_of_queries(
    client, rep, rich_customer, django_assert_max_num_queries
):
    # 20, plus the Files and History tabs: content type, attachments, events, their users, and
    # the audit context's reset on PostgreSQL.
    with django_assert_max_num_queries(25):
        response = client.get(detail(rich_customer))

    assert response.status_code == 200
    kinds = {entry.kind for entry in response.context["timeline"]["entries"]}
    assert kinds == {"activity", "order", "opportunity", "ticket", "survey"}
    assert response.context["timeline"]["has_next"]


def test_the_timeline_merges_every_source_newest_first(client, rep):
    customer = CustomerFactory(owner=rep)
    now = timezone.now()
    ActivityFactory(customer=customer, subject="Old call", created_at=now - dt.timedelta(days=3))
    OrderFactory(customer=customer, ordered_at=now - dt.timedelta(days=2))
    TicketFactory(customer=customer, created_at=now - dt.timedelta(days=1))
    SurveyResponseFactory(customer=customer, responded_at=now - dt.timedelta(hours=1))
    stage = PipelineStageFactory()
    deal = OpportunityFactory(customer=customer, stage=stage, created_at=now)
    OpportunityStageChange.objects.create(opportunity=deal, to_stage=stage)

    timeline = client.get(detail(customer)).context["timeline"]

    assert [entry.kind for entry in timeline["entries"]] == [
        "opportunity",
        "survey",
        "ticket",
        "order",
        "activity",
    ]


def test_the_timeline_pages_do_not_overlap(client, rep):
    customer = CustomerFactory(owner=rep)
    now = timezone.now()
    for number in range(25):
        ActivityFactory(customer=customer, created_at=now - dt.timedelta(hours=number))

    first = client.get(detail(customer)).context["timeline"]
    second = client.get(reverse("customers:timeline", args=[customer.pk]), {"tpage": 2}).context[
        "timeline"
    ]

    # 25 activities at 20 a page → 20 + 5, no activity on both pages.
    assert len(first["entries"]) == 20
    assert len(second["entries"]) == 5
    first_ids = {entry.record.pk for entry in first["entries"]}
    assert first_ids.isdisjoint({entry.record.pk for entry in second["entries"]})


def test_customer_figures_clv_share_and_last_answers(client, rep):
    customer = CustomerFactory(owner=rep)
    other = CustomerFactory(owner=UserFactory())
    now = timezone.now()
    OrderFactory(customer=customer, total=Decimal("300.00"), ordered_at=now - dt.timedelta(days=10))
    OrderFactory(
        customer=customer, total=Decimal("200.00"), ordered_at=now - dt.timedelta(days=500)
    )
    OrderFactory(customer=customer, total=Decimal("999.00"), status="cancelled")
    OrderFactory(customer=other, total=Decimal("900.00"), ordered_at=now - dt.timedelta(days=20))
    SurveyResponseFactory(customer=customer, score=6, responded_at=now - dt.timedelta(days=9))
    SurveyResponseFactory(customer=customer, score=9, responded_at=now - dt.timedelta(days=1))
    csat = SurveyFactory(name="CSAT", kind="csat")
    SurveyResponseFactory(customer=customer, survey=csat, score=4)

    response = client.get(detail(customer))
    figures = response.context["figures"]

    # CLV: 300 + 200 (cancelled 999 excluded) → 500.
    assert figures["clv"] == Decimal("500.00")
    # Share over 12 months: 300 ÷ (300 + 900) → 0.25.
    assert figures["revenue_share"] == Decimal("0.25")
    assert response.context["last_nps"]["score"] == 9
    assert response.context["last_csat"]["score"] == 4
    assert "25.00 %" in response.content.decode()


def test_the_share_of_revenue_is_na_without_revenue(client, rep):
    customer = CustomerFactory(owner=rep)

    figures = client.get(detail(customer)).context["figures"]

    assert figures["clv"] == Decimal("0")
    assert figures["revenue_share"] is None


def test_a_customer_of_another_team_is_a_404_for_the_360_and_its_timeline(client, rep):
    other_team = TeamFactory.create()
    hidden = CustomerFactory(team=other_team)

    assert client.get(detail(hidden)).status_code == 404
    assert client.get(reverse("customers:timeline", args=[hidden.pk])).status_code == 404


def test_a_support_agent_reads_the_360_without_the_sales_forms(client):
    agent = UserFactory(role="Support agent")
    team = TeamFactory.create()
    team.members.add(agent)
    client.force_login(agent)
    customer = CustomerFactory(team=team)

    response = client.get(detail(customer))

    assert response.status_code == 200
    assert 'data-testid="activity-form"' not in response.content.decode()


def test_the_360_shows_the_activity_form_with_a_csrf_token_to_a_rep(client, rep):
    customer = CustomerFactory(owner=rep)

    html = client.get(detail(customer)).content.decode()
    form = html.split('data-testid="activity-form"')[1].split("</form>")[0]

    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="customer" value="{customer.pk}"' in form


def test_the_360_shows_the_latest_health_components_with_their_labels(client, rep):
    customer = CustomerFactory(owner=rep, health_score=Decimal("64.00"), health_band="yellow")
    now = timezone.now()
    for days, recency in ((40, "90"), (1, "12")):
        CustomerHealthSnapshot.objects.create(
            customer=customer,
            granularity="month",
            period_start=(now - dt.timedelta(days=days)).date(),
            as_of=now - dt.timedelta(days=days),
            score=Decimal("64.00"),
            band="yellow",
            components={"recency": {"value": recency, "score": "93.33", "weight": "25"}},
        )

    response = client.get(detail(customer))

    label, values = response.context["health_components"][0]
    assert str(label) == "Recency (days since the last order)"
    assert values["value"] == "12"
    assert "64 · yellow" in response.content.decode()


def test_csv_export_defuses_spreadsheet_formulas_in_names(client, rep):
    CustomerFactory(name='=HYPERLINK("http://evil")', owner=rep)

    response = client.get(EXPORT)

    assert export_names(response) == ['\'=HYPERLINK("http://evil")']


# --- CSV / XLSX export of the list (issue 4) -----------------------------------------------------


def xlsx_rows(response) -> list[tuple]:
    import openpyxl

    body = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def test_the_list_exports_its_filtered_visible_rows_as_csv_and_xlsx(client, rep):
    team = TeamFactory.create()
    team.members.add(rep)
    CustomerFactory(name="Acme active", team=team, status="active")
    CustomerFactory(name="Acme prospect", owner=rep)
    CustomerFactory(name="Acme other team", team=TeamFactory.create(), status="active")

    as_csv = client.get(LIST, {"q": "acme", "status": "active", "format": "csv"})
    as_xlsx = client.get(LIST, {"q": "acme", "status": "active", "format": "xlsx"})

    assert as_csv["Content-Type"].startswith("text/csv")
    assert export_names(as_csv) == ["Acme active"]
    rows = xlsx_rows(as_xlsx)
    assert rows[0][:4] == ("Id", "Name", "Kind", "Status")
    assert [row[1] for row in rows[1:]] == ["Acme active"]
    assert 'filename="customers-' in as_xlsx["Content-Disposition"]


def test_the_xlsx_export_has_typed_cells(client, rep, settings):
    settings.CRM_TIME_ZONE = "Europe/Berlin"
    CustomerFactory(
        name="Typed",
        owner=rep,
        status="active",
        health_score=Decimal("64.50"),
        acquired_at=dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.UTC),
        external_id="C-1",
    )

    header, row = xlsx_rows(client.get(LIST, {"format": "xlsx"}))
    values = dict(zip(header, row, strict=True))

    assert values["Status"] == "Active"
    assert values["Health score"] == 64.5
    assert values["Acquired"].isoformat() == "2024-03-06T00:30:00"
    assert values["External id"] == "C-1"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_export_runs_a_bounded_number_of_queries_whatever_the_row_count(
    client, rep, file_format, django_assert_max_num_queries
):
    team = TeamFactory.create()
    team.members.add(rep)
    segment = SegmentFactory()
    for _ in range(60):
        CustomerFactory(team=team, segment=segment, owner=UserFactory())

    with django_assert_max_num_queries(12):
        response = client.get(LIST, {"segment": segment.pk, "format": file_format})
        body = b"".join(response.streaming_content)

    assert len(body) > 0


def test_the_list_shows_export_buttons_that_keep_the_filters(client, rep):
    CustomerFactory(owner=rep, status="active")

    page = client.get(LIST, {"status": "active", "page": "1"}).content.decode()

    assert 'href="?status=active&amp;format=csv"' in page
    assert 'href="?status=active&amp;format=xlsx"' in page

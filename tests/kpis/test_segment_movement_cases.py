"""A cell of the segment movement opens retention cases for its customers through the bulk-action
engine: each customer through the retention service and the user's visibility, the job reporting
successes and refusals. The small company of test_segment_history (every customer in team North)."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import BulkJob
from customers.models import Customer
from sales.models import RetentionCase
from sales.services import retention_case_open
from tests.customers.factories import TeamFactory, UserFactory
from tests.kpis.test_segment_history import Q1, Q2, build_company
from tests.kpis.test_segment_movement import compute_year

pytestmark = pytest.mark.django_db

START = reverse("bulk:start", args=["segment_movement"])


def cell(team, **extra):
    """The drill-down query of the cell churned at 1 April → churned at 1 July, as the page
    links it for the team's manager (their team's cell)."""
    return {
        "granularity": "quarter",
        "from": Q1.isoformat(),
        "to": Q2.isoformat(),
        "team": str(team.pk),
        "source_segment": "churned",
        "target_segment": "churned",
    } | extra


def open_cases(client, query, **overrides):
    return client.post(
        START,
        {
            "query": urlencode(query),
            "scope": "filter",
            "action": "open_retention_case",
            "open_retention_case-reason": "Win them back",
        }
        | overrides,
    )


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def manager(client, team):
    user = UserFactory(role="Manager")
    team.manager = user
    team.save()
    client.force_login(user)
    return user


@pytest.fixture
def churned_cell(post_compute_calls, team):
    """The cell churned → churned: C0–C5 (one order in October 2024), all in team North.
    C5 then moves to team South, out of the manager's sight; C4 already has an open case."""
    build_company()
    Customer.objects.update(team=team)
    compute_year()
    south = TeamFactory(name="South")
    Customer.objects.filter(name="C5").update(team=south)
    retention_case_open(customer=Customer.objects.get(name="C4"), reason="Already on it")
    return cell(team)


def case_holders():
    return sorted(
        RetentionCase.objects.filter(status=RetentionCase.Status.OPEN).values_list(
            "customer__name", flat=True
        )
    )


def test_the_cell_page_offers_the_action_for_its_customers(client, manager, churned_cell):
    page = client.get(
        reverse("kpis:segment_movement"), {"granularity": "quarter", "from": Q1, "to": Q2}
    )
    assert 'data-testid="movement-cell-cases"' in page.content.decode()

    html = client.get(reverse("kpis:segment_movement_customers"), churned_cell).content.decode()
    # C0–C4: C5 is another team's
    assert "Open retention cases for all 5 customers" in html
    assert f'value="{urlencode(churned_cell).replace("&", "&amp;")}"' in html


def test_a_manager_opens_cases_for_the_cells_visible_customers(client, manager, churned_cell):
    response = open_cases(client, churned_cell)

    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk:job", args=[job.pk])
    # 5 customers the manager may see in the cell: C0–C3 get a case, C4 is refused (open case)
    assert (job.status, job.total, job.succeeded, job.refused) == ("done", 5, 4, 1)
    assert "already has an open retention case" in job.refusals[0]["reason"]
    # C5, another team's, untouched; C4 keeps its one case
    assert case_holders() == ["C0", "C1", "C2", "C3", "C4"]
    assert RetentionCase.objects.filter(customer__name="C4").count() == 1
    assert set(
        RetentionCase.objects.filter(reason="Win them back").values_list("owner", flat=True)
    ) == {manager.pk}
    # the job page reports both
    report = client.get(response["Location"]).content.decode()
    assert "C4" in report


def test_a_cell_outside_the_scope_opens_nothing(client, manager, churned_cell):
    south = Customer.objects.get(name="C5").team
    assert south is not None

    open_cases(client, cell(south))

    assert BulkJob.objects.get().total == 0
    assert case_holders() == ["C4"]


def test_posting_needs_csrf_and_a_sales_role(manager, churned_cell):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    assert open_cases(strict, churned_cell).status_code == 403

    agent = Client()
    agent.force_login(UserFactory(role="Support agent"))
    assert open_cases(agent, churned_cell).status_code == 403
    assert case_holders() == ["C4"]


def test_the_cell_page_with_its_action_reads_the_same_queries_for_any_cell_size(
    client, manager, churned_cell, django_assert_max_num_queries
):
    customers = reverse("kpis:segment_movement_customers")
    # 5 customers in churned → churned, 2 in high-frequency → high-frequency (H1, H2)
    with django_assert_max_num_queries(30) as big:
        client.get(customers, churned_cell)
    small_cell = churned_cell | {
        "source_segment": "high_frequency",
        "target_segment": "high_frequency",
    }
    with django_assert_max_num_queries(len(big.captured_queries)) as small:
        response = client.get(customers, small_cell)
    assert "Open retention cases for all 2 customers" in response.content.decode()
    assert len(small.captured_queries) == len(big.captured_queries)

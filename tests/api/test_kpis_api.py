import datetime as dt
from decimal import Decimal

import pytest

from kpis.engine import compute_period
from kpis.models import Alert, AlertRule, KpiSnapshot, Target, WeightVersion
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

MAY = dt.date(2026, 5, 1)


@pytest.fixture
def may_revenue(crew):
    """Two orders in May 2026: one of team A (100.00), one of team B (250.00)."""
    ours = OrderFactory(
        customer=CustomerFactory(team=crew.team_a),
        ordered_at=dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC),
        total=Decimal("100.00"),
    )
    theirs = OrderFactory(
        customer=CustomerFactory(team=crew.team_b),
        ordered_at=dt.datetime(2026, 5, 11, 12, tzinfo=dt.UTC),
        total=Decimal("250.00"),
    )
    compute_period(granularity="month", period_start=MAY, kpi_keys=["revenue"])
    return ours, theirs


def test_catalogue_lists_every_kpi_with_formula(crew, client_as):
    client = client_as(crew.rep)

    listing = client.get("/api/v1/kpis/catalogue/").json()
    revenue = client.get("/api/v1/kpis/catalogue/revenue/").json()

    assert "revenue" in {row["key"] for row in listing}
    assert revenue["unit"] == "money"
    assert "net_amount" in revenue["formula"]
    assert "team" in revenue["dimensions"]
    assert client.get("/api/v1/kpis/catalogue/nope/").status_code == 404


def test_snapshots_filtered_by_kpi_granularity_period_and_dimension(crew, client_as, may_revenue):
    client = client_as(crew.admin)

    rows = client.get(
        "/api/v1/kpis/snapshots/",
        {
            "kpi": "revenue",
            "granularity": "month",
            "dimension": "all",
            "period_start_after": "2026-05-01",
            "period_start_before": "2026-05-31",
        },
    ).json()["results"]

    # 100.00 + 250.00 = 350.00
    assert [Decimal(row["value"]) for row in rows] == [Decimal("350.00")]
    assert rows[0]["period_end"] == "2026-06-01"


def test_snapshots_need_the_kpi_view_permission(crew, client_as, may_revenue):
    assert client_as(crew.rep).get("/api/v1/kpis/snapshots/").status_code == 403
    assert client_as(None).get("/api/v1/kpis/snapshots/").status_code == 401


def test_bad_snapshot_filters_are_400(crew, client_as):
    client = client_as(crew.manager)

    assert client.get("/api/v1/kpis/snapshots/", {"granularity": "decade"}).status_code == 400
    assert client.get("/api/v1/kpis/snapshots/", {"period_start_after": "May"}).status_code == 400


def test_a_team_manager_reads_the_snapshots_of_their_team_only(crew, client_as, may_revenue):
    client = client_as(crew.manager)

    rows = client.get("/api/v1/kpis/snapshots/", {"kpi": "revenue"}).json()["results"]
    company = KpiSnapshot.objects.get(kpi="revenue", dimension="all", period_start=MAY)

    # The manager of team A: team A's cell (100.00), not the company's 350.00 nor team B's 250.00.
    assert [(row["dimension"], row["dimension_value"]) for row in rows] == [
        ("team", str(crew.team_a.pk))
    ]
    assert Decimal(rows[0]["value"]) == Decimal("100.00")
    assert client.get(f"/api/v1/kpis/snapshots/{company.pk}/").status_code == 404


def test_drilldown_lists_only_visible_records(crew, client_as, may_revenue):
    ours, theirs = may_revenue
    company = KpiSnapshot.objects.get(kpi="revenue", dimension="all", period_start=MAY)
    team_a = KpiSnapshot.objects.get(
        kpi="revenue", dimension="team", dimension_value=str(crew.team_a.pk), period_start=MAY
    )
    company_url = f"/api/v1/kpis/snapshots/{company.pk}/drilldown/"

    as_admin = client_as(crew.admin).get(company_url).json()
    as_manager = client_as(crew.manager).get(f"/api/v1/kpis/snapshots/{team_a.pk}/drilldown/")

    assert {row["id"] for row in as_admin["results"]} == {ours.pk, theirs.pk}
    assert [row["id"] for row in as_manager.json()["results"]] == [ours.pk]
    assert as_manager.json()["results"][0]["model"] == "sales.order"
    # The company cell is outside a team manager's KPI scope.
    assert client_as(crew.manager).get(company_url).status_code == 404
    assert client_as(crew.admin).get(company_url, {"part": "both"}).status_code == 400


def test_targets_go_through_the_target_rules(crew, client_as):
    client = client_as(crew.manager)
    body = {
        "kpi": "revenue",
        "granularity": "month",
        "period_start": "2026-06-01",
        "kind": "absolute",
        "amount": "5000",
    }

    created = client.post("/api/v1/kpis/targets/", body)
    misaligned = client.post("/api/v1/kpis/targets/", {**body, "period_start": "2026-06-15"})
    unknown = client.post("/api/v1/kpis/targets/", {**body, "kpi": "happiness"})

    assert created.status_code == 201, created.json()
    assert Target.objects.get().created_by_id == crew.manager.pk
    assert "period_start" in misaligned.json()
    assert "kpi" in unknown.json()


def test_alert_rules_and_alert_acknowledge_resolve(crew, client_as):
    client = client_as(crew.manager)
    rule = client.post(
        "/api/v1/kpis/alert-rules/",
        {
            "name": "Revenue low",
            "kpi": "revenue",
            "granularity": "month",
            "dimension": "team",
            "dimension_value": str(crew.team_a.pk),
            "lower_threshold": "1000",
        },
    )
    no_condition = client.post(
        "/api/v1/kpis/alert-rules/", {"name": "Nothing", "kpi": "revenue", "granularity": "month"}
    )
    alert = Alert.objects.create(
        rule=AlertRule.objects.get(pk=rule.json()["id"]),
        granularity="month",
        period_start=MAY,
        period_end=dt.date(2026, 6, 1),
        value=Decimal("350"),
    )

    acknowledged = client.post(f"/api/v1/kpis/alerts/{alert.pk}/acknowledge/")
    again = client.post(f"/api/v1/kpis/alerts/{alert.pk}/acknowledge/")
    resolved = client.post(f"/api/v1/kpis/alerts/{alert.pk}/resolve/")

    assert rule.status_code == 201
    assert no_condition.status_code == 400
    assert acknowledged.json()["state"] == "acknowledged"
    assert again.status_code == 400
    assert resolved.json()["state"] == "resolved"


def test_weight_versions_and_index_are_readable_by_managers(crew, client_as):
    client = client_as(crew.manager)

    versions = client.get("/api/v1/kpis/weight-versions/").json()["results"]
    index = client.get("/api/v1/kpis/index/")

    active = [row for row in versions if row["status"] == "active"]
    assert len(active) == 1
    assert active[0]["indicators"]
    assert index.status_code == 200


def test_only_admins_activate_weight_versions(crew, client_as):
    draft = client_as(crew.admin).post("/api/v1/kpis/weight-versions/", {"name": "Try"}).json()

    refused = client_as(crew.manager).post(f"/api/v1/kpis/weight-versions/{draft['id']}/activate/")
    activated = client_as(crew.admin).post(f"/api/v1/kpis/weight-versions/{draft['id']}/activate/")

    assert refused.status_code == 403
    assert activated.json()["status"] == "active"
    assert WeightVersion.objects.filter(status="active").get().pk == draft["id"]

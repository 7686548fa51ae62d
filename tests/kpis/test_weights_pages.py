"""The index weights editor: preview arithmetic, the priority rule, permissions, editing through
the service, activation (from now on / restating history) and the index chart by version."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from audit.selectors import EventFilters, audit_event_list
from kpis import charts
from kpis.models import (
    Alert,
    AlertRule,
    Granularity,
    IndexSnapshot,
    IndicatorWeight,
    KpiSnapshot,
    WeightVersion,
)
from kpis.priorities import priority_ranks
from kpis.services import (
    weight_version_activate,
    weight_version_create_draft,
    weight_version_update,
)
from kpis.weight_selectors import preview_period_starts, weight_preview
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db

JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
GROUPS_ZERO = [
    {"group": g, "weight": 0, "priority": p}
    for g, p in (("acquisition", 4), ("enhancement", 3), ("service", 5))
]


def small_version(*, retention_weight: int, activate: bool) -> WeightVersion:
    """Two indicators: churn (retention, best 1 %, worst 10 %) and CSAT (maintenance, best 95 %,
    worst 60 %), group weights `retention_weight` and 25, minimum coverage 30 %."""
    draft = weight_version_create_draft(name=f"Retention × {retention_weight}")
    weight_version_update(
        version=draft,
        min_coverage=Decimal("0.3"),
        indicators=[
            {"kpi": "churn_rate", "group": "retention", "weight": 1, "priority": 1,
             "normalisation": "bounded_linear", "best": "0.01", "worst": "0.10"},
            {"kpi": "csat", "group": "maintenance", "weight": 1, "priority": 1,
             "normalisation": "bounded_linear", "best": "0.95", "worst": "0.60"},
        ],
        groups=[
            {"group": "retention", "weight": retention_weight, "priority": 1},
            {"group": "maintenance", "weight": 25, "priority": 2},
            *GROUPS_ZERO,
        ],
    )  # fmt: skip
    if activate:
        weight_version_activate(version=draft)
    return WeightVersion.objects.get(pk=draft.pk)


def kpi(key: str, start: dt.date, value: str, granularity: str = Granularity.MONTH) -> None:
    KpiSnapshot.objects.create(
        kpi=key,
        granularity=granularity,
        period_start=start,
        period_end=charts.shift_period(granularity, start, 1),
        value=Decimal(value),
        sample_size=100,
    )


@pytest.fixture
def versions():
    active = small_version(retention_weight=25, activate=True)
    draft = small_version(retention_weight=50, activate=False)
    # January: churn 5.5 % → (5.5 − 10) ÷ (1 − 10) = 0.5 → 50; CSAT 81 % → 21 ÷ 35 = 0.6 → 60.
    kpi("churn_rate", JAN, "0.055")
    kpi("csat", JAN, "0.81")
    # February: churn only; CSAT has no snapshot.
    kpi("churn_rate", FEB, "0.055")
    return active, draft


# --- preview arithmetic ------------------------------------------------------------------------


def test_preview_scores_each_period_under_both_versions_with_group_contributions(versions):
    active, draft = versions

    preview = weight_preview(
        draft=draft, active=active, granularity=Granularity.MONTH, period_starts=[JAN, FEB]
    )

    january, february = preview.periods
    assert january.active is not None
    assert january.draft is not None
    assert february.active is not None
    assert february.draft is not None
    # Active: groups 25/25 → (50 + 60) ÷ 2 = 55.00; retention ½·50 = 25, maintenance ½·60 = 30.
    assert january.active.value == Decimal("55.00")
    # Draft: groups 50/25 → (50·50 + 25·60) ÷ 75 = 4000 ÷ 75 = 53.33.
    assert january.draft.value == Decimal("53.33")
    assert january.delta == Decimal("-1.67")
    groups = {g.group: (g.active, g.draft) for g in january.groups}
    # Draft: retention ⅔·50 = 33.33, maintenance ⅓·60 = 20.00.
    assert groups["retention"] == (Decimal("25.00"), Decimal("33.33"))
    assert groups["maintenance"] == (Decimal("30.00"), Decimal("20.00"))
    # February: CSAT missing, retention alone carries the index (renormalised): 50 under both;
    # coverage 25 ÷ 50 = 0.5 (active) and 50 ÷ 75 = 0.6667 (draft), both above 30 %.
    assert (february.active.value, february.draft.value) == (Decimal("50.00"), Decimal("50.00"))
    assert (february.active.coverage, february.draft.coverage) == (
        Decimal("0.5000"),
        Decimal("0.6667"),
    )
    assert [g.draft for g in february.groups if g.group == "maintenance"] == [None]
    assert preview.missing == []


def test_preview_lists_periods_without_snapshots_instead_of_failing(versions):
    active, draft = versions
    march = dt.date(2026, 3, 1)

    preview = weight_preview(
        draft=draft, active=active, granularity=Granularity.MONTH, period_starts=[FEB, march]
    )

    assert preview.missing == [march]
    assert preview.periods[1].draft.value is None


def test_preview_periods_are_the_last_twelve_closed_ones():
    months = preview_period_starts(Granularity.MONTH, today=dt.date(2026, 3, 15))
    quarters = preview_period_starts(Granularity.QUARTER, today=dt.date(2026, 3, 15))

    # The open month (March 2026) is left out: April 2025 … February 2026.
    assert (months[0], months[-1], len(months)) == (dt.date(2025, 3, 1), FEB, 12)
    assert (quarters[0], quarters[-1]) == (dt.date(2023, 1, 1), dt.date(2025, 10, 1))


# --- priority ----------------------------------------------------------------------------------


def test_priority_orders_groups_then_kpis_and_puts_unranked_last():
    # The default version: retention 1 (churn 1), maintenance 2 (NPS 1, CSAT 2), service 5.
    ranks = priority_ranks()

    ordered = ranks.order_kpis(["revenue", "csat", "first_response_time", "nps", "churn_rate"])

    assert ordered == ["churn_rate", "nps", "csat", "first_response_time", "revenue"]
    assert ranks.order_groups(["pipeline", "service", "retention"]) == [
        "retention",
        "service",
        "pipeline",
    ]


def test_priority_zero_ranks_after_every_prioritised_entry_of_its_group():
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    IndicatorWeight.objects.filter(version=active, kpi="nps").update(priority=0)

    ranks = priority_ranks()

    # Maintenance: NPS (now 0: none) after CSAT (2) and complaints (3); churn's group leads.
    assert ranks.order_kpis(["nps", "complaint_rate", "csat", "churn_rate"]) == [
        "churn_rate",
        "csat",
        "complaint_rate",
        "nps",
    ]


def test_alerts_inbox_lists_the_high_priority_kpis_alert_first(client):
    client.force_login(UserFactory(role="Manager"))
    month = charts.shift_period(Granularity.MONTH, charts.window_start(Granularity.MONTH, 1), -1)
    for name, key, hour in (("CSAT low", "csat", 9), ("Churn high", "churn_rate", 8)):
        rule = AlertRule.objects.create(
            name=name, kpi=key, granularity=Granularity.MONTH, upper_threshold=Decimal("1")
        )
        Alert.objects.create(
            rule=rule,
            granularity=Granularity.MONTH,
            period_start=month,
            period_end=charts.shift_period(Granularity.MONTH, month, 1),
            value=Decimal("2"),
            fired_at=dt.datetime(2026, 1, 5, hour, tzinfo=dt.UTC),
        )

    response = client.get(reverse("kpis:alerts"))

    # CSAT fired later, but churn (retention, priority 1) outranks CSAT (maintenance, 2).
    assert [item["alert"].rule.kpi for item in response.context["alerts"]] == [
        "churn_rate",
        "csat",
    ]


# --- permissions -------------------------------------------------------------------------------


def weight_urls(version: WeightVersion) -> list[tuple[str, str]]:
    return [
        ("get", reverse("kpis:weights")),
        ("get", reverse("kpis:weights_version", args=[version.pk])),
        ("get", reverse("kpis:weights_preview", args=[version.pk])),
        ("get", reverse("kpis:weights_activate", args=[version.pk])),
        ("post", reverse("kpis:weights_draft_create")),
        ("post", reverse("kpis:weights_draft_delete", args=[version.pk])),
        ("post", reverse("kpis:weights_preview_compute", args=[version.pk])),
        ("get", reverse("kpis:weights_job", args=["unknown"])),
    ]


@pytest.mark.parametrize("role", ["Manager", "Sales rep", "Support agent"])
def test_only_admins_reach_the_weights_pages(client, role):
    draft = weight_version_create_draft()
    client.force_login(UserFactory(role=role))

    for method, url in weight_urls(draft):
        assert getattr(client, method)(url).status_code == 403, url
    assert WeightVersion.objects.filter(pk=draft.pk).exists()


def test_anonymous_users_are_sent_to_sign_in(client):
    draft = weight_version_create_draft()

    for method, url in weight_urls(draft):
        assert getattr(client, method)(url).status_code == 302, url


def test_an_active_version_cannot_be_edited_deleted_or_activated_again(client):
    client.force_login(UserFactory(role="Admin"))
    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    edit = reverse("kpis:weights_version", args=[active.pk])

    assert client.post(edit, {"name": "changed"}).status_code == 404
    assert client.post(reverse("kpis:weights_draft_delete", args=[active.pk])).status_code == 404
    assert client.get(reverse("kpis:weights_activate", args=[active.pk])).status_code == 404
    assert client.get(reverse("kpis:weights_version", args=[999999])).status_code == 404
    active.refresh_from_db()
    assert active.status == WeightVersion.Status.ACTIVE


# --- editing -----------------------------------------------------------------------------------


def form_data(response) -> dict[str, str]:
    """The editor's inputs as the browser would post them."""
    form = response.context["form"]
    data: dict[str, str] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(value, bool) or field.__class__.__name__ == "BooleanField":
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return data


def test_admin_edits_a_draft_in_display_units(client):
    admin = UserFactory(role="Admin")
    client.force_login(admin)
    client.post(reverse("kpis:weights_draft_create"))
    draft = WeightVersion.objects.get(status=WeightVersion.Status.DRAFT)
    url = reverse("kpis:weights_version", args=[draft.pk])
    page = client.get(url)
    data = form_data(page)
    # Bounds are shown in %: churn's best 0.01 is typed as 1.
    assert Decimal(data["ind_churn_rate_best"]) == Decimal(1)
    assert Decimal(data["min_coverage"]) == Decimal(70)
    assert "1 ranks first" in page.content.decode()

    data.update({"group_retention_weight": "50", "ind_churn_rate_best": "2", "min_coverage": "60"})
    response = client.post(url, data)

    assert response.status_code == 302
    churn = IndicatorWeight.objects.get(version=draft, kpi="churn_rate")
    assert churn.best == Decimal("0.02")
    draft.refresh_from_db()
    assert draft.min_coverage == Decimal("0.600")
    assert draft.groups.get(group="retention").weight == Decimal(50)
    # The bands and health components came back unchanged through their rows.
    assert draft.based_on is not None
    assert draft.bands == draft.based_on.bands
    assert draft.health_config == draft.based_on.health_config


def test_a_refused_edit_shows_the_service_message_and_saves_nothing(client):
    client.force_login(UserFactory(role="Admin"))
    draft = weight_version_create_draft()
    url = reverse("kpis:weights_version", args=[draft.pk])
    data = form_data(client.get(url))
    data.update({"band_1_min": "55", "group_retention_weight": "80"})  # a gap 50–55

    response = client.post(url, data)

    assert response.status_code == 400
    assert "Bands must be a list" in response.content.decode()
    assert draft.groups.get(group="retention").weight == Decimal(25)


def test_a_draft_is_deleted_through_the_service_and_recorded(client):
    admin = UserFactory(role="Admin")
    client.force_login(admin)
    draft = weight_version_create_draft(actor=admin)

    response = client.post(reverse("kpis:weights_draft_delete", args=[draft.pk]))

    assert response.status_code == 302
    assert not WeightVersion.objects.filter(pk=draft.pk).exists()
    if connection.vendor == "postgresql":
        events = audit_event_list(
            filters=EventFilters(record_type="kpis.WeightVersion", record_id=str(draft.pk))
        )
        assert {(e.pgh_label, e.user_id) for e in events} >= {("delete", admin.pk)}


# --- activation and the index chart -------------------------------------------------------------


def test_activate_restating_history_rescores_every_stored_period_and_keeps_the_old(
    client, versions, django_capture_on_commit_callbacks
):
    active, draft = versions
    admin = UserFactory(role="Admin")
    client.force_login(admin)
    from kpis.index import compute_index

    for start in (JAN, FEB):
        compute_index(granularity=Granularity.MONTH, period_start=start, version=active)
    confirm = client.get(reverse("kpis:weights_activate", args=[draft.pk]))
    assert "Retention: share of the index 50.0 % → 66.7 %." in confirm.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("kpis:weights_activate", args=[draft.pk]), {"mode": "restate"}
        )

    assert response.status_code == 302
    job_url = reverse("kpis:weights_job", args=[response.url.split("job=")[1]])
    assert json.loads(client.get(job_url).content) == {
        "kind": "restate",
        "state": "done",
        "done": 2,
        "total": 2,
        "error": "",
    }
    values = dict(IndexSnapshot.objects.filter(version=draft).values_list("period_start", "value"))
    assert values == {JAN: Decimal("53.33"), FEB: Decimal("50.00")}
    # The old version's values stay, readable by version.
    assert IndexSnapshot.objects.filter(version=active).count() == 2
    if connection.vendor == "postgresql":
        events = audit_event_list(
            filters=EventFilters(record_type="kpis.WeightVersion", record_id=str(draft.pk))
        )
        assert any(e.user_id == admin.pk and e.pgh_label == "update" for e in events)


def test_index_chart_draws_one_line_per_version_and_marks_the_change(client, versions):
    active, draft = versions
    from kpis.index import compute_index

    months = [charts.shift_period(Granularity.MONTH, charts.window_start(Granularity.MONTH, 3), n)
              for n in range(3)]  # fmt: skip
    for start in months:
        kpi("churn_rate", start, "0.055")
        kpi("csat", start, "0.81")
        compute_index(granularity=Granularity.MONTH, period_start=start, version=active)
    weight_version_activate(version=draft)
    for start in months:  # history restated under the draft
        compute_index(granularity=Granularity.MONTH, period_start=start, version=draft)
    client.force_login(UserFactory(role="Admin"))

    payload = json.loads(client.get(reverse("kpis:index_chart"), {"granularity": "month"}).content)

    new, old = payload["datasets"][0], payload["datasets"][1]
    assert (new["versionId"], old["versionId"]) == (draft.pk, active.pk)
    assert new["data"] == [53.33, 53.33, 53.33]
    assert old["data"] == [55.0, 55.0, 55.0]
    assert old["borderDash"] == [6, 4]
    [marker] = payload["annotations"]
    assert marker["id"] == f"version-{draft.pk}"
    assert marker["from"] == 2  # activated in the current month, the last on the axis
    assert "restated" in marker["text"]


# --- query caps ---------------------------------------------------------------------------------


def test_pages_read_a_bounded_number_of_queries(client, versions, django_assert_max_num_queries):
    _active, draft = versions
    client.force_login(UserFactory(role="Admin"))
    for n in range(5):
        weight_version_create_draft(name=f"extra {n}")

    with django_assert_max_num_queries(14):
        assert client.get(reverse("kpis:weights")).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(reverse("kpis:weights_version", args=[draft.pk])).status_code == 200
    with django_assert_max_num_queries(16):
        preview = reverse("kpis:weights_preview", args=[draft.pk])
        assert client.get(preview, {"granularity": "quarter"}).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(reverse("kpis:weights_activate", args=[draft.pk])).status_code == 200


def test_waterfall_and_index_page_list_indicators_by_priority(client):
    from kpis.models import IndexContribution

    active = WeightVersion.objects.get(status=WeightVersion.Status.ACTIVE)
    month = charts.shift_period(Granularity.MONTH, charts.window_start(Granularity.MONTH, 1), -1)
    snapshot = IndexSnapshot.objects.create(
        granularity=Granularity.MONTH,
        period_start=month,
        period_end=charts.shift_period(Granularity.MONTH, month, 1),
        version=active,
        value=Decimal("60"),
        coverage=Decimal("1"),
        published=True,
    )
    for key, group in (
        ("csat", "maintenance"),
        ("nps", "maintenance"),
        ("churn_rate", "retention"),
    ):
        IndexContribution.objects.create(
            snapshot=snapshot, kpi=key, group=group, weight=Decimal(1),
            normalised_score=Decimal(60), effective_share=Decimal("0.333333"),
            contribution=Decimal(20),
        )  # fmt: skip
    client.force_login(UserFactory(role="Admin"))

    waterfall = json.loads(
        client.get(reverse("kpis:waterfall_chart"), {"granularity": "month"}).content
    )
    page = client.get(reverse("kpis:index"), {"granularity": "month"})

    # Retention (1) before maintenance (2); in maintenance NPS (1) before CSAT (2), not A–Z.
    assert waterfall["labels"][1:4] == [
        "Churn rate",
        "Net Promoter Score",
        "Customer satisfaction (CSAT)",
    ]
    contributions = next(t for t in page.context["tables"] if t.slug == "contributions")
    assert [row[1].csv for row in contributions.rows] == ["churn_rate", "nps", "csat"]


def test_activate_from_now_on_scores_the_open_period_and_leaves_history(
    client, versions, django_capture_on_commit_callbacks
):
    active, draft = versions
    open_month = charts.window_start(Granularity.MONTH, 1)
    kpi("churn_rate", open_month, "0.055")
    kpi("csat", open_month, "0.81")
    from kpis.index import compute_index

    for start in (JAN, open_month):
        compute_index(granularity=Granularity.MONTH, period_start=start, version=active)
    client.force_login(UserFactory(role="Admin"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("kpis:weights_activate", args=[draft.pk]), {"mode": "from_now"}
        )

    assert response.status_code == 302
    assert "job=" not in response.url
    # Only the open month is scored under the new version (53.33 as in January's arithmetic).
    assert dict(
        IndexSnapshot.objects.filter(version=draft).values_list("period_start", "value")
    ) == {open_month: Decimal("53.33")}
    assert IndexSnapshot.objects.filter(version=active).count() == 2
    assert client.get(reverse("kpis:weights_job", args=["unknown"])).status_code == 404


def test_activation_without_a_mode_is_refused_and_changes_nothing(client, versions):
    _active, draft = versions
    client.force_login(UserFactory(role="Admin"))

    response = client.post(reverse("kpis:weights_activate", args=[draft.pk]), {"mode": ""})

    assert response.status_code == 400
    assert "restate history" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == WeightVersion.Status.DRAFT

"""The kpis admin: every page renders with bounded queries; the weight editor and alert actions."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.alerts import alert_rule_create, alerts_evaluate
from kpis.health import health_recompute
from kpis.index import compute_index, weight_version_create_draft
from kpis.models import (
    Alert,
    IndexSnapshot,
    IndicatorWeight,
    KpiRun,
    KpiSnapshot,
    WeightVersion,
)
from kpis.rfm import rfm_recompute
from kpis.targets import period_end_of, target_create
from tests.customers.factories import CustomerFactory, UserFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

QUARTERS = [dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1), dt.date(2026, 1, 1)]
MODELS = [
    "kpisnapshot",
    "kpirun",
    "weightversion",
    "indexsnapshot",
    "customersegmentsnapshot",
    "customerhealthsnapshot",
    "target",
    "alertrule",
    "alertevaluation",
    "alert",
    "indicatorweight",
    "groupweight",
    "groupscore",
    "indexcontribution",
]


def kpi_value(kpi, period_start, value, granularity="quarter"):
    KpiSnapshot.objects.create(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        period_end=period_end_of(granularity, period_start),
        value=Decimal(value),
    )


@pytest.fixture
def history():
    """Four quarters of KPIs, their index, segments, health, a target and a firing alert."""
    active = WeightVersion.objects.get(status="active")
    for quarter in QUARTERS:
        for indicator in IndicatorWeight.objects.filter(version=active):
            best = indicator.best if indicator.best is not None else indicator.target
            kpi_value(indicator.kpi, quarter, best)  # every indicator at its best: 100
        compute_index(granularity="quarter", period_start=quarter)
    KpiRun.objects.create(
        granularity="quarter", period_start=QUARTERS[-1], period_end=dt.date(2026, 4, 1)
    )
    for number in range(3):
        customer = CustomerFactory(acquired_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        OrderFactory(customer=customer, ordered_at=dt.datetime(2026, 3, number + 1, tzinfo=dt.UTC))
    as_of = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    rfm_recompute(as_of=as_of, granularity="quarter", period_start=QUARTERS[-1])
    health_recompute(as_of=as_of, granularity="quarter", period_start=QUARTERS[-1])
    target_create(
        kpi="churn_rate",
        granularity="quarter",
        period_start=QUARTERS[-1],
        kind="relative_change_pct",
        amount=-50,
    )
    alert_rule_create(
        name="Churn above 0.5 %", kpi="churn_rate", granularity="quarter", upper_threshold="0.005"
    )
    alerts_evaluate(granularity="quarter", period_start=QUARTERS[-1])
    return active


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_with_bounded_queries(
    admin_client, history, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        response = admin_client.get(reverse(f"admin:kpis_{model}_changelist"))

    assert response.status_code == 200


def test_change_pages_render(admin_client, history, django_assert_max_num_queries):
    pages = [
        ("indexsnapshot", IndexSnapshot.objects.first()),
        ("alert", Alert.objects.first()),
        ("weightversion", history),
        ("kpisnapshot", KpiSnapshot.objects.first()),
    ]
    for model, obj in pages:
        with django_assert_max_num_queries(25):
            response = admin_client.get(reverse(f"admin:kpis_{model}_change", args=[obj.pk]))
        assert response.status_code == 200, model


def test_active_version_is_read_only_and_a_draft_is_editable(admin_client, history):
    draft = weight_version_create_draft()

    active_page = admin_client.get(reverse("admin:kpis_weightversion_change", args=[history.pk]))
    draft_page = admin_client.get(reverse("admin:kpis_weightversion_change", args=[draft.pk]))

    assert 'name="indicators-0-weight"' not in active_page.content.decode()
    assert "can no longer be changed" in active_page.content.decode()
    assert 'name="indicators-0-weight"' in draft_page.content.decode()


def test_the_admin_preview_leads_to_the_weights_page(admin_client, history):
    draft = weight_version_create_draft(name="Churn-heavy")

    response = admin_client.get(reverse("admin:kpis_weightversion_preview", args=[draft.pk]))

    # The preview itself (and its arithmetic) is tests/kpis/test_weights_pages.py.
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("kpis:weights_preview", args=[draft.pk]) + "?granularity=quarter"
    )
    assert IndexSnapshot.objects.filter(version=draft).count() == 0


def test_create_draft_button_and_activate_action(admin_client, history):
    response = admin_client.post(reverse("admin:kpis_weightversion_create_draft"))
    draft = WeightVersion.objects.get(status="draft")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:kpis_weightversion_change", args=[draft.pk])

    admin_client.post(
        reverse("admin:kpis_weightversion_changelist"),
        {"action": "activate", "_selected_action": [draft.pk]},
    )

    draft.refresh_from_db()
    history.refresh_from_db()
    assert draft.status == "active"
    assert draft.activated_by is not None
    assert draft.activated_by.username == "admin"
    assert history.status == "retired"


def test_invalid_bands_are_a_form_error_not_a_crash(admin_client):
    data = {
        "name": "Bad bands",
        "notes": "",
        "min_coverage": "0.7",
        "bands": json.dumps([{"name": "red", "min": 0, "max": 40}, {"name": "g", "min": 50,
                                                                    "max": 100}]),
        "health_config": json.dumps([]),
        "health_bands": json.dumps([{"name": "all", "min": 0, "max": 100}]),
        "groups-TOTAL_FORMS": "0",
        "groups-INITIAL_FORMS": "0",
        "indicators-TOTAL_FORMS": "0",
        "indicators-INITIAL_FORMS": "0",
    }  # fmt: skip

    response = admin_client.post(reverse("admin:kpis_weightversion_add"), data)

    assert response.status_code == 200
    assert "without gaps or overlaps" in response.content.decode()
    assert not WeightVersion.objects.filter(name="Bad bands").exists()


def test_alert_actions_acknowledge_and_resolve(admin_client, history):
    alert = Alert.objects.get()
    changelist = reverse("admin:kpis_alert_changelist")

    admin_client.post(changelist, {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    assert alert.acknowledged_by is not None
    assert alert.acknowledged_by.username == "admin"

    admin_client.post(changelist, {"action": "resolve", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_target_list_shows_the_resolved_value(admin_client, history):
    response = admin_client.get(reverse("admin:kpis_target_changelist"))

    # churn at 0.01 in both quarters: 0.01 × (1 − 50 %) = 0.005
    assert "0.005" in response.content.decode()


def test_manager_works_alerts_but_cannot_edit_weights(client):
    manager = UserFactory(role="Manager", is_staff=True)
    client.force_login(manager)

    assert client.get(reverse("admin:kpis_alert_changelist")).status_code == 200
    assert client.get(reverse("admin:kpis_alertrule_add")).status_code == 200
    assert client.get(reverse("admin:kpis_target_add")).status_code == 200
    assert client.get(reverse("admin:kpis_weightversion_changelist")).status_code == 200
    assert client.get(reverse("admin:kpis_weightversion_add")).status_code == 403
    assert client.post(reverse("admin:kpis_weightversion_create_draft")).status_code == 403


def form_data(response) -> dict:
    """The POST data a browser would send back for an admin change form, unchanged."""
    data: dict = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.extend(formset.forms)
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            data[form.add_prefix(name)] = value
    return data


def test_saving_a_draft_in_the_weight_editor_changes_its_weights(admin_client):
    draft = weight_version_create_draft()
    url = reverse("admin:kpis_weightversion_change", args=[draft.pk])
    data = form_data(admin_client.get(url))
    churn_row = next(
        key.removesuffix("-kpi")
        for key, value in data.items()
        if key.startswith("indicators-") and key.endswith("-kpi") and value == "churn_rate"
    )
    data[f"{churn_row}-weight"] = "90"
    data["name"] = "More churn"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    draft.refresh_from_db()
    assert draft.name == "More churn"
    assert draft.indicators.get(kpi="churn_rate").weight == Decimal("90")


def test_the_editor_refuses_unknown_kpis_and_negative_weights(admin_client):
    draft = weight_version_create_draft()
    url = reverse("admin:kpis_weightversion_change", args=[draft.pk])
    data = form_data(admin_client.get(url))
    churn_row = next(
        key.removesuffix("-kpi")
        for key, value in data.items()
        if key.startswith("indicators-") and key.endswith("-kpi") and value == "churn_rate"
    )
    data[f"{churn_row}-kpi"] = "happiness"
    data[f"{churn_row}-weight"] = "-1"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Unknown KPI key" in content
    assert "greater than or equal to 0" in content
    assert draft.indicators.filter(kpi="happiness").count() == 0

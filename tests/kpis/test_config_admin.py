"""KPI configuration in the Django admin is read only: weight versions, targets and alert rules
show in display units (no raw JSON widget) and link to the product page that edits them; a write
through the admin is refused and changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse

from kpis.models import AlertRule, Target, WeightVersion
from kpis.services import alert_rule_create, target_create, weight_version_create_draft

pytestmark = pytest.mark.django_db

QUARTER = dt.date(2026, 1, 1)


@pytest.fixture
def draft() -> WeightVersion:
    return weight_version_create_draft(name="Retention-heavy")


@pytest.fixture
def target() -> Target:
    return target_create(
        kpi="churn_rate", granularity="quarter", period_start=QUARTER, kind="absolute", amount=0.02
    )


@pytest.fixture
def rule() -> AlertRule:
    return alert_rule_create(
        name="Churn above 3 %", kpi="churn_rate", granularity="quarter", upper_threshold="0.03"
    )


@pytest.mark.parametrize("status", ["active", "draft"])
def test_a_weight_version_page_has_no_form_field_and_links_to_the_weights_page(
    admin_client, draft, status
):
    version = draft if status == "draft" else WeightVersion.objects.get(status="active")

    html = admin_client.get(reverse("admin:kpis_weightversion_change", args=[version.pk]))
    content = html.content.decode()

    assert html.status_code == 200
    for widget in ("<textarea", 'name="bands"', 'name="health_config"', "indicators-0-weight"):
        assert widget not in content
    assert f'href="{reverse("kpis:weights_version", args=[version.pk])}"' in content
    # Default bands and health components in words and units, not JSON.
    assert "red 0–50 · yellow 50–75 · green 75–100" in content
    assert "Recency (days since the last order): weight 25, best 0 days, worst 180 days" in content
    # Churn's bounds are stored as fractions and shown as percentages (0.01 → 1 %).
    churn = version.indicators.get(kpi="churn_rate")
    assert churn.best == Decimal("0.01")
    assert '<td class="field-best_shown"> <p>1 %</p> </td>' in " ".join(content.split())
    assert "70 %" in content  # min_coverage 0.70


def test_the_admin_refuses_to_write_a_weight_version(admin_client, draft):
    url = reverse("admin:kpis_weightversion_change", args=[draft.pk])

    change = admin_client.post(url, {"name": "Renamed", "bands": "[]"})
    add = admin_client.get(reverse("admin:kpis_weightversion_add"))
    delete = admin_client.post(
        reverse("admin:kpis_weightversion_delete", args=[draft.pk]), {"post": "yes"}
    )

    assert (change.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    draft.refresh_from_db()
    assert draft.name == "Retention-heavy"
    assert draft.bands
    # Drafting and activating happen on the weights page only.
    with pytest.raises(NoReverseMatch):
        reverse("admin:kpis_weightversion_create_draft")
    changelist = admin_client.get(reverse("admin:kpis_weightversion_changelist")).content.decode()
    assert 'value="activate"' not in changelist
    assert f'href="{reverse("kpis:weights")}"' in changelist


def test_targets_are_read_in_display_units_and_edited_on_the_targets_page(admin_client, target):
    changelist = admin_client.get(reverse("admin:kpis_target_changelist")).content.decode()
    change = admin_client.get(reverse("admin:kpis_target_change", args=[target.pk]))

    # An absolute target of 0.02 reads as 2.0 %.
    assert "Churn rate" in changelist
    assert "2.0 %" in changelist
    assert f'href="{reverse("kpis:target_edit", args=[target.pk])}"' in changelist
    assert f'href="{reverse("kpis:targets")}"' in changelist
    assert change.status_code == 200
    assert 'name="amount"' not in change.content.decode()
    assert admin_client.get(reverse("admin:kpis_target_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:kpis_target_change", args=[target.pk]), {"amount": "9"}
        ).status_code
        == 403
    )
    target.refresh_from_db()
    assert target.amount == Decimal("0.02")


def test_alert_rules_are_read_in_display_units_and_edited_on_their_page(admin_client, rule):
    changelist = admin_client.get(reverse("admin:kpis_alertrule_changelist")).content.decode()
    change = admin_client.get(reverse("admin:kpis_alertrule_change", args=[rule.pk]))

    # An upper threshold of 0.03 reads as 3.0 %; the KPI by name, not a free-text key.
    assert "Churn rate" in changelist
    assert "above 3.0 %" in changelist
    assert f'href="{reverse("kpis:alert_rule_edit", args=[rule.pk])}"' in changelist
    assert f'href="{reverse("kpis:alert_rules")}"' in changelist
    content = change.content.decode()
    assert change.status_code == 200
    assert 'name="kpi"' not in content
    assert 'name="recipient_roles"' not in content
    assert admin_client.get(reverse("admin:kpis_alertrule_add")).status_code == 403
    admin_client.post(reverse("admin:kpis_alertrule_delete", args=[rule.pk]), {"post": "yes"})
    assert AlertRule.objects.filter(pk=rule.pk).exists()

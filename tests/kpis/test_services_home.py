"""The configuration's writes live in kpis.services, under their old names nowhere else, and
the pages' forms take a new alert rule's values from the model rather than restating them."""

from pathlib import Path

import pytest

from kpis import alerts, index, services, targets
from kpis.config_forms import AlertRuleForm
from kpis.models import AlertRule
from kpis.selectors import KpiScope

MOVED = {
    targets: ["target_clean", "target_create", "target_update", "target_delete"],
    alerts: [
        "alert_acknowledge",
        "alert_resolve",
        "alert_rule_clean",
        "alert_rule_create",
        "alert_rule_update",
        "alert_rule_delete",
        "alert_rules_default_install",
    ],
    index: [
        "weight_version_create_draft",
        "weight_version_update",
        "weight_version_validate",
        "weight_version_activate",
    ],
}


@pytest.mark.parametrize(("module", "names"), list(MOVED.items()))
def test_the_writes_are_services_only(module, names):
    for name in names:
        assert callable(getattr(services, name))
        assert not hasattr(module, name), f"{module.__name__}.{name} should live in services"


def test_the_weights_editor_services_are_part_of_kpis_services():
    assert not (Path(services.__file__).parent / "weight_services.py").exists()
    assert callable(services.weight_version_activate_with)


@pytest.mark.django_db
def test_a_new_rule_form_starts_from_what_the_service_stores(django_user_model):
    form = AlertRuleForm(kpi_scope=KpiScope("organisation"))
    rule = services.alert_rule_create(
        name="Churn up", kpi="churn_rate", granularity="month", upper_threshold="0.1"
    )

    for name in (
        "min_sample",
        "fire_after",
        "resolve_after",
        "notify_in_app",
        "notify_email",
        "is_active",
    ):
        assert form.fields[name].initial == getattr(rule, name), name
    assert isinstance(rule, AlertRule)

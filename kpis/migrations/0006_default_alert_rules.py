"""A fresh install watches churn against its target, NPS falls and first-response SLA attainment
(kpis.alerts.DEFAULT_ALERT_RULES), notifying managers in the app and by e-mail."""

from django.db import migrations

from kpis.alerts import DEFAULT_ALERT_RULES

MANAGER = "Manager"


def forwards(apps, schema_editor):
    AlertRule = apps.get_model("kpis", "AlertRule")
    existing = set(AlertRule.objects.values_list("name", flat=True))
    for name, kpi, fields in DEFAULT_ALERT_RULES:
        if name not in existing:
            AlertRule.objects.create(
                name=name, kpi=kpi, granularity="month", recipient_roles=[MANAGER], **fields
            )


def backwards(apps, schema_editor):
    AlertRule = apps.get_model("kpis", "AlertRule")
    AlertRule.objects.filter(
        name__in=[name for name, _kpi, _fields in DEFAULT_ALERT_RULES], created_by__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("kpis", "0005_alert_rule_conditions_and_recipients")]

    operations = [migrations.RunPython(forwards, backwards)]

"""Role permissions on the index/alert models, and the default (active) index weight version."""

from decimal import Decimal

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.utils import timezone

NEW_MODELS = [
    "weightversion",
    "indicatorweight",
    "groupweight",
    "indexsnapshot",
    "groupscore",
    "indexcontribution",
    "customersegmentsnapshot",
    "customerhealthsnapshot",
    "target",
    "alertrule",
    "alertevaluation",
    "alert",
]
# Managers set targets and alert rules and work the alerts; the weights stay an Admin decision.
MANAGER_WORK = {"target", "alertrule", "alert"}

GROUPS = [
    # (group, weight, priority)
    ("retention", "25", 1),
    ("maintenance", "20", 2),
    ("enhancement", "20", 3),
    ("acquisition", "20", 4),
    ("service", "15", 5),
]
# (kpi, group, weight, priority, direction, normalisation, best, worst, target)
# Only rates, scores and medians: values whose scale does not depend on the period length
# or the size of the business, so one row scores a month and a quarter alike.
INDICATORS = [
    ("lead_conversion_rate", "acquisition", "60", 1, "higher", "bounded_linear", "0.30", "0.05", None),
    ("marketing_roi", "acquisition", "40", 2, "higher", "bounded_linear", "3", "0", None),
    ("nps", "maintenance", "40", 1, "higher", "bounded_linear", "70", "-20", None),
    ("csat", "maintenance", "40", 2, "higher", "bounded_linear", "0.95", "0.60", None),
    ("complaint_rate", "maintenance", "20", 3, "lower", "bounded_linear", "0", "0.10", None),
    ("repeat_purchase_rate", "enhancement", "50", 1, "higher", "bounded_linear", "0.50", "0.05", None),
    ("cross_sell_rate", "enhancement", "25", 2, "higher", "bounded_linear", "0.30", "0", None),
    ("upsell_rate", "enhancement", "25", 3, "higher", "bounded_linear", "0.10", "0", None),
    ("churn_rate", "retention", "60", 1, "lower", "bounded_linear", "0.01", "0.10", None),
    ("reactivation_rate", "retention", "20", 2, "higher", "bounded_linear", "0.20", "0", None),
    ("winback_rate", "retention", "20", 3, "higher", "bounded_linear", "0.60", "0.10", None),
    ("first_response_time", "service", "30", 1, "lower", "bounded_linear", "30", "480", None),
    ("sla_first_response_attainment", "service", "30", 2, "higher", "target_ratio", None, None, "0.95"),
    ("resolution_time", "service", "20", 3, "lower", "bounded_linear", "240", "2880", None),
    ("reopen_rate", "service", "20", 4, "lower", "bounded_linear", "0.02", "0.15", None),
]


def _dec(raw):
    return None if raw is None else Decimal(raw)


def forwards(apps, schema_editor):
    app_config = apps.get_app_config("kpis")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="kpis", content_type__model__in=NEW_MODELS)
    admin, _ = Group.objects.get_or_create(name="Admin")
    admin.permissions.add(*perms)
    manager, _ = Group.objects.get_or_create(name="Manager")
    manager.permissions.add(
        *[
            perm
            for perm in perms
            if perm.codename.startswith("view_")
            or (
                perm.codename.split("_", 1)[1] in MANAGER_WORK
                and perm.codename.split("_", 1)[0] in {"add", "change"}
            )
        ]
    )

    WeightVersion = apps.get_model("kpis", "WeightVersion")
    if WeightVersion.objects.filter(status="active").exists():
        return
    now = timezone.now()
    version = WeightVersion.objects.create(
        name="Default weights",
        status="active",
        activated_at=now,
        created_at=now,
        notes="Created by migration kpis 0003; copy it into a draft to change the weights.",
    )
    GroupWeight = apps.get_model("kpis", "GroupWeight")
    IndicatorWeight = apps.get_model("kpis", "IndicatorWeight")
    GroupWeight.objects.bulk_create(
        GroupWeight(version=version, group=group, weight=Decimal(weight), priority=priority)
        for group, weight, priority in GROUPS
    )
    IndicatorWeight.objects.bulk_create(
        IndicatorWeight(
            version=version,
            kpi=kpi,
            group=group,
            weight=Decimal(weight),
            priority=priority,
            direction=direction,
            normalisation=normalisation,
            best=_dec(best),
            worst=_dec(worst),
            target=_dec(target),
        )
        for kpi, group, weight, priority, direction, normalisation, best, worst, target in INDICATORS
    )


def backwards(apps, schema_editor):
    WeightVersion = apps.get_model("kpis", "WeightVersion")
    WeightVersion.objects.filter(name="Default weights", index_snapshots__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0002_index_health_targets_alerts"),
        ("crm", "0001_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

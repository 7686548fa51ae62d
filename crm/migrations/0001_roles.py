"""Create the four role groups with their model permissions."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

VIEW = "view"
WORK = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

# (app_label, model) -> actions, per role. Admin gets every permission.
ROLE_PERMISSIONS: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {
    "Sales rep": {
        ("customers", "customer"): WORK,
        ("customers", "contact"): ALL,
        ("customers", "team"): (VIEW,),
        ("customers", "channel"): (VIEW,),
        ("customers", "segment"): (VIEW,),
        ("sales", "lead"): WORK,
        ("sales", "opportunity"): WORK,
        ("sales", "opportunitystagechange"): (VIEW,),
        ("sales", "activity"): ALL,
        ("sales", "order"): WORK,
        ("sales", "orderline"): ALL,
        ("sales", "refund"): (VIEW,),
        ("sales", "product"): (VIEW,),
        ("sales", "productline"): (VIEW,),
        ("sales", "pipelinestage"): (VIEW,),
        ("sales", "campaign"): (VIEW,),
        ("sales", "retentioncase"): WORK,
        ("support", "ticket"): (VIEW,),
        ("surveys", "surveyresponse"): (VIEW,),
    },
    "Support agent": {
        ("customers", "customer"): (VIEW,),
        ("customers", "contact"): (VIEW,),
        ("customers", "team"): (VIEW,),
        ("support", "ticket"): WORK,
        ("support", "ticketmessage"): WORK,
        ("support", "ticketstatuschange"): (VIEW,),
        ("support", "slapolicy"): (VIEW,),
        ("support", "businessschedule"): (VIEW,),
        ("support", "businesshours"): (VIEW,),
        ("support", "holiday"): (VIEW,),
        ("sales", "activity"): WORK,
        ("sales", "order"): (VIEW,),
        ("surveys", "survey"): (VIEW,),
        ("surveys", "surveyinvitation"): (VIEW,),
        ("surveys", "surveyresponse"): (VIEW,),
    },
}
MANAGER_EXTRA: dict[tuple[str, str], tuple[str, ...]] = {
    ("sales", "marketingspend"): ALL,
    ("sales", "salescost"): ALL,
    ("sales", "campaign"): ALL,
    ("sales", "refund"): WORK,
    ("customers", "team"): WORK,
    ("kpis", "kpisnapshot"): (VIEW,),
}


def manager_permissions() -> dict[tuple[str, str], tuple[str, ...]]:
    merged: dict[tuple[str, str], set[str]] = {}
    for table in (*ROLE_PERMISSIONS.values(), MANAGER_EXTRA):
        for key, actions in table.items():
            merged.setdefault(key, set()).update(actions)
    return {key: tuple(sorted(actions)) for key, actions in merged.items()}


def create_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after migrate; create them now so groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    tables = {**ROLE_PERMISSIONS, "Manager": manager_permissions()}
    for role, table in tables.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [
            (app_label, f"{action}_{model}")
            for (app_label, model), actions in table.items()
            for action in actions
        ]
        perms = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ]
        group.permissions.set(perms)
    admin, _ = Group.objects.get_or_create(name="Admin")
    admin.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=[
                "customers", "sales", "support", "surveys", "kpis", "auth", "django_celery_beat"
            ]
        )
    )


def remove_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=["Sales rep", "Support agent", "Manager", "Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0002_initial"),
        ("sales", "0001_initial"),
        ("support", "0001_initial"),
        ("surveys", "0001_initial"),
        ("kpis", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

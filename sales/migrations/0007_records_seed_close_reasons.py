"""The default reasons offered when a lead is disqualified or a deal is lost; admins edit them."""

from django.db import migrations

LEAD_DISQUALIFIED = (
    "No budget",
    "No need",
    "Not the decision maker",
    "Unreachable",
    "Competitor or spam",
    "Duplicate",
)
DEAL_LOST = (
    "Price",
    "Chose a competitor",
    "No decision",
    "Timing",
    "Missing features",
    "Went silent",
)


def seed(apps, schema_editor):
    CloseReason = apps.get_model("sales", "CloseReason")
    for kind, names in (("lead_disqualified", LEAD_DISQUALIFIED), ("deal_lost", DEAL_LOST)):
        for position, name in enumerate(names):
            CloseReason.objects.get_or_create(
                kind=kind, name=name, defaults={"position": position}
            )


def unseed(apps, schema_editor):
    CloseReason = apps.get_model("sales", "CloseReason")
    for kind, names in (("lead_disqualified", LEAD_DISQUALIFIED), ("deal_lost", DEAL_LOST)):
        CloseReason.objects.filter(kind=kind, name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0006_records_edit_stamp_close_reasons")]

    operations = [migrations.RunPython(seed, unseed)]

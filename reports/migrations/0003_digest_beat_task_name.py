"""The digest beat entry names its task by the module that holds it, reports.tasks; an existing
entry still naming the old module is pointed at it (and back on reversal)."""

from django.db import migrations
from django.utils import timezone

OLD_TASK = "kpis.report_tasks.send_due_digests"
NEW_TASK = "reports.tasks.send_due_digests"


def _rename(apps, schema_editor, source, target):
    db = schema_editor.connection.alias
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.using(db).filter(task=source).update(task=target):
        # A running beat reloads its schedule when this row's time changes (the model's save
        # signal does the same; a queryset update sends none).
        PeriodicTasks.objects.using(db).update_or_create(
            ident=1, defaults={"last_update": timezone.now()}
        )


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, OLD_TASK, NEW_TASK)


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, NEW_TASK, OLD_TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_content_types_from_kpis"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

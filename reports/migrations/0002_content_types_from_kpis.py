"""The content types of the three models move from app label kpis to reports, so what refers to
them (permissions granted to users and groups, the admin's log entries) follows the models.

On a fresh database this finds nothing: content types are created after the migrations run."""

from django.db import migrations

MODELS = ("annotation", "digestsubscription", "digestsendlog")


def _relabel(apps, schema_editor, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_types = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        moving = content_types.filter(app_label=source, model=model)
        if not moving.exists():
            continue
        # One under the target label was created by post_migrate after an earlier move back; the
        # moving one holds the grants and the history, so it is kept and the other dropped.
        content_types.filter(app_label=target, model=model).delete()
        moving.update(app_label=target)
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _relabel(apps, schema_editor, "kpis", "reports")


def backwards(apps, schema_editor):
    _relabel(apps, schema_editor, "reports", "kpis")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        # Dropping a duplicate content type deletes its permissions and empties its log entries.
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

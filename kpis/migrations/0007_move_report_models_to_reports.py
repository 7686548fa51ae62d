"""Annotation, DigestSubscription and DigestSendLog belong to the reports app (reports/models.py,
reports migration 0001). Only the migration state changes: the tables stay as they are, under
their kpis_ names, and reports takes them over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("kpis", "0006_default_alert_rules")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # The send log first: it refers to the subscription.
                migrations.DeleteModel(name="DigestSendLog"),
                migrations.DeleteModel(name="DigestSubscription"),
                migrations.DeleteModel(name="Annotation"),
            ],
            database_operations=[],
        ),
    ]

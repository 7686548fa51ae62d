"""The models reports takes over from kpis (kpis migration 0007), in the migration state only:
their tables were created by kpis migration 0004 and keep their names (`db_table`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import reports.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("customers", "0007_email_domain_index_and_trigram"),
        ("kpis", "0007_move_report_models_to_reports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DigestSubscription",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "frequency",
                            models.CharField(
                                choices=[
                                    ("daily", "Daily"),
                                    ("weekly", "Weekly"),
                                    ("monthly", "Monthly"),
                                ],
                                max_length=10,
                                verbose_name="frequency",
                            ),
                        ),
                        (
                            "kpi_keys",
                            models.JSONField(blank=True, default=list, verbose_name="KPIs"),
                        ),
                        (
                            "stages",
                            models.JSONField(blank=True, default=list, verbose_name="stages"),
                        ),
                        (
                            "include_alerts",
                            models.BooleanField(default=True, verbose_name="include alerts"),
                        ),
                        (
                            "scope",
                            models.CharField(
                                choices=[
                                    ("own", "My own figures"),
                                    ("team", "My team"),
                                    ("company", "The whole company"),
                                ],
                                max_length=10,
                                verbose_name="scope",
                            ),
                        ),
                        (
                            "language",
                            models.CharField(default="en", max_length=10, verbose_name="language"),
                        ),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        (
                            "unsubscribe_token",
                            models.CharField(
                                default=reports.models.new_unsubscribe_token,
                                max_length=64,
                                unique=True,
                                verbose_name="unsubscribe token",
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="created at"
                            ),
                        ),
                        (
                            "unsubscribed_at",
                            models.DateTimeField(
                                blank=True, null=True, verbose_name="unsubscribed at"
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="digest_subscriptions",
                                to="customers.team",
                                verbose_name="team",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="digest_subscriptions",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "digest subscription",
                        "verbose_name_plural": "digest subscriptions",
                        "db_table": "kpis_digestsubscription",
                        "ordering": ["user", "frequency", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="DigestSendLog",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "granularity",
                            models.CharField(
                                choices=[
                                    ("day", "Day"),
                                    ("week", "Week"),
                                    ("month", "Month"),
                                    ("quarter", "Quarter"),
                                    ("year", "Year"),
                                ],
                                max_length=10,
                                verbose_name="granularity",
                            ),
                        ),
                        ("period_start", models.DateField(verbose_name="period start")),
                        ("period_end", models.DateField(verbose_name="period end")),
                        ("recipient", models.EmailField(max_length=254, verbose_name="recipient")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                ],
                                default="sending",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        (
                            "kpi_keys",
                            models.JSONField(blank=True, default=list, verbose_name="KPIs sent"),
                        ),
                        (
                            "alert_count",
                            models.PositiveIntegerField(default=0, verbose_name="alerts"),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="created at"
                            ),
                        ),
                        (
                            "sent_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
                        ),
                        ("error", models.TextField(blank=True, verbose_name="error")),
                        (
                            "subscription",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="send_logs",
                                to="reports.digestsubscription",
                                verbose_name="subscription",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "digest send log",
                        "verbose_name_plural": "digest send log",
                        "db_table": "kpis_digestsendlog",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="Annotation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kpi", models.CharField(blank=True, max_length=50, verbose_name="KPI")),
                        (
                            "granularity",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("day", "Day"),
                                    ("week", "Week"),
                                    ("month", "Month"),
                                    ("quarter", "Quarter"),
                                    ("year", "Year"),
                                ],
                                max_length=10,
                                verbose_name="granularity",
                            ),
                        ),
                        ("starts_on", models.DateField(verbose_name="first day")),
                        ("ends_on", models.DateField(verbose_name="last day")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("note", "Note"),
                                    ("price_change", "Price change"),
                                    ("campaign", "Campaign"),
                                    ("outage", "Outage"),
                                ],
                                default="note",
                                max_length=20,
                                verbose_name="kind",
                            ),
                        ),
                        ("text", models.TextField(verbose_name="text")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="created at"
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="created by",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "KPI annotation",
                        "verbose_name_plural": "KPI annotations",
                        "db_table": "kpis_annotation",
                        "ordering": ["starts_on", "id"],
                        "indexes": [
                            models.Index(
                                fields=["starts_on", "ends_on"],
                                name="kpis_annota_starts__e8920d_idx",
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("ends_on__gte", models.F("starts_on"))),
                                name="annotation_days_ordered",
                            )
                        ],
                    },
                ),
                migrations.AddConstraint(
                    model_name="digestsubscription",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("scope", "team"), _negated=True),
                            ("team__isnull", False),
                            _connector="OR",
                        ),
                        name="digest_subscription_team_scope_has_team",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="digestsendlog",
                    constraint=models.UniqueConstraint(
                        fields=("subscription", "granularity", "period_start"),
                        name="digest_send_log_once_per_period",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]

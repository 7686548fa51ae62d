"""The audit trail: which records are tracked, and the sign-in events.

Every create, update and delete of the tracked models is written by a PostgreSQL trigger
(django-pghistory) into an event table per model (`audit_<model>event`), holding the row as it
was after the change (before it, for a delete) and the context of `audit.context` (source, user,
API token, import run, task). Triggers see what the ORM's signals miss: `update()`, bulk writes
and the import's COPY. The before → after of an update is the difference to the previous event
of the same record (`AuditEvent.pgh_diff`).

KPI snapshots are derived data and not tracked (the `KpiRun` log is their trail). User events
leave out the password hash and `last_login` (a sign-in is an `AuthEvent`, not a user change).
"""

from __future__ import annotations

from typing import Any

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pghistory.models import Events

from customers.models import Contact, Customer, Team
from kpis.models import AlertRule, GroupWeight, IndicatorWeight, Target, WeightVersion
from sales.models import Lead, Opportunity, Order, OrderLine
from support.models import Ticket, TicketMessage
from surveys.models import SurveyResponse

# The label of the events `audit_baseline` writes for rows older than the trail.
BASELINE = "baseline"

# The event model name for each tracked model; pghistory derives the triggers from them.
TRACKED: tuple[tuple[type[models.Model], str, dict[str, Any]], ...] = (
    (Customer, "CustomerEvent", {}),
    (Contact, "ContactEvent", {}),
    (Lead, "LeadEvent", {}),
    (Opportunity, "OpportunityEvent", {}),
    (Order, "OrderEvent", {}),
    (OrderLine, "OrderLineEvent", {}),
    (Ticket, "TicketEvent", {}),
    (TicketMessage, "TicketMessageEvent", {}),
    (SurveyResponse, "SurveyResponseEvent", {}),
    (WeightVersion, "WeightVersionEvent", {}),
    (IndicatorWeight, "IndicatorWeightEvent", {}),
    (GroupWeight, "GroupWeightEvent", {}),
    (Target, "TargetEvent", {}),
    (AlertRule, "AlertRuleEvent", {}),
    (User, "UserEvent", {"exclude": ["password", "last_login"]}),
    (Group, "GroupEvent", {}),
    # Roles and team memberships are many-to-many rows: adding a user to a group is an insert.
    (User.groups.through, "UserGroupEvent", {}),
    (User.user_permissions.through, "UserPermissionEvent", {}),
    (Group.permissions.through, "GroupPermissionEvent", {}),
    (Team, "TeamEvent", {}),
    (Team.members.through, "TeamMemberEvent", {}),
)

for tracked_model, event_name, options in TRACKED:
    pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        # The context is copied into each event row: no shared context row to upsert per write.
        context_field=pghistory.ContextJSONField(),
        # One trigger call per statement (reading its transition table), not one per row: a
        # row-level call costs a PL/pgSQL subtransaction each (pgtrigger's ignore check),
        # which made a 100,000-order import ten times slower.
        level=pgtrigger.Statement,
        model_name=event_name,
        app_label="audit",
        **options,
    )(tracked_model)


class AuditEvent(Events):
    """All tracked models' events in one list (a read-only query across the event tables)."""

    source = pghistory.ProxyField("pgh_context__source", models.CharField(max_length=16, null=True))
    user = pghistory.ProxyField(
        "pgh_context__user",
        models.ForeignKey(
            settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, related_name="+"
        ),
    )
    token = pghistory.ProxyField("pgh_context__token", models.CharField(max_length=16, null=True))
    import_run = pghistory.ProxyField(
        "pgh_context__import_run", models.CharField(max_length=200, null=True)
    )
    task = pghistory.ProxyField("pgh_context__task", models.CharField(max_length=200, null=True))

    class Meta:
        proxy = True


class AuthEvent(models.Model):
    """A sign-in, a failed sign-in or a lock-out. Written by Python, so on SQLite too."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", _("signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
        SIGN_OUT = "sign_out", _("signed out")
        LOCKED_OUT = "locked_out", _("locked out")

    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        # The event outlives the account.
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # As typed: a failed sign-in may name no existing user.
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, default="web")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username} {self.occurred_at:%Y-%m-%d %H:%M}"


class DataRightsEvent(models.Model):
    """An export or an anonymisation of one customer's data: who, when, through which door.
    Kept on SQLite too, and never pruned with the trail (the proof a request was honoured)."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("data exported")
        ANONYMISE = "anonymise", _("anonymised")

    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("action"), max_length=10, choices=Kind.choices)
    # The id only: after anonymisation nothing here may name the person.
    customer_id = models.PositiveBigIntegerField(_("customer id"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("data rights event")
        verbose_name_plural = _("data rights events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.customer_id}"

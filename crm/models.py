"""Cross-app models of the CRM shell: the in-app notification inbox, the task outbox, and the
base of records whose edit forms detect concurrent edits (crm.concurrency)."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EditStampedModel(models.Model):
    """A record whose `updated_at` moves on every save, also a save of some columns only.

    Django's `auto_now` only stamps a partial save that names the column; the services save
    partially everywhere (`update_fields=[...]`), and a status change or a refund must make an
    open edit form stale just as an edit does.
    """

    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields and "updated_at" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "updated_at"]
        super().save(*args, **kwargs)


class Notification(models.Model):
    """A message for one user: KPI alerts, assignments, due tasks … (crm.notifications)."""

    class Kind(models.TextChoices):
        ALERT = "alert", _("KPI alert")
        ASSIGNMENT = "assignment", _("Assignment")
        TASK_DUE = "task_due", _("Task due")
        SYSTEM = "system", _("System")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SYSTEM)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    # A site-relative URL of the record the notification is about.
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Set by the e-mail task; makes the task safe to retry (it never sends twice).
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class OutboxMessage(models.Model):
    """A Celery task to send, written in the transaction of the write that needs it (crm.outbox).

    Sent right after commit when the broker is up; with Redis down the row waits and the
    `crm.tasks.outbox_deliver_pending` beat task sends it once the broker is back. The tasks are
    idempotent, so a row sent twice (crash between publish and marking it sent) does no harm.
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class BulkJob(models.Model):
    """One bulk action over a selection of a list (crm.bulk): what was asked, over which rows,
    and how far it got. Each record went through its own service; a refused record keeps why."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="bulk_jobs",
    )
    # The list the selection came from (crm.bulk registry key: customers, leads, deals, tickets).
    kind = models.CharField(_("list"), max_length=30)
    action = models.CharField(_("action"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # The list's query string when the job was asked; the rows are that filter's matches …
    filter_snapshot = models.TextField(_("filter"), blank=True)
    # … or, when rows were ticked one by one, their ids (empty: every row matching the filter).
    record_ids = models.JSONField(_("selected records"), default=list, blank=True)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    # [{"record": id, "label": str, "reason": str}], the first BULK_REFUSALS_KEPT of them.
    refusals = models.JSONField(_("refusals"), default=list, blank=True)
    # The last primary key handled: a retried task resumes after it.
    cursor = models.PositiveBigIntegerField(_("cursor"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")
        constraints = [
            models.CheckConstraint(
                condition=Q(succeeded__lte=models.F("done")), name="bulkjob_succeeded_within_done"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.action} #{self.pk}"

    @property
    def refused(self) -> int:
        return self.done - self.succeeded

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class SavedView(models.Model):
    """A named filter, sort and set of visible columns of one list; shared with the owner's
    teams when `shared_with_team` is set."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    list_key = models.CharField(_("list"), max_length=30)
    name = models.CharField(_("name"), max_length=80)
    query_string = models.TextField(_("filters and sort"), blank=True)
    columns = models.JSONField(_("visible columns"), default=list, blank=True)
    shared_with_team = models.BooleanField(_("shared with my team"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_key", "name"], name="savedview_unique_name_per_list"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SavedViewDefault(models.Model):
    """The view a user's list opens with (their own or one shared with them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="saved_view_defaults",
    )
    list_key = models.CharField(_("list"), max_length=30)
    view = models.ForeignKey(
        SavedView, verbose_name=_("view"), on_delete=models.CASCADE, related_name="defaults"
    )

    class Meta:
        verbose_name = _("default view")
        verbose_name_plural = _("default views")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key"], name="savedviewdefault_one_per_list"
            )
        ]

    def __str__(self) -> str:
        return f"{self.list_key}: {self.view_id}"

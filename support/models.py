"""Tickets, their conversation and status history, SLA policies and business schedules."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import EncryptedTextField
from crm.models import EditStampedModel
from customers.models import Contact, Customer, Segment, Team


class BusinessSchedule(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Berlin",
        help_text=_("IANA name, e.g. Europe/Berlin; working intervals are wall-clock times in it."),
    )
    is_default = models.BooleanField(
        _("default schedule"),
        default=False,
        help_text=_("Used for tickets whose SLA policy names no schedule."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("business schedule")
        verbose_name_plural = _("business schedules")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_schedule"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """One working interval on one weekday (0 = Monday), in the schedule's time zone."""

    schedule = models.ForeignKey(
        BusinessSchedule,
        verbose_name=_("schedule"),
        on_delete=models.CASCADE,
        related_name="intervals",
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), help_text=_("0 = Monday … 6 = Sunday.")
    )
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"))

    class Meta:
        ordering = ["weekday", "starts_at"]
        verbose_name = _("working interval")
        verbose_name_plural = _("working intervals")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="business_hours_weekday"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="business_hours_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.starts_at}–{self.ends_at}"


class Holiday(models.Model):
    schedule = models.ForeignKey(
        BusinessSchedule,
        verbose_name=_("schedule"),
        on_delete=models.CASCADE,
        related_name="holidays",
    )
    date = models.DateField(_("date"), help_text=_("No business minutes count on this day."))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [
            models.UniqueConstraint(fields=["schedule", "date"], name="holiday_unique_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class SLAPolicy(models.Model):
    """Targets in business minutes for tickets matching its conditions; lowest position wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(
        _("position"),
        default=0,
        help_text=_("The first active policy that matches a ticket applies."),
    )
    priority = models.CharField(
        _("priority condition"),
        max_length=10,
        choices=Priority.choices,
        blank=True,
        help_text=_("Empty matches any priority."),
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team condition"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment condition"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
    )
    schedule = models.ForeignKey(
        BusinessSchedule,
        verbose_name=_("schedule"),
        on_delete=models.PROTECT,
        related_name="sla_policies",
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response target (min)"), help_text=_("In business minutes of the schedule.")
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response target (min)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution target (min)"), help_text=_("In business minutes of the schedule.")
    )
    pause_on_pending = models.BooleanField(
        _("pause while pending or on hold"),
        default=True,
        help_text=_(
            "Stop the resolution clock while the ticket waits for the customer or is on hold."
        ),
    )
    warning_minutes = models.PositiveIntegerField(
        _("warn before breach (min)"),
        default=60,
        help_text=_("Escalate as 'breaching soon' this many minutes before the due time."),
    )
    escalate_raise_priority = models.BooleanField(_("raise priority on breach"), default=False)
    escalate_reassign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reassign on breach to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0) & Q(resolution_minutes__gt=0),
                name="sla_targets_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(EditStampedModel):
    class Category(models.TextChoices):
        QUESTION = "question", _("Question")
        PROBLEM = "problem", _("Problem")
        INCIDENT = "incident", _("Incident")
        REQUEST = "request", _("Request")
        COMPLAINT = "complaint", _("Complaint")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEB = "web", _("Web")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        ON_HOLD = "on_hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    # The status machine as data (checked by support.services.ticket_status_change).
    TRANSITIONS: dict[str, frozenset[str]] = {
        "new": frozenset({"open", "pending", "on_hold", "solved", "closed"}),
        "open": frozenset({"pending", "on_hold", "solved", "closed"}),
        "pending": frozenset({"open", "on_hold", "solved", "closed"}),
        # Waiting on a third party (not the customer): pauses the clock when the policy says so.
        "on_hold": frozenset({"open", "pending", "solved", "closed"}),
        "solved": frozenset({"open", "closed"}),
        "closed": frozenset(),
    }

    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    subject = models.CharField(_("subject"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.QUESTION
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    opened_by_agent = models.BooleanField(_("opened by an agent"), default=False)
    is_spam = models.BooleanField(_("spam"), default=False)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_duplicates",
    )
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    # Kept by the ticket services on every message and status change; read-only in the admin.
    sla_policy = models.ForeignKey(
        SLAPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    first_solved_at = models.DateTimeField(_("first solved at"), null=True, blank=True)
    last_solved_at = models.DateTimeField(_("last solved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("reopened"), default=0)
    public_agent_replies = models.PositiveIntegerField(_("public agent replies"), default=0)
    first_response_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_calendar_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_calendar_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # Due time of the agent's next reply after a customer message (policy next_response_minutes).
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    sla_first_response_met = models.BooleanField(null=True, blank=True)
    sla_resolution_met = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["first_response_at"]),
            models.Index(fields=["last_solved_at"]),
            models.Index(fields=["status", "team"]),
            models.Index(fields=["assignee", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=F("id")),
                name="ticket_not_merged_into_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def counts_in_kpis(self) -> bool:
        return not self.is_spam and self.merged_into_id is None


class TicketMessage(models.Model):
    class AuthorKind(models.TextChoices):
        AGENT = "agent", _("Agent")
        CUSTOMER = "customer", _("Customer")
        SYSTEM = "system", _("System")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="messages"
    )
    author_kind = models.CharField(_("author"), max_length=10, choices=AuthorKind.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_messages",
    )
    is_public = models.BooleanField(
        _("public reply"), default=True, help_text=_("Unticked: an internal note.")
    )
    automated = models.BooleanField(_("automated"), default=False)
    body = EncryptedTextField(_("body"))  # encrypted at rest, never searched
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, null=True, blank=True
    )
    email_message_id = models.CharField(_("e-mail Message-ID"), max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        indexes = [
            models.Index(fields=["ticket", "created_at"]),
            models.Index(fields=["email_message_id"]),
        ]
        constraints = [
            # Customers write public messages only; internal notes are for staff.
            models.CheckConstraint(
                condition=~Q(author_kind="customer") | Q(is_public=True),
                name="customer_messages_are_public",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_author_kind_display()} on #{self.ticket_id}"


class TicketStatusChange(models.Model):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("from"), max_length=10, choices=Ticket.Status.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=Ticket.Status.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [models.Index(fields=["ticket", "changed_at"])]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.from_status} → {self.to_status}"


class SLAEscalation(models.Model):
    """A record that a ticket's SLA clock was escalated (warning or breach) — notified once."""

    class Clock(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class Level(models.TextChoices):
        WARNING = "warning", _("Breaching soon")
        BREACHED = "breached", _("Breached")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="escalations"
    )
    clock = models.CharField(_("clock"), max_length=20, choices=Clock.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    due_at = models.DateTimeField(_("due at"))
    notified_at = models.DateTimeField(_("notified at"), default=timezone.now)
    notified_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("notified"), blank=True, related_name="+"
    )
    action = models.CharField(_("action taken"), max_length=100, blank=True)

    class Meta:
        ordering = ["-notified_at", "id"]
        verbose_name = _("SLA escalation")
        verbose_name_plural = _("SLA escalations")
        constraints = [
            # First response and resolution are escalated once per level; the next-response
            # clock restarts with every unanswered customer message, so once per due time.
            models.UniqueConstraint(
                fields=["ticket", "clock", "level"],
                condition=~Q(clock="next_response"),
                name="sla_escalation_once_per_clock",
            ),
            models.UniqueConstraint(
                fields=["ticket", "clock", "level", "due_at"],
                condition=Q(clock="next_response"),
                name="sla_escalation_once_per_next_response_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.clock} {self.level}"


class CannedResponse(models.Model):
    """A reusable reply; placeholders {customer_name}, {ticket_number}, {agent_name} only."""

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("body"))
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")

    def __str__(self) -> str:
        return self.name


class AgentAvailability(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="support_availability",
    )
    is_available = models.BooleanField(_("available for assignment"), default=True)
    last_assigned_at = models.DateTimeField(_("last auto-assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent availability")
        verbose_name_plural = _("agent availability")

    def __str__(self) -> str:
        return f"{self.user_id}: {'available' if self.is_available else 'away'}"

"""Admin for tickets, SLA policies and business schedules.

The clock fields and counters are read-only. Creating a ticket, replying, routing and changing
status go through support.services; the forms run the services' own checks in clean(), so the
admin shows the same refusal messages as the rest of the product.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from support.business_hours import working_intervals_check
from support.models import (
    AgentAvailability,
    BusinessHours,
    BusinessSchedule,
    CannedResponse,
    Holiday,
    SLAEscalation,
    SLAPolicy,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)
from support.services import (
    canned_response_check,
    ticket_assign,
    ticket_assign_check,
    ticket_create,
    ticket_mark_spam,
    ticket_message_add,
    ticket_message_check,
    ticket_reply_send,
    ticket_sla_refresh,
    ticket_status_change,
    ticket_status_change_check,
    ticket_update,
)

TICKET_DERIVED_FIELDS = (
    "sla_policy",
    "first_response_at",
    "first_response_due_at",
    "first_response_business_minutes",
    "first_response_calendar_minutes",
    "sla_first_response_met",
    "resolution_due_at",
    "first_solved_at",
    "last_solved_at",
    "closed_at",
    "resolution_business_minutes",
    "resolution_calendar_minutes",
    "sla_resolution_met",
    "reopen_count",
    "public_agent_replies",
    "is_spam",
    "merged_into",
    "follow_up_of",
)
TICKET_DESCRIPTIVE_FIELDS = ("subject", "category", "channel", "priority", "contact")


# --- business schedules ---------------------------------------------------------------------


class BusinessScheduleForm(ModelForm):
    class Meta:
        model = BusinessSchedule
        fields = ("name", "time_zone", "is_default")

    def clean_time_zone(self) -> str:
        value: str = self.cleaned_data["time_zone"]
        if value not in available_timezones():
            raise ValidationError(_("Unknown time zone “%s” (use e.g. Europe/Berlin).") % value)
        return value


class BusinessHoursInlineFormSet(BaseInlineFormSet):
    """Refuses overlapping intervals on one weekday across the whole inline (kept rows only)."""

    def clean(self) -> None:
        super().clean()
        rows = [
            form.cleaned_data
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]
        working_intervals_check(
            (row["weekday"], row["starts_at"], row["ends_at"])
            for row in rows
            if row.get("weekday") is not None and row.get("starts_at") and row.get("ends_at")
        )


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    formset = BusinessHoursInlineFormSet
    extra = 0
    fields = ("weekday", "starts_at", "ends_at")


class BusinessHoursForm(ModelForm):
    """The stand-alone interval page checks against the schedule's other intervals."""

    class Meta:
        model = BusinessHours
        fields = ("schedule", "weekday", "starts_at", "ends_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        schedule = cleaned.get("schedule")
        if schedule is not None and cleaned.get("starts_at") and cleaned.get("ends_at"):
            others = BusinessHours.objects.filter(schedule=schedule).exclude(pk=self.instance.pk)
            working_intervals_check(
                [
                    *others.values_list("weekday", "starts_at", "ends_at"),
                    (cleaned.get("weekday", 0), cleaned["starts_at"], cleaned["ends_at"]),
                ]
            )
        return cleaned


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name")


@admin.register(BusinessSchedule)
class BusinessScheduleAdmin(admin.ModelAdmin):
    form = BusinessScheduleForm
    list_display = ("name", "time_zone", "is_default")
    list_filter = ("is_default", "time_zone")
    search_fields = ("name",)
    inlines = (BusinessHoursInline, HolidayInline)


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    form = BusinessHoursForm
    list_display = ("schedule", "weekday", "starts_at", "ends_at")
    list_filter = ("schedule", "weekday")
    search_fields = ("schedule__name",)
    list_select_related = ("schedule",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "schedule")
    list_filter = ("schedule",)
    search_fields = ("name", "schedule__name")
    list_select_related = ("schedule",)
    date_hierarchy = "date"


# --- SLA policies ---------------------------------------------------------------------------


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "position",
        "priority",
        "team",
        "segment",
        "schedule",
        "first_response_minutes",
        "resolution_minutes",
        "pause_on_pending",
        "warning_minutes",
        "escalate_raise_priority",
        "escalate_reassign_to",
        "is_active",
    )
    list_filter = ("is_active", "priority", "pause_on_pending", "team", "segment", "schedule")
    search_fields = ("name",)
    list_select_related = ("team", "segment", "schedule", "escalate_reassign_to")
    autocomplete_fields = ("escalate_reassign_to",)
    ordering = ("position", "id")


@admin.register(SLAEscalation)
class SLAEscalationAdmin(admin.ModelAdmin):
    """The escalation log: written by the beat task only."""

    list_display = ("ticket", "clock", "level", "due_at", "notified_at", "action")
    list_filter = ("clock", "level")
    search_fields = ("=ticket__id", "ticket__subject")
    list_select_related = ("ticket",)
    date_hierarchy = "notified_at"
    readonly_fields = (
        "ticket",
        "clock",
        "level",
        "due_at",
        "notified_at",
        "notified_users",
        "action",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- canned responses and availability -----------------------------------------------------


class CannedResponseForm(ModelForm):
    class Meta:
        model = CannedResponse
        fields = ("name", "team", "body", "is_active")
        help_texts = {
            "body": _("Placeholders: {customer_name}, {ticket_number}, {agent_name}."),
        }

    def clean_body(self) -> str:
        body: str = self.cleaned_data.get("body", "")
        try:
            canned_response_check(body=body)
        except ValidationError as exc:  # field-keyed by the service; the form names the field
            raise ValidationError(exc.messages) from exc
        return body


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    form = CannedResponseForm
    list_display = ("name", "team", "is_active")
    list_filter = ("is_active", "team")
    search_fields = ("name", "body")
    list_select_related = ("team",)


@admin.register(AgentAvailability)
class AgentAvailabilityAdmin(admin.ModelAdmin):
    list_display = ("user", "is_available", "last_assigned_at")
    list_filter = ("is_available",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("last_assigned_at",)


# --- tickets --------------------------------------------------------------------------------


class TicketMessageInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if self.instance.pk is None:
            return
        # The parent form already holds the submitted status; the rules apply to the stored one,
        # since new replies are saved before a requested status change.
        stored = Ticket.objects.get(pk=self.instance.pk)
        for form in self.extra_forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not form.has_changed():
                continue
            try:
                ticket_message_check(
                    ticket=stored,
                    author_kind=TicketMessage.AuthorKind.AGENT,
                    body=data.get("body", ""),
                    is_public=data.get("is_public", True),
                )
            except ValidationError as refusal:
                form.add_error(None, refusal)


class TicketMessageInline(admin.StackedInline):
    """The conversation; existing messages are history, new ones are agent replies or notes."""

    model = TicketMessage
    formset = TicketMessageInlineFormSet
    extra = 1
    fields = ("author_kind", "author_user", "created_at", "automated", "is_public", "body")
    readonly_fields = ("author_kind", "author_user", "created_at", "automated")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketMessage]:
        return super().get_queryset(request).select_related("author_user")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketStatusChangeInline(admin.TabularInline):
    model = TicketStatusChange
    extra = 0
    fields = ("from_status", "to_status", "changed_at", "changed_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketStatusChange]:
        return super().get_queryset(request).select_related("changed_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketAdminForm(ModelForm):
    body = forms.CharField(
        label=_("First message"),
        widget=forms.Textarea,
        required=False,
        help_text=_("Becomes the ticket's first message (the agent's, when opened by an agent)."),
    )

    class Meta:
        model = Ticket
        # The admin narrows these per page (get_fields); derived fields are never editable.
        fields = (
            "customer",
            "contact",
            "subject",
            "category",
            "channel",
            "priority",
            "status",
            "team",
            "assignee",
            "opened_by_agent",
            "external_id",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ticket = self.instance
        customer = cleaned.get("customer") if ticket.pk is None else ticket.customer
        contact = cleaned.get("contact")
        if contact is not None and customer is not None and contact.customer_id != customer.pk:
            self.add_error("contact", _("The contact belongs to another customer."))
        if ticket.pk is None:
            return cleaned
        # self.instance still holds the stored values here (the form copies them in _post_clean).
        if "status" in self.changed_data and "status" in cleaned:
            self._run_check(ticket_status_change_check, ticket=ticket, to_status=cleaned["status"])
        if {"team", "assignee"} & set(self.changed_data):
            if ticket.team_id is not None and cleaned.get("team") is None:
                self.add_error(
                    "team", _("A routed ticket cannot leave every team; choose another team.")
                )
            self._run_check(ticket_assign_check, ticket=ticket, assignee=cleaned.get("assignee"))
        return cleaned

    def _run_check(self, check: Any, **kwargs: Any) -> None:
        try:
            check(**kwargs)
        except ValidationError as refusal:
            self.add_error(None, refusal)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = (
        "id",
        "subject",
        "customer",
        "status",
        "priority",
        "category",
        "channel",
        "team",
        "assignee",
        "created_at",
        "first_response_due_at",
        "resolution_due_at",
        "sla_first_response_met",
        "sla_resolution_met",
    )
    list_display_links = ("id", "subject")
    list_filter = (
        "status",
        "priority",
        "category",
        "channel",
        "team",
        "is_spam",
        "opened_by_agent",
        "sla_first_response_met",
        "sla_resolution_met",
    )
    search_fields = ("=id", "subject", "customer__name", "external_id")
    list_select_related = ("customer", "team", "assignee")
    autocomplete_fields = ("customer", "contact", "assignee")
    date_hierarchy = "created_at"
    actions = ("mark_spam", "refresh_sla")

    def get_fields(  # type: ignore[override]
        self, request: HttpRequest, obj: Ticket | None = None
    ) -> list[str]:
        common = ["customer", "contact", "subject", "category", "channel", "priority"]
        routing = ["team", "assignee"]
        if obj is None:
            return [*common, *routing, "opened_by_agent", "body", "external_id"]
        return [
            *common,
            "status",
            *routing,
            "opened_by_agent",
            "created_at",
            "external_id",
            *TICKET_DERIVED_FIELDS,
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        if obj is None:
            return []
        return ["customer", "opened_by_agent", "created_at", "external_id", *TICKET_DERIVED_FIELDS]

    def get_inlines(self, request: HttpRequest, obj: Ticket | None) -> list[type[Any]]:
        # On the add page the first message is the "body" field, handled by ticket_create.
        return [] if obj is None else [TicketMessageInline, TicketStatusChangeInline]

    def save_model(self, request: HttpRequest, obj: Ticket, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = ticket_create(
                customer=data["customer"],
                subject=data["subject"],
                body=data.get("body", ""),
                category=data["category"],
                channel=data["channel"],
                priority=data["priority"],
                team=data.get("team"),
                assignee=data.get("assignee"),
                contact=data.get("contact"),
                opened_by_agent=data.get("opened_by_agent", False),
                author=request.user,  # type: ignore[arg-type]
                external_id=data.get("external_id") or None,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        descriptive = {
            name: data[name] for name in form.changed_data if name in TICKET_DESCRIPTIVE_FIELDS
        }
        if descriptive:
            ticket_update(ticket=obj, actor=request.user, **descriptive)  # type: ignore[arg-type]
        if {"team", "assignee"} & set(form.changed_data):
            ticket_assign(
                ticket=obj,
                assignee=data.get("assignee"),
                team=data.get("team"),
                actor=request.user,  # type: ignore[arg-type]
            )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        if formset.model is not TicketMessage:
            formset.save()
            return
        for message_form in formset.extra_forms:
            data = getattr(message_form, "cleaned_data", None)
            if not data or data.get("DELETE") or not message_form.has_changed():
                continue
            if data.get("is_public", True):
                # A public reply is e-mailed to the customer like one from the ticket page.
                ticket_reply_send(
                    ticket=form.instance,
                    body=data["body"],
                    author_user=request.user,  # type: ignore[arg-type]
                )
            else:
                ticket_message_add(
                    ticket=form.instance,
                    body=data["body"],
                    author_kind=TicketMessage.AuthorKind.AGENT,
                    author_user=request.user,  # type: ignore[arg-type]
                    is_public=False,
                )
        # The inline formset expects these after save(); nothing else was saved through it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # After the replies: an agent reply may already have moved a new ticket to open.
        if change and "status" in form.changed_data:
            ticket = Ticket.objects.get(pk=form.instance.pk)
            to_status = form.cleaned_data["status"]
            if ticket.status != to_status:
                ticket_status_change(
                    ticket=ticket,
                    to_status=to_status,
                    actor=request.user,  # type: ignore[arg-type]
                )

    @admin.action(description=_("Mark selected tickets as spam"))
    def mark_spam(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        done = 0
        for ticket in queryset.filter(is_spam=False):
            ticket_mark_spam(ticket=ticket, actor=request.user)  # type: ignore[arg-type]
            done += 1
        self.message_user(
            request,
            ngettext("%d ticket marked as spam.", "%d tickets marked as spam.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Recompute SLA policy and due times"))
    def refresh_sla(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        count = 0
        for ticket in queryset:
            ticket_sla_refresh(ticket=ticket)
            count += 1
        self.message_user(request, _("SLA recomputed for %d tickets.") % count, messages.SUCCESS)


@admin.register(TicketMessage)
class TicketMessageAdmin(admin.ModelAdmin):
    """Read-only history; replies are written from the ticket page so the rules apply."""

    list_display = ("ticket", "author_kind", "author_user", "is_public", "automated", "created_at")
    list_filter = ("author_kind", "is_public", "automated")
    search_fields = ("ticket__subject", "=ticket__id")  # bodies are encrypted
    list_select_related = ("ticket", "author_user")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TicketStatusChange)
class TicketStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("ticket", "from_status", "to_status", "changed_at", "changed_by")
    list_filter = ("from_status", "to_status")
    search_fields = ("=ticket__id", "ticket__subject")
    list_select_related = ("ticket", "changed_by")
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

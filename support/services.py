"""Ticket writes: creation, conversation, status machine, assignment, spam, merge and SLA clocks.

Every function locks the ticket row (`select_for_update`), refuses bad input with a
`ValidationError` before writing anything, and recomputes the SLA clock fields from stored
timestamps (`ticket_sla_refresh`) so due times never depend on when the code happens to run.

Interpretation of the rules (the docs and KPIs rely on these):
- Status machine: `Ticket.TRANSITIONS` is the only table of allowed moves; it is checked by
  `ticket_status_change_check`, used by the services and by the admin form.
- Agent-opened tickets start `new` like any other; the agent's opening message is not a reply.
- An agent's public, non-automated reply moves a `new` ticket to `open`; on other statuses the
  status is left alone (the agent sets pending/solved explicitly). No agent or system message is
  accepted on a closed ticket ("ticket is closed").
- A customer message on a pending or solved ticket reopens it (`open`); leaving `solved` counts
  as a reopen (`reopen_count` + 1). On a closed ticket it never reopens: a new follow-up ticket
  (`follow_up_of`) is created with the message as its first message.
- First response = first public, non-automated agent message after the clock started. The clock
  starts at creation, or — for a ticket opened by an agent — at the first customer message.
- Closing a ticket that was never solved (new/open/pending → closed) also counts as its
  resolution, so every finished ticket appears in the resolution KPIs; spam and merged
  duplicates are closed without a resolution (they never count anyway).
- Resolution minutes run from creation to the last solve and include pending time (catalogue);
  the resolution *due time* is pushed back by the business time spent pending or on hold when
  the policy pauses (`pause_on_pending`). While such a ticket is pending or on hold its
  resolution clock is stopped: `resolution_due_at` is empty until it leaves those statuses.
  A customer message does not take a ticket off hold (it waits on a third party).
- Next response: once the first response was given, a customer message that is not yet
  answered starts the next-response clock: `next_response_due_at` = the earliest unanswered
  customer message + the policy's `next_response_minutes` in business time (no target → no
  clock). The agent's next public, non-automated reply clears it. It is not paused by pending
  or on hold (the customer is waiting for an answer), and stops when the ticket is solved or
  closed.
- SLA met flags compare instants (`first_response_at <= first_response_due_at`), so a reply a
  few seconds late is late even though the rounded minutes equal the target.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attachments.services import move_attachments
from audit.context import actor_context
from crm.concurrency import edit_conflict_check
from crm.models import Notification
from crm.notifications import NotificationDraft, notification_create, notifications_send
from crm.outbox import task_send_on_commit
from customers.models import Contact, Customer, Team
from support.business_hours import (
    ScheduleWithoutHours,
    Span,
    WorkingCalendar,
    calendar_minutes_between,
)
from support.models import (
    AgentAvailability,
    BusinessSchedule,
    CannedResponse,
    Priority,
    SLAEscalation,
    SLAPolicy,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = Ticket.Status
AuthorKind = TicketMessage.AuthorKind

# Queued by name: support.tasks imports these services, so importing it here would close an
# import cycle. SupportConfig.ready registers it in every process that publishes from the outbox.
TICKET_REPLY_EMAIL_TASK = "support.tasks.ticket_reply_email_send_task"

# Fields every service may rewrite after recomputing the clocks.
CLOCK_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "resolution_due_at",
    "next_response_due_at",
    "first_response_business_minutes",
    "first_response_calendar_minutes",
    "resolution_business_minutes",
    "resolution_calendar_minutes",
    "sla_first_response_met",
    "sla_resolution_met",
]


# --- checks shared by the services and the admin ---------------------------------------------


def ticket_status_change_check(*, ticket: Ticket, to_status: str) -> None:
    """Refuse a move that `Ticket.TRANSITIONS` does not allow (the single status-machine check)."""
    if to_status not in Status.values:
        raise ValidationError({"status": _("Unknown ticket status “%s”.") % to_status})
    if to_status == ticket.status:
        raise ValidationError({"status": _("The ticket is already %s.") % Status(to_status).label})
    if to_status not in Ticket.TRANSITIONS[ticket.status]:
        if ticket.status == Status.CLOSED:
            raise ValidationError({"status": _("The ticket is closed and cannot change status.")})
        raise ValidationError(
            {
                "status": _("A ticket cannot go from %(from)s to %(to)s.")
                % {"from": Status(ticket.status).label, "to": Status(to_status).label}
            }
        )


def ticket_message_check(*, ticket: Ticket, author_kind: str, body: str, is_public: bool) -> None:
    """Refuse a message the conversation rules do not allow (closed ticket, empty body …)."""
    errors: dict[str, str] = {}
    if author_kind not in AuthorKind.values:
        errors["author_kind"] = _("Unknown message author “%s”.") % author_kind
    if not body or not body.strip():
        errors["body"] = _("A message needs a body.")
    if author_kind == AuthorKind.CUSTOMER and not is_public:
        errors["is_public"] = _("Customer messages are always public.")
    if errors:
        raise ValidationError(errors)
    if ticket.status == Status.CLOSED and author_kind != AuthorKind.CUSTOMER:
        raise ValidationError(_("The ticket is closed."))


def ticket_assign_check(*, ticket: Ticket, assignee: User | None) -> None:
    """Refuse routing a closed ticket or assigning it to an inactive user."""
    if ticket.status == Status.CLOSED:
        raise ValidationError(_("The ticket is closed."))
    if assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": _("An inactive user cannot be assigned tickets.")})


# --- SLA policy and clocks -------------------------------------------------------------------


def sla_policy_for(ticket: Ticket) -> SLAPolicy | None:
    """First active policy (by position) whose non-empty conditions all match the ticket."""
    segment_id = Customer.objects.filter(pk=ticket.customer_id).values("segment_id")
    return (
        SLAPolicy.objects.filter(is_active=True)
        .filter(Q(priority="") | Q(priority=ticket.priority))
        .filter(Q(team__isnull=True) | Q(team_id=ticket.team_id))
        .filter(Q(segment__isnull=True) | Q(segment_id__in=segment_id))
        .select_related("schedule")
        .prefetch_related("schedule__intervals", "schedule__holidays")
        .order_by("position", "id")
        .first()
    )


class _Clock:
    """Business time of a schedule, or plain elapsed time when there is no usable schedule."""

    def __init__(self, calendar: WorkingCalendar | None) -> None:
        self.calendar = calendar if calendar is not None and calendar.has_hours else None

    def minutes_between(self, start: dt.datetime, end: dt.datetime) -> int:
        if self.calendar is None:
            return calendar_minutes_between(start, end)
        return self.calendar.minutes_between(start, end)

    def add_minutes(
        self, start: dt.datetime, minutes: int, pauses: list[Span] | None = None
    ) -> dt.datetime | None:
        if self.calendar is None:
            # 24/7: each paused span that begins before the running due time pushes it back.
            due = start + dt.timedelta(minutes=minutes)
            for pause_start, pause_end in sorted(pauses or []):
                if pause_start < due:
                    due += pause_end - max(pause_start, start)
            return due
        try:
            return self.calendar.add_minutes(start, minutes, pauses or [])
        except ScheduleWithoutHours:
            return None


def _clock_for(policy: SLAPolicy | None) -> _Clock:
    schedule = policy.schedule if policy is not None else None
    if schedule is None:
        schedule = (
            BusinessSchedule.objects.filter(is_default=True)
            .prefetch_related("intervals", "holidays")
            .first()
        )
    return _Clock(WorkingCalendar.for_schedule(schedule) if schedule is not None else None)


# Statuses that stop the resolution clock when the policy pauses (`pause_on_pending`).
PAUSED_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD})


def _paused_spans(ticket: Ticket) -> tuple[list[Span], bool]:
    """Spans the ticket spent pending or on hold (pending → on hold is one span), and whether
    it is paused right now (span still open)."""
    spans: list[Span] = []
    paused_since: dt.datetime | None = None
    for change in ticket.status_changes.order_by("changed_at", "id"):
        if change.to_status in PAUSED_STATUSES and paused_since is None:
            paused_since = change.changed_at
        elif change.to_status not in PAUSED_STATUSES and paused_since is not None:
            spans.append((paused_since, change.changed_at))
            paused_since = None
    return spans, ticket.status in PAUSED_STATUSES


def _unanswered_customer_message_at(ticket: Ticket) -> dt.datetime | None:
    """Time of the earliest customer message after the last public agent reply, once the
    first response was given (None: nothing awaits an answer)."""
    if ticket.first_response_at is None:
        return None
    last_reply = (
        ticket.messages.filter(author_kind=AuthorKind.AGENT, is_public=True, automated=False)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return (
        ticket.messages.filter(
            author_kind=AuthorKind.CUSTOMER,
            created_at__gte=ticket.first_response_at,
            created_at__gt=Subquery(last_reply),
        )
        .order_by("created_at", "id")
        .values_list("created_at", flat=True)
        .first()
    )


def _first_response_clock_start(ticket: Ticket) -> dt.datetime | None:
    if not ticket.opened_by_agent:
        return ticket.created_at
    first_customer_message = (
        ticket.messages.filter(author_kind=AuthorKind.CUSTOMER)
        .order_by("created_at", "id")
        .values_list("created_at", flat=True)
        .first()
    )
    return first_customer_message


def _refresh_clocks(ticket: Ticket) -> None:
    """Recompute every derived SLA field of a (locked) ticket from its stored timestamps."""
    policy = sla_policy_for(ticket)
    clock = _clock_for(policy)
    ticket.sla_policy = policy

    response_start = _first_response_clock_start(ticket)
    ticket.first_response_due_at = (
        clock.add_minutes(response_start, policy.first_response_minutes)
        if policy is not None and response_start is not None
        else None
    )
    if ticket.first_response_at is not None and response_start is not None:
        ticket.first_response_business_minutes = clock.minutes_between(
            response_start, ticket.first_response_at
        )
        ticket.first_response_calendar_minutes = calendar_minutes_between(
            response_start, ticket.first_response_at
        )
        ticket.sla_first_response_met = (
            ticket.first_response_at <= ticket.first_response_due_at
            if ticket.first_response_due_at is not None
            else None
        )
    else:
        ticket.first_response_business_minutes = None
        ticket.first_response_calendar_minutes = None
        ticket.sla_first_response_met = None

    if policy is None:
        ticket.resolution_due_at = None
    else:
        pauses: list[Span] = []
        paused_now = False
        if policy.pause_on_pending:
            pauses, paused_now = _paused_spans(ticket)
        ticket.resolution_due_at = (
            None
            if paused_now
            else clock.add_minutes(ticket.created_at, policy.resolution_minutes, pauses)
        )
    ticket.next_response_due_at = None
    if (
        policy is not None
        and policy.next_response_minutes
        and ticket.status not in (Status.SOLVED, Status.CLOSED)
    ):
        waiting_since = _unanswered_customer_message_at(ticket)
        if waiting_since is not None:
            ticket.next_response_due_at = clock.add_minutes(
                waiting_since, policy.next_response_minutes
            )
    if ticket.last_solved_at is not None:
        ticket.resolution_business_minutes = clock.minutes_between(
            ticket.created_at, ticket.last_solved_at
        )
        ticket.resolution_calendar_minutes = calendar_minutes_between(
            ticket.created_at, ticket.last_solved_at
        )
        ticket.sla_resolution_met = (
            ticket.last_solved_at <= ticket.resolution_due_at
            if ticket.resolution_due_at is not None
            else None
        )
    else:
        ticket.resolution_business_minutes = None
        ticket.resolution_calendar_minutes = None
        ticket.sla_resolution_met = None


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)


@transaction.atomic
def ticket_sla_refresh(*, ticket: Ticket) -> Ticket:
    """Recompute the SLA policy, due times and clock minutes (e.g. after a policy was edited)."""
    ticket = _locked(ticket)
    _refresh_clocks(ticket)
    ticket.save(update_fields=CLOCK_FIELDS)
    return ticket


# --- internal writers (no rule checks: callers checked already) ------------------------------


def _when(at: dt.datetime | None, ticket: Ticket | None = None) -> dt.datetime:
    moment = at if at is not None else timezone.now()
    if timezone.is_naive(moment):
        raise ValidationError({"at": _("The time must include a time zone.")})
    if ticket is not None and moment < ticket.created_at:
        raise ValidationError({"at": _("The time is before the ticket was created.")})
    return moment


def _apply_status(
    ticket: Ticket,
    to_status: str,
    *,
    actor: User | None,
    at: dt.datetime,
    resolves: bool = True,
) -> list[str]:
    """Move a locked ticket to `to_status`, record the change; returns the fields written."""
    from_status = ticket.status
    ticket.status = to_status
    changed = ["status"]
    if to_status == Status.SOLVED or (
        to_status == Status.CLOSED and from_status != Status.SOLVED and resolves
    ):
        if ticket.first_solved_at is None:
            ticket.first_solved_at = at
        ticket.last_solved_at = at
        changed += ["first_solved_at", "last_solved_at"]
    if from_status == Status.SOLVED and to_status == Status.OPEN:
        ticket.reopen_count += 1
        changed.append("reopen_count")
    if to_status == Status.CLOSED:
        ticket.closed_at = at
        changed.append("closed_at")
    TicketStatusChange.objects.create(
        ticket=ticket,
        from_status=from_status,
        to_status=to_status,
        changed_at=at,
        changed_by=actor,
    )
    return changed


def _ticket_create(
    *,
    customer: Customer,
    subject: str,
    body: str,
    category: str,
    channel: str,
    priority: str,
    team: Team | None,
    assignee: User | None,
    contact: Contact | None,
    opened_by_agent: bool,
    author: User | None,
    created_at: dt.datetime | None,
    external_id: str | None,
    follow_up_of: Ticket | None = None,
    email_message_id: str = "",
) -> Ticket:
    errors: dict[str, str] = {}
    if not subject or not subject.strip():
        errors["subject"] = _("A ticket needs a subject.")
    if category not in Ticket.Category.values:
        errors["category"] = _("Unknown ticket category “%s”.") % category
    if channel not in Ticket.Channel.values:
        errors["channel"] = _("Unknown ticket channel “%s”.") % channel
    if priority not in Priority.values:
        errors["priority"] = _("Unknown ticket priority “%s”.") % priority
    if contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = _("The contact belongs to another customer.")
    if external_id and Ticket.objects.filter(external_id=external_id).exists():
        errors["external_id"] = _("A ticket with this external id already exists.")
    if errors:
        raise ValidationError(errors)
    at = _when(created_at)
    ticket = Ticket.objects.create(
        customer=customer,
        subject=subject.strip(),
        category=category,
        channel=channel,
        priority=priority,
        team=team,
        assignee=assignee,
        contact=contact,
        opened_by_agent=opened_by_agent,
        created_at=at,
        external_id=external_id or None,
        follow_up_of=follow_up_of,
    )
    if body and body.strip():
        TicketMessage.objects.create(
            ticket=ticket,
            author_kind=AuthorKind.AGENT if opened_by_agent else AuthorKind.CUSTOMER,
            author_user=author if opened_by_agent else None,
            body=body,
            created_at=at,
            email_message_id=email_message_id[:255],
        )
    _refresh_clocks(ticket)
    ticket.save(update_fields=CLOCK_FIELDS)
    return ticket


# --- the public services ---------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    customer: Customer,
    subject: str,
    body: str = "",
    category: str = "question",
    channel: str = "email",
    priority: str = "normal",
    team: Team | None = None,
    assignee: User | None = None,
    contact: Contact | None = None,
    opened_by_agent: bool = False,
    author: User | None = None,
    created_at: dt.datetime | None = None,
    external_id: str | None = None,
    email_message_id: str = "",
) -> Ticket:
    """Open a ticket; the body becomes its first message (the agent's, when opened by one).

    The ticket starts `new`. An agent's opening message is not a reply: it does not count in
    `public_agent_replies` nor as a first response. `email_message_id` is the Message-ID of the
    e-mail that opened it (inbound threading).
    """
    return _ticket_create(
        customer=customer,
        subject=subject,
        body=body,
        category=category,
        channel=channel,
        priority=priority,
        team=team,
        assignee=assignee,
        contact=contact,
        opened_by_agent=opened_by_agent,
        author=author,
        created_at=created_at,
        external_id=external_id,
        email_message_id=email_message_id,
    )


@transaction.atomic
def ticket_message_add(
    *,
    ticket: Ticket,
    body: str,
    author_kind: str,
    author_user: User | None = None,
    is_public: bool = True,
    automated: bool = False,
    at: dt.datetime | None = None,
    email_message_id: str = "",
) -> TicketMessage:
    """Add a message and apply its effect on status and clocks (see the module docstring).

    A customer message on a closed ticket returns the first message of the new follow-up
    ticket (its `.ticket` is the follow-up, whose `follow_up_of` is the closed ticket). A
    customer message on a merged duplicate is added to the ticket it was merged into.
    """
    ticket = _locked(ticket)
    # A customer writing to a merged duplicate continues the conversation it was merged into.
    hops = 0
    while author_kind == AuthorKind.CUSTOMER and ticket.merged_into_id is not None and hops < 10:
        ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.merged_into_id)
        hops += 1
    ticket_message_check(ticket=ticket, author_kind=author_kind, body=body, is_public=is_public)
    moment = _when(at, ticket)

    if author_kind == AuthorKind.CUSTOMER and ticket.status == Status.CLOSED:
        follow_up = _ticket_create(
            customer=ticket.customer,
            subject=ticket.subject,
            body=body,
            category=ticket.category,
            channel=ticket.channel,
            priority=ticket.priority,
            team=ticket.team,
            assignee=ticket.assignee,
            contact=ticket.contact,
            opened_by_agent=False,
            author=None,
            created_at=moment,
            external_id=None,
            follow_up_of=ticket,
            email_message_id=email_message_id,
        )
        return follow_up.messages.get()

    message = TicketMessage.objects.create(
        ticket=ticket,
        author_kind=author_kind,
        author_user=author_user,
        is_public=is_public,
        automated=automated,
        body=body,
        created_at=moment,
        email_message_id=email_message_id[:255],
    )
    changed: list[str] = []
    if author_kind == AuthorKind.CUSTOMER:
        if ticket.status in (Status.PENDING, Status.SOLVED):
            changed += _apply_status(ticket, Status.OPEN, actor=None, at=moment)
    elif author_kind == AuthorKind.AGENT and is_public and not automated:
        ticket.public_agent_replies += 1
        changed.append("public_agent_replies")
        clock_started = not ticket.opened_by_agent or (
            ticket.messages.filter(author_kind=AuthorKind.CUSTOMER, created_at__lte=moment)
            .exclude(pk=message.pk)
            .exists()
        )
        if ticket.first_response_at is None and clock_started:
            ticket.first_response_at = moment
            changed.append("first_response_at")
        if ticket.status == Status.NEW:
            changed += _apply_status(ticket, Status.OPEN, actor=author_user, at=moment)
    _refresh_clocks(ticket)
    ticket.save(update_fields=[*changed, *CLOCK_FIELDS])
    return message


@actor_context
@transaction.atomic
def ticket_status_change(
    *,
    ticket: Ticket,
    to_status: str,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Move the ticket along `Ticket.TRANSITIONS`; solving stamps first/last solved times."""
    ticket = _locked(ticket)
    ticket_status_change_check(ticket=ticket, to_status=to_status)
    moment = _when(at, ticket)
    changed = _apply_status(ticket, to_status, actor=actor, at=moment)
    _refresh_clocks(ticket)
    ticket.save(update_fields=[*changed, *CLOCK_FIELDS])
    return ticket


@actor_context
@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    assignee: User | None = None,
    team: Team | None = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
    notify_assignee: bool = False,
) -> Ticket:
    """Route the ticket: `assignee` is set as given (None = unassigned, back to the queue);
    `team` None keeps the current team. The SLA policy is re-evaluated (it may depend on team).

    `notify_assignee`: a person routing by hand (web, API) tells a new assignee other than
    themselves; imports, escalation and auto-assignment notify in their own way or not at all.
    """
    ticket = _locked(ticket)
    ticket_assign_check(ticket=ticket, assignee=assignee)
    _when(at, ticket)
    previous_assignee_id = ticket.assignee_id
    ticket.assignee = assignee  # type: ignore[assignment]
    if team is not None:
        ticket.team = team
    _refresh_clocks(ticket)
    ticket.save(update_fields=["assignee", "team", *CLOCK_FIELDS])
    actor_id = actor.pk if actor is not None else None
    if (
        notify_assignee
        and assignee is not None
        and assignee.pk
        not in (
            previous_assignee_id,
            actor_id,
        )
    ):
        notification_create(
            user=assignee,
            kind="assignment",
            title=_("Ticket #%(number)s was assigned to you") % {"number": ticket.pk},
            body=ticket.subject,
            link=ticket_link(ticket),
        )
    return ticket


@actor_context
@transaction.atomic
def ticket_update(
    *, ticket: Ticket, actor: User | None = None, seen_version: str | None = None, **fields: Any
) -> Ticket:
    """Edit the descriptive fields (subject, category, channel, priority, contact, team) and
    re-derive the SLA clocks, since the policy may depend on priority and team. The assignee
    moves by ticket_assign. `seen_version` (crm.concurrency) refuses the edit when the ticket
    changed since the form was opened.
    """
    editable = {"subject", "category", "channel", "priority", "contact", "team"}
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            _("These fields cannot be edited here: %s.") % ", ".join(sorted(unknown))
        )
    ticket = _locked(ticket)
    edit_conflict_check(ticket, seen_version)
    errors: dict[str, str] = {}
    if "subject" in fields and not str(fields["subject"] or "").strip():
        errors["subject"] = _("A ticket needs a subject.")
    if "category" in fields and fields["category"] not in Ticket.Category.values:
        errors["category"] = _("Unknown ticket category “%s”.") % fields["category"]
    if "channel" in fields and fields["channel"] not in Ticket.Channel.values:
        errors["channel"] = _("Unknown ticket channel “%s”.") % fields["channel"]
    if "priority" in fields and fields["priority"] not in Priority.values:
        errors["priority"] = _("Unknown ticket priority “%s”.") % fields["priority"]
    contact = fields.get("contact")
    if contact is not None and contact.customer_id != ticket.customer_id:
        errors["contact"] = _("The contact belongs to another customer.")
    if errors:
        raise ValidationError(errors)
    for name, value in fields.items():
        setattr(ticket, name, value)
    _refresh_clocks(ticket)
    ticket.save(update_fields=[*fields, *CLOCK_FIELDS])
    return ticket


@actor_context
@transaction.atomic
def ticket_mark_spam(
    *, ticket: Ticket, actor: User | None = None, at: dt.datetime | None = None
) -> Ticket:
    """Flag as spam and close without a resolution (at `at`, default now); spam never counts."""
    ticket = _locked(ticket)
    if ticket.is_spam:
        raise ValidationError(_("The ticket is already marked as spam."))
    moment = _when(at, ticket) if at is not None else max(timezone.now(), ticket.created_at)
    ticket.is_spam = True
    changed = ["is_spam"]
    if ticket.status != Status.CLOSED:
        changed += _apply_status(
            ticket,
            Status.CLOSED,
            actor=actor,
            at=moment,
            resolves=False,
        )
    _refresh_clocks(ticket)
    ticket.save(update_fields=[*changed, *CLOCK_FIELDS])
    return ticket


# Fields whose surviving value the agent picks when merging tickets; status, clocks and the
# messages are worked out, not picked.
TICKET_MERGE_FIELDS = ("subject", "category", "priority", "contact", "assignee", "team")


@actor_context
@transaction.atomic
def ticket_merge(
    *,
    duplicate: Ticket,
    into: Ticket,
    take_from_duplicate: Iterable[str] = (),
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Close `duplicate` as merged into `into` (same customer) and note it on both; returns
    `into`. The duplicate's messages stay on it: moving them would rewrite `into`'s clocks.
    `into` takes the duplicate's value of each field named in `take_from_duplicate`
    (TICKET_MERGE_FIELDS), its SLA clocks re-derived as on an edit.
    `at` (default now, never before either ticket was created) dates the notes and the close.
    """
    if duplicate.pk == into.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    chosen = set(take_from_duplicate)
    unknown = sorted(chosen - set(TICKET_MERGE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be taken over in a merge.") for name in unknown}
        )
    # Lock in primary-key order so two opposite merges cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=[duplicate.pk, into.pk])
        .order_by("pk")
    }
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if duplicate.merged_into_id is not None:
        raise ValidationError(_("This ticket was already merged into another ticket."))
    if into.merged_into_id is not None:
        raise ValidationError(
            {
                "into": _("The target ticket was itself merged; merge into #%s instead.")
                % into.merged_into_id
            }
        )
    if into.status == Status.CLOSED:
        raise ValidationError({"into": _("A ticket cannot be merged into a closed ticket.")})
    if duplicate.customer_id != into.customer_id:
        raise ValidationError({"into": _("Only tickets of the same customer can be merged.")})
    moment = at if at is not None else timezone.now()
    if timezone.is_naive(moment):
        raise ValidationError({"at": _("The time must include a time zone.")})
    moment = max(moment, into.created_at, duplicate.created_at)
    taken = [name for name in TICKET_MERGE_FIELDS if name in chosen]
    if "assignee" in chosen:
        ticket_assign_check(ticket=into, assignee=duplicate.assignee)
    for name in taken:
        setattr(into, name, getattr(duplicate, name))
    if taken:
        _refresh_clocks(into)
        into.save(update_fields=[*taken, *CLOCK_FIELDS])
    TicketMessage.objects.bulk_create(
        [
            TicketMessage(
                ticket=into,
                author_kind=AuthorKind.SYSTEM,
                author_user=actor,
                is_public=False,
                automated=True,
                body=_("Ticket #%(dup)s (%(subject)s) was merged into this ticket.")
                % {"dup": duplicate.pk, "subject": duplicate.subject},
                created_at=moment,
            ),
            TicketMessage(
                ticket=duplicate,
                author_kind=AuthorKind.SYSTEM,
                author_user=actor,
                is_public=False,
                automated=True,
                body=_("Merged into ticket #%s.") % into.pk,
                created_at=moment,
            ),
        ]
    )
    # The duplicate's files go to the survivor, where the agent works from now on.
    move_attachments(source=duplicate, target=into)
    duplicate.merged_into = into
    changed = ["merged_into"]
    if duplicate.status != Status.CLOSED:
        changed += _apply_status(duplicate, Status.CLOSED, actor=actor, at=moment, resolves=False)
    _refresh_clocks(duplicate)
    duplicate.save(update_fields=[*changed, *CLOCK_FIELDS])
    return into


# --- e-mail out ------------------------------------------------------------------------------


@transaction.atomic
def ticket_reply_send(
    *,
    ticket: Ticket,
    body: str,
    author_user: User,
    at: dt.datetime | None = None,
    email: bool = True,
) -> TicketMessage:
    """An agent's public reply: added like any message, then — after commit, so a rolled-back
    reply never reaches the customer — e-mailed with threading headers by a Celery task.

    Views and the API call this (not `ticket_message_add`) for a public agent reply.
    """
    message = ticket_message_add(
        ticket=ticket, body=body, author_kind=AuthorKind.AGENT, author_user=author_user, at=at
    )
    if email:
        # An outbox row in this transaction: with Redis down the e-mail waits, it is not lost.
        task_send_on_commit(TICKET_REPLY_EMAIL_TASK, message_id=message.pk)
    return message


def ticket_link(ticket: Ticket) -> str:
    """Site-relative URL of the ticket page."""
    return reverse("support:ticket_detail", kwargs={"pk": ticket.pk})


# --- SLA escalation --------------------------------------------------------------------------

_OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
NEXT_RESPONSE_CLOCK = SLAEscalation.Clock.NEXT_RESPONSE
NEXT_RESPONSE_LABEL = gettext_lazy("Next response")
_PRIORITY_UP = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
}


@dataclass(frozen=True)
class _DueClock:
    ticket: Ticket
    clock: str
    level: str
    due_at: dt.datetime


def _clock_candidates(moment: dt.datetime) -> list[_DueClock]:
    """Running clocks (first response unanswered, resolution unsolved, a customer message
    awaiting the next response) that are breached or inside their policy's warning window and
    have not been escalated at that level yet. One query per clock: the per-policy warning
    windows are OR-ed into the filter, breached and warning in the same query."""
    windows = list(SLAPolicy.objects.values_list("pk", "warning_minutes"))
    found: list[_DueClock] = []
    clocks = (
        (SLAEscalation.Clock.FIRST_RESPONSE, "first_response_due_at", Q(first_response_at=None)),
        (SLAEscalation.Clock.RESOLUTION, "resolution_due_at", Q()),
        # Once per level and cycle: each unanswered customer message sets a new due time.
        (NEXT_RESPONSE_CLOCK, "next_response_due_at", Q()),
    )
    for clock, due_field, running in clocks:
        breached = Q(**{f"{due_field}__lte": moment})
        warning = Q(pk__in=[])
        for policy_id, minutes in windows:
            warning |= Q(
                sla_policy_id=policy_id,
                **{
                    f"{due_field}__gt": moment,
                    f"{due_field}__lte": moment + dt.timedelta(minutes=minutes),
                },
            )
        same_cycle = Q(due_at=OuterRef(due_field)) if clock == NEXT_RESPONSE_CLOCK else Q()
        escalated = {
            level: Exists(
                SLAEscalation.objects.filter(
                    same_cycle, ticket=OuterRef("pk"), clock=clock, level=level
                )
            )
            for level in SLAEscalation.Level.values
        }
        tickets = (
            Ticket.objects.filter(
                running,
                (breached & ~escalated[SLAEscalation.Level.BREACHED])
                | (warning & ~escalated[SLAEscalation.Level.WARNING]),
                status__in=_OPEN_STATUSES,
                is_spam=False,
                merged_into__isnull=True,
                sla_policy__isnull=False,
            )
            .select_related("team", "sla_policy", "assignee", "team__manager")
            .order_by(due_field, "id")
        )
        for ticket in tickets[:ESCALATIONS_PER_RUN]:
            due_at = getattr(ticket, due_field)
            level = (
                SLAEscalation.Level.BREACHED if due_at <= moment else SLAEscalation.Level.WARNING
            )
            found.append(_DueClock(ticket=ticket, clock=clock, level=level, due_at=due_at))
    return found


ESCALATIONS_PER_RUN = 500


def _escalation_recipients(ticket: Ticket) -> list[User]:
    users = [ticket.assignee, ticket.team.manager if ticket.team is not None else None]
    unique = {user.pk: user for user in users if user is not None and user.is_active}
    return list(unique.values())


def _clock_label(clock: str) -> str:
    if clock == NEXT_RESPONSE_CLOCK:
        return str(NEXT_RESPONSE_LABEL)
    return str(SLAEscalation.Clock(clock).label)


def _escalation_text(item: _DueClock) -> tuple[str, str]:
    clock = _clock_label(item.clock)
    if item.level == SLAEscalation.Level.BREACHED:
        title = _("SLA breached: %(clock)s on ticket #%(number)s") % {
            "clock": clock,
            "number": item.ticket.pk,
        }
    else:
        title = _("SLA breaching soon: %(clock)s on ticket #%(number)s") % {
            "clock": clock,
            "number": item.ticket.pk,
        }
    body = _("%(subject)s — due %(due)s.") % {
        "subject": item.ticket.subject,
        "due": timezone.localtime(item.due_at).strftime("%Y-%m-%d %H:%M %Z"),
    }
    return title, body


def _breach_actions(item: _DueClock, moment: dt.datetime) -> str:
    """Policy actions on a breach: raise priority one step and/or reassign. Returns a summary."""
    policy = item.ticket.sla_policy
    if policy is None or item.level != SLAEscalation.Level.BREACHED:
        return ""
    done: list[str] = []
    ticket = item.ticket
    if policy.escalate_raise_priority and ticket.priority in _PRIORITY_UP:
        ticket = ticket_update(ticket=ticket, priority=_PRIORITY_UP[Priority(ticket.priority)])
        done.append(f"priority→{ticket.priority}")
    target = policy.escalate_reassign_to
    if target is not None and target.is_active and ticket.assignee_id != target.pk:
        ticket = ticket_assign(ticket=ticket, assignee=target, at=moment)
        done.append(f"assignee→{target.pk}")
    return ", ".join(done)


@transaction.atomic
def sla_escalations_run(*, at: dt.datetime | None = None) -> list[SLAEscalation]:
    """Escalate every clock that is breached or about to breach, once per clock and level.

    For each: an SLAEscalation row (unique per ticket, clock and level — the database makes the
    "once" hold even if two runs overlap: the later run fails and writes nothing), a
    notification to the assignee and the team manager (e-mailed after commit), and on a breach
    the policy's actions (raise priority one step, reassign). A clock already breached when
    first seen is escalated as breached only (no late "breaching soon").
    """
    moment = _when(at)
    candidates = _clock_candidates(moment)
    breached_keys = {
        (c.ticket.pk, c.clock) for c in candidates if c.level == SLAEscalation.Level.BREACHED
    }
    candidates = [
        c
        for c in candidates
        if c.level == SLAEscalation.Level.BREACHED or (c.ticket.pk, c.clock) not in breached_keys
    ]
    if not candidates:
        return []
    # Who was responsible when the clock ran out, before any reassignment below …
    recipients = {id(c): _escalation_recipients(c.ticket) for c in candidates}
    actions = {id(c): _breach_actions(c, moment) for c in candidates}
    # … plus whoever the policy handed the ticket to.
    for c in candidates:
        target = c.ticket.sla_policy.escalate_reassign_to if c.ticket.sla_policy else None
        if actions[id(c)] and target is not None and target.is_active:
            if all(user.pk != target.pk for user in recipients[id(c)]):
                recipients[id(c)].append(target)
    escalations = SLAEscalation.objects.bulk_create(
        SLAEscalation(
            ticket=c.ticket,
            clock=c.clock,
            level=c.level,
            due_at=c.due_at,
            notified_at=moment,
            action=actions[id(c)][:100],
        )
        for c in candidates
    )
    through = SLAEscalation.notified_users.through
    through.objects.bulk_create(
        through(slaescalation_id=escalation.pk, user_id=user.pk)
        for escalation, c in zip(escalations, candidates, strict=True)
        for user in recipients[id(c)]
    )
    drafts: list[NotificationDraft] = []
    for c in candidates:
        title, body = _escalation_text(c)
        link = ticket_link(c.ticket)
        drafts.extend(
            NotificationDraft(
                user=user, kind=Notification.Kind.ALERT, title=title, body=body, link=link
            )
            for user in recipients[id(c)]
        )
    if drafts:
        notifications_send(drafts=drafts)
    logger.info("SLA escalation: %d clocks escalated", len(escalations))
    return escalations


# --- automatic closing -----------------------------------------------------------------------


def tickets_auto_close(*, at: dt.datetime | None = None, days: int | None = None) -> int:
    """Close tickets solved at least `days` ago (default settings.SUPPORT_AUTOCLOSE_DAYS; 0 = off).

    Each ticket is closed through ticket_status_change in its own transaction, so one bad row
    cannot block the rest; a ticket reopened meanwhile is skipped by the status check.
    """
    moment = _when(at)
    days = int(getattr(settings, "SUPPORT_AUTOCLOSE_DAYS", 7)) if days is None else days
    if days <= 0:
        return 0
    due = Ticket.objects.filter(
        status=Status.SOLVED, last_solved_at__lte=moment - dt.timedelta(days=days)
    ).order_by("last_solved_at", "id")
    closed = 0
    for ticket in due[:AUTO_CLOSE_PER_RUN]:
        try:
            ticket_status_change(ticket=ticket, to_status=Status.CLOSED, at=moment)
        except ValidationError as exc:  # reopened or closed since the query
            logger.info("auto-close skipped ticket %s: %s", ticket.pk, exc)
            continue
        closed += 1
    return closed


AUTO_CLOSE_PER_RUN = 1000


# --- assignment ------------------------------------------------------------------------------


class AssignmentStrategy:
    ROUND_ROBIN = "round_robin"
    LEAST_OPEN = "least_open"
    ALL = (ROUND_ROBIN, LEAST_OPEN)


def team_available_agents(*, team: Team) -> QuerySet[User]:
    """Active members of the team not marked away (no availability row = available)."""
    away = AgentAvailability.objects.filter(user=OuterRef("pk"), is_available=False)
    return (
        get_user_model().objects.filter(teams=team, is_active=True).exclude(Exists(away)).distinct()
    )


@actor_context
@transaction.atomic
def ticket_auto_assign(
    *,
    ticket: Ticket,
    strategy: str = AssignmentStrategy.ROUND_ROBIN,
    team: Team | None = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Assign to one of the team's available agents.

    round_robin: the agent auto-assigned longest ago (never first, then by id).
    least_open: the agent with the fewest new/open/pending tickets (ties: longest ago).
    The team row is locked so two simultaneous assignments do not pick the same "next" agent.
    """
    if strategy not in AssignmentStrategy.ALL:
        raise ValidationError({"strategy": _("Unknown assignment strategy “%s”.") % strategy})
    team_id = team.pk if team is not None else ticket.team_id
    if team_id is None:
        raise ValidationError({"team": _("The ticket has no team to assign from.")})
    locked_team = Team.objects.select_for_update().get(pk=team_id)
    moment = _when(at)
    last_assigned = AgentAvailability.objects.filter(user=OuterRef("pk")).values(
        "last_assigned_at"
    )[:1]
    agents = team_available_agents(team=locked_team).annotate(last_assigned=Subquery(last_assigned))
    if strategy == AssignmentStrategy.LEAST_OPEN:
        agents = agents.annotate(
            open_tickets=Count(
                "assigned_tickets",
                filter=Q(assigned_tickets__status__in=_OPEN_STATUSES),
                distinct=True,
            )
        ).order_by("open_tickets", F("last_assigned").asc(nulls_first=True), "id")
    else:
        agents = agents.order_by(F("last_assigned").asc(nulls_first=True), "id")
    agent = agents.first()
    if agent is None:
        raise ValidationError({"team": _("No agent of team %s is available.") % locked_team.name})
    AgentAvailability.objects.update_or_create(user=agent, defaults={"last_assigned_at": moment})
    return ticket_assign(ticket=ticket, assignee=agent, team=locked_team, actor=actor, at=at)


@transaction.atomic
def agent_availability_set(*, user: User, is_available: bool) -> AgentAvailability:
    availability, _created = AgentAvailability.objects.update_or_create(
        user=user, defaults={"is_available": is_available}
    )
    return availability


# --- canned responses ------------------------------------------------------------------------

CANNED_PLACEHOLDERS = ("customer_name", "ticket_number", "agent_name")
_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")


def canned_response_check(*, body: str) -> None:
    """Refuse an empty body or a placeholder other than the three known ones."""
    if not body or not body.strip():
        raise ValidationError({"body": _("A canned response needs a body.")})
    unknown = sorted(
        {name for name in _PLACEHOLDER.findall(body) if name} - set(CANNED_PLACEHOLDERS)
    )
    if unknown:
        raise ValidationError(
            {
                "body": _("Unknown placeholder(s): %(names)s. Allowed: %(allowed)s.")
                % {
                    "names": ", ".join(f"{{{name}}}" for name in unknown),
                    "allowed": ", ".join(f"{{{name}}}" for name in CANNED_PLACEHOLDERS),
                }
            }
        )


def canned_response_render(
    *, canned: CannedResponse, ticket: Ticket, agent: User | None = None
) -> str:
    """The body with the three placeholders filled in. Plain substitution, not a template
    engine and not str.format: no attribute access, no code, unknown braces left as written."""
    values = {
        "customer_name": ticket.contact.first_name
        if ticket.contact is not None and ticket.contact.first_name
        else ticket.customer.name,
        "ticket_number": f"#{ticket.pk}",
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent is not None else "",
    }
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), canned.body)

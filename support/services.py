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
  the resolution *due time* is pushed back by time spent pending when the policy pauses on
  pending. While such a ticket is pending its resolution clock is stopped: `resolution_due_at`
  is empty until it leaves pending.
- SLA met flags compare instants (`first_response_at <= first_response_due_at`), so a reply a
  few seconds late is late even though the rounded minutes equal the target.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Customer, Team
from support.business_hours import (
    ScheduleWithoutHours,
    Span,
    WorkingCalendar,
    calendar_minutes_between,
)
from support.models import (
    BusinessSchedule,
    Priority,
    SLAPolicy,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = Ticket.Status
AuthorKind = TicketMessage.AuthorKind

# Fields every service may rewrite after recomputing the clocks.
CLOCK_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "resolution_due_at",
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


def _pending_spans(ticket: Ticket) -> tuple[list[Span], bool]:
    """Spans the ticket spent pending, and whether it is pending right now (span still open)."""
    spans: list[Span] = []
    pending_since: dt.datetime | None = None
    for change in ticket.status_changes.order_by("changed_at", "id"):
        if change.to_status == Status.PENDING and pending_since is None:
            pending_since = change.changed_at
        elif change.from_status == Status.PENDING and pending_since is not None:
            spans.append((pending_since, change.changed_at))
            pending_since = None
    return spans, ticket.status == Status.PENDING


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
            pauses, paused_now = _pending_spans(ticket)
        ticket.resolution_due_at = (
            None
            if paused_now
            else clock.add_minutes(ticket.created_at, policy.resolution_minutes, pauses)
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
) -> Ticket:
    """Open a ticket; the body becomes its first message (the agent's, when opened by one).

    The ticket starts `new`. An agent's opening message is not a reply: it does not count in
    `public_agent_replies` nor as a first response.
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


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    assignee: User | None = None,
    team: Team | None = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Route the ticket: `assignee` is set as given (None = unassigned, back to the queue);
    `team` None keeps the current team. The SLA policy is re-evaluated (it may depend on team).
    """
    ticket = _locked(ticket)
    ticket_assign_check(ticket=ticket, assignee=assignee)
    _when(at, ticket)
    ticket.assignee = assignee  # type: ignore[assignment]
    if team is not None:
        ticket.team = team
    _refresh_clocks(ticket)
    ticket.save(update_fields=["assignee", "team", *CLOCK_FIELDS])
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor: User | None = None, **fields: Any) -> Ticket:
    """Edit the descriptive fields (subject, category, channel, priority, contact) and re-derive
    the SLA clocks, since the policy may depend on priority.
    """
    editable = {"subject", "category", "channel", "priority", "contact"}
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            _("These fields cannot be edited here: %s.") % ", ".join(sorted(unknown))
        )
    ticket = _locked(ticket)
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


@transaction.atomic
def ticket_merge(
    *,
    duplicate: Ticket,
    into: Ticket,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Close `duplicate` as merged into `into` (same customer) and note it on both; returns
    `into`. The duplicate's messages stay on it: moving them would rewrite `into`'s clocks.
    `at` (default now, never before either ticket was created) dates the notes and the close.
    """
    if duplicate.pk == into.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
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
    duplicate.merged_into = into
    changed = ["merged_into"]
    if duplicate.status != Status.CLOSED:
        changed += _apply_status(duplicate, Status.CLOSED, actor=actor, at=moment, resolves=False)
    _refresh_clocks(duplicate)
    duplicate.save(update_fields=[*changed, *CLOCK_FIELDS])
    return into

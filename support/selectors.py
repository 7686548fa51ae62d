"""Reads of tickets; every view and API endpoint starts from tickets_visible_to(user)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.roles import MANAGER, SALES_REP, is_admin, user_roles
from customers.models import Customer
from customers.selectors import customers_visible_q, teams_of
from support.models import CannedResponse, SLAPolicy, Ticket


def tickets_visible_q(user: AbstractBaseUser | AnonymousUser) -> Q | None:
    """The visibility rule as a Q on Ticket; None means everything (admin)."""
    if is_admin(user):
        return None
    if not user.is_authenticated:
        return Q(pk__in=[])
    # Every role: tickets assigned to them and tickets routed to a team they belong to or manage.
    rule = Q(assignee=user) | Q(team__in=teams_of(user))
    if user_roles(user) & {SALES_REP, MANAGER}:
        # Reps and managers also follow their own customers' tickets (read-only for reps).
        customer_rule = customers_visible_q(user)
        if customer_rule is not None:
            rule |= Q(customer__in=Customer.objects.filter(customer_rule).values("pk"))
    return rule


def tickets_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Ticket]:
    """Tickets the user may see.

    Admin (or superuser): all. Support agent: tickets of their teams or assigned to them.
    Manager and sales rep: the same, plus tickets of the customers they can see (owned or of
    their teams). Anonymous users: none. One query when evaluated (the rules are subqueries).
    """
    rule = tickets_visible_q(user)
    tickets = Ticket.objects.all()
    return tickets if rule is None else tickets.filter(rule)


class SLAState:
    BREACHED = "breached"
    BREACHING_SOON = "breaching_soon"
    ON_TRACK = "on_track"
    NONE = ""  # no running clock (finished, paused, or no policy)
    CHOICES = (
        (BREACHED, _("Breached")),
        (BREACHING_SOON, _("Breaching soon")),
        (ON_TRACK, _("On track")),
    )


# On hold counts as running: its resolution clock is paused (due time empty) only when the
# policy says so; a next-response clock keeps running.
_RUNNING = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.ON_HOLD)


def _warning_windows() -> list[tuple[int, int]]:
    return list(SLAPolicy.objects.values_list("pk", "warning_minutes"))


def _running_clock_q(
    moment: dt.datetime, *, breached: bool, windows: list[tuple[int, int]] | None = None
) -> Q:
    """A running clock (unanswered first response, unfinished resolution, unanswered customer
    message) that is past its due time (breached=True) or inside its policy's warning window
    (breached=False)."""
    rule = Q(pk__in=[])
    for due_field, running in (
        ("first_response_due_at", Q(first_response_at__isnull=True)),
        ("resolution_due_at", Q()),
        ("next_response_due_at", Q()),
    ):
        if breached:
            rule |= running & Q(**{f"{due_field}__lte": moment})
            continue
        for policy_id, minutes in windows if windows is not None else _warning_windows():
            rule |= running & Q(
                sla_policy_id=policy_id,
                **{
                    f"{due_field}__gt": moment,
                    f"{due_field}__lte": moment + dt.timedelta(minutes=minutes),
                },
            )
    return Q(status__in=_RUNNING) & rule


def sla_state_q(
    state: str, *, at: dt.datetime | None = None, windows: list[tuple[int, int]] | None = None
) -> Q:
    """Tickets in one queue SLA state at `at` (default now); breached wins over breaching soon."""
    moment = at or timezone.now()
    breached = _running_clock_q(moment, breached=True)
    if state == SLAState.BREACHED:
        return breached
    soon = _running_clock_q(moment, breached=False, windows=windows) & ~breached
    if state == SLAState.BREACHING_SOON:
        return soon
    running = Q(status__in=_RUNNING) & (
        Q(first_response_at__isnull=True, first_response_due_at__isnull=False)
        | Q(resolution_due_at__isnull=False)
        | Q(next_response_due_at__isnull=False)
    )
    return running & ~breached & ~soon


def tickets_with_sla_state(
    queryset: QuerySet[Ticket], *, at: dt.datetime | None = None
) -> QuerySet[Ticket]:
    """Annotate `sla_state` ("breached", "breaching_soon", "on_track" or "") for the queue, in
    the same single query (one extra query reads the policies' warning windows)."""
    moment = at or timezone.now()
    windows = _warning_windows()
    return queryset.annotate(
        sla_state=Case(
            When(sla_state_q(SLAState.BREACHED, at=moment), then=Value(SLAState.BREACHED)),
            When(
                sla_state_q(SLAState.BREACHING_SOON, at=moment, windows=windows),
                then=Value(SLAState.BREACHING_SOON),
            ),
            When(
                sla_state_q(SLAState.ON_TRACK, at=moment, windows=windows),
                then=Value(SLAState.ON_TRACK),
            ),
            default=Value(SLAState.NONE),
            output_field=CharField(),
        )
    )


def canned_responses_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[CannedResponse]:
    """Active canned responses shared with everyone or with one of the user's teams."""
    if not user.is_authenticated:
        return CannedResponse.objects.none()
    responses = CannedResponse.objects.filter(is_active=True)
    if is_admin(user):
        return responses
    return responses.filter(Q(team__isnull=True) | Q(team__in=teams_of(user)))

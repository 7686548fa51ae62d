"""Service KPIs: response and resolution times, SLA attainment, reopens, one-touch, engagement."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import active_during_q
from kpis.definitions.base import (
    DurationKpi,
    KpiContext,
    KpiDefinition,
    RatioKpi,
    customer_paths,
    in_period,
)
from kpis.definitions.frame import FrameRatioKpi, register_customer_set
from kpis.definitions.maintenance import countable_tickets
from sales.models import Activity
from support.models import Ticket, TicketMessage
from surveys.models import SurveyResponse

TICKET_DIMENSIONS = ("all", "team", "owner", "segment")
TICKET_PATHS: dict[str, str | None] = {
    "all": None,
    "team": "team",
    "owner": "assignee",
    "segment": "customer__segment",
}
FINALLY_SOLVED = [Ticket.Status.SOLVED, Ticket.Status.CLOSED]
INTERACTION_KINDS = [
    Activity.Kind.CALL,
    Activity.Kind.EMAIL,
    Activity.Kind.MEETING,
    Activity.Kind.CHAT,
]


def tickets_solved_in(ctx: KpiContext) -> QuerySet[Ticket]:
    """Tickets whose final solve falls in P: last_solved_at in P and not reopened since."""
    return countable_tickets().filter(in_period("last_solved_at", ctx), status__in=FINALLY_SOLVED)


class FirstResponseTime(DurationKpi):
    """first_response_time = median business minutes from creation to the first public human
    agent reply, over tickets whose first reply was sent in P (count, mean, median, p90 stored)."""

    key = "first_response_time"
    name = _("First response time")
    description = _("Median business minutes until a human agent first replied publicly.")
    stage = "service"
    direction = "lower"
    record_models = (Ticket,)
    dimensions = TICKET_DIMENSIONS
    dimension_paths = TICKET_PATHS
    formula = _(
        "median of Ticket.first_response_business_minutes over tickets with first_response_at in "
        "P (not spam, not merged); details: count, sum, mean, median, p90, and the same for "
        "calendar minutes"
    )
    period_rule = _("Counted in the period the first reply was sent (first_response_at).")
    edge_cases = _(
        "Internal notes and automated messages are not replies; a ticket opened by an agent "
        "starts its clock at the customer's first message, and its first reply is the agent's "
        "next public reply after it (both kept by the ticket services in first_response_*). "
        "No replies → n/a."
    )

    def events_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_tickets().filter(
            in_period("first_response_at", ctx), first_response_business_minutes__isnull=False
        )

    def duration_expression(self) -> Any:
        return F("first_response_business_minutes")

    def secondary_expressions(self) -> dict[str, Any]:
        return {"calendar_minutes": F("first_response_calendar_minutes")}


class ResolutionTime(DurationKpi):
    """resolution_time = median business minutes from creation to the last solve, over tickets
    finally solved in P."""

    key = "resolution_time"
    name = _("Resolution time")
    description = _("Median business minutes from creation to the final solve.")
    stage = "service"
    direction = "lower"
    record_models = (Ticket,)
    dimensions = TICKET_DIMENSIONS
    dimension_paths = TICKET_PATHS
    formula = _(
        "median of Ticket.resolution_business_minutes over tickets with last_solved_at in P and "
        "status solved/closed (not spam, not merged); details as first_response_time"
    )
    period_rule = _("Counted in the period of the final solve (last_solved_at).")
    edge_cases = _(
        "A reopened ticket counts once, at its final solve; a ticket reopened and still open is "
        "not counted. Pending time is included."
    )

    def events_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return tickets_solved_in(ctx).filter(resolution_business_minutes__isnull=False)

    def duration_expression(self) -> Any:
        return F("resolution_business_minutes")

    def secondary_expressions(self) -> dict[str, Any]:
        return {"calendar_minutes": F("resolution_calendar_minutes")}


class SlaFirstResponseAttainment(RatioKpi):
    """sla_first_response_attainment = tickets with a first-reply target due in P that met it ÷
    tickets with a first-reply target due in P."""

    key = "sla_first_response_attainment"
    name = _("SLA attainment: first response")
    description = _("Share of first-reply SLA targets due in the period that were met.")
    stage = "service"
    unit = "percent"
    direction = "higher"
    record_models = (Ticket,)
    dimensions = TICKET_DIMENSIONS
    dimension_paths = TICKET_PATHS
    formula = _(
        "tickets with first_response_due_at in P and sla_first_response_met = true ÷ tickets "
        "with first_response_due_at in P that are decided (met known, or the due time has passed)"
    )
    period_rule = _("Counted in the period the target fell due.")
    edge_cases = _(
        "A target due in the future and not yet met is undecided and left out; a passed target "
        "without a reply counts as missed."
    )
    due_field = "first_response_due_at"
    met_field = "sla_first_response_met"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        decided = Q(**{f"{self.met_field}__isnull": False}) | Q(
            **{f"{self.due_field}__lt": ctx.now}
        )
        return countable_tickets().filter(in_period(self.due_field, ctx)).filter(decided)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(**{self.met_field: True})


class SlaResolutionAttainment(SlaFirstResponseAttainment):
    """sla_resolution_attainment = tickets with a resolution target due in P that met it ÷
    tickets with a resolution target due in P."""

    key = "sla_resolution_attainment"
    name = _("SLA attainment: resolution")
    description = _("Share of resolution SLA targets due in the period that were met.")
    direction = "higher"
    record_models = (Ticket,)
    formula = _(
        "tickets with resolution_due_at in P and sla_resolution_met = true ÷ tickets with "
        "resolution_due_at in P that are decided (met known, or the due time has passed)"
    )
    due_field = "resolution_due_at"
    met_field = "sla_resolution_met"


class ReopenRate(RatioKpi):
    """reopen_rate = tickets finally solved in P that were reopened at least once ÷ tickets
    finally solved in P."""

    key = "reopen_rate"
    name = _("Reopen rate")
    description = _("Share of solved tickets that had been reopened.")
    stage = "service"
    unit = "percent"
    direction = "lower"
    record_models = (Ticket,)
    dimensions = TICKET_DIMENSIONS
    dimension_paths = TICKET_PATHS
    formula = _("tickets solved in P with reopen_count ≥ 1 ÷ tickets solved in P")
    period_rule = _("Final solve (last_solved_at) in P, status solved or closed.")
    edge_cases = _("No solved tickets → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return tickets_solved_in(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return tickets_solved_in(ctx).filter(reopen_count__gte=1)


class OneTouchRate(RatioKpi):
    """one_touch_rate = tickets solved in P with fewer than 2 public agent replies ÷ tickets
    solved in P."""

    key = "one_touch_rate"
    name = _("One-touch resolution rate")
    description = _("Share of solved tickets resolved with at most one public agent reply.")
    stage = "service"
    unit = "percent"
    direction = "higher"
    record_models = (Ticket,)
    dimensions = TICKET_DIMENSIONS
    dimension_paths = TICKET_PATHS
    formula = _("tickets solved in P with public_agent_replies < 2 ÷ tickets solved in P")
    period_rule = _("Final solve (last_solved_at) in P, status solved or closed.")
    edge_cases = _("No solved tickets → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return tickets_solved_in(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return tickets_solved_in(ctx).filter(public_agent_replies__lt=2)


@register_customer_set("engaged")
def interacting_customers(ctx: KpiContext) -> list[QuerySet[Any]]:
    """Customer ids with an interaction in P, one queryset per kind of interaction."""
    logged = Activity.objects.filter(kind__in=INTERACTION_KINDS, is_bulk=False).filter(
        in_period("done_at", ctx) | (Q(done_at__isnull=True) & in_period("created_at", ctx))
    )
    messages = TicketMessage.objects.filter(
        ticket__is_spam=False,
        ticket__merged_into__isnull=True,
        is_public=True,
        automated=False,
    ).filter(in_period("created_at", ctx))
    answers = SurveyResponse.objects.filter(in_period("responded_at", ctx))
    return [
        logged.values("customer_id"),
        messages.values("ticket__customer_id"),
        answers.values("customer_id"),
    ]


class EngagementRate(FrameRatioKpi):
    """engagement_rate = customers active in P with an interaction in P ÷ customers active in P."""

    key = "engagement_rate"
    name = _("Engagement rate")
    description = _("Share of active customers with a logged interaction in the period.")
    stage = "service"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = _(
        "customers active at any time in P with, in P, a completed call/e-mail/meeting/chat "
        "activity (not mass mail), a public non-automated message on a countable ticket, or a "
        "survey response ÷ customers active at any time in P"
    )
    period_rule = _(
        "Activity.done_at (created_at when not completed) / TicketMessage.created_at / "
        "SurveyResponse.responded_at in P."
    )
    edge_cases = _("Mass mailings, notes, tasks and automated messages do not count.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_during_q(ctx.start, ctx.end, ctx.rules))

    frame_numerator, frame_denominator = "engaged", "active_during"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        interacted = Q(pk__in=[])
        for customer_ids in interacting_customers(ctx):
            interacted |= Q(pk__in=customer_ids)
        return self.denominator_queryset(ctx).filter(interacted)


DEFINITIONS: tuple[KpiDefinition, ...] = (
    FirstResponseTime(),
    ResolutionTime(),
    SlaFirstResponseAttainment(),
    SlaResolutionAttainment(),
    ReopenRate(),
    OneTouchRate(),
    EngagementRate(),
)

"""Maintenance KPIs: satisfaction (CSAT, NPS), survey response, repeat business, complaints."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from kpis.activity import active_during_q, countable_orders
from kpis.definitions.acquisition import new_customers
from kpis.definitions.base import (
    KpiContext,
    KpiDefinition,
    KpiResult,
    RatioKpi,
    customer_paths,
    filter_dimension,
    group_key,
    grouped,
    in_period,
    ratio,
    to_decimal,
)
from kpis.definitions.frame import FrameRatioKpi
from kpis.periods import organisation_tz
from support.models import Ticket
from surveys.models import SurveyInvitation, SurveyKind, SurveyResponse

SURVEY_MIN_SAMPLE = 30
RESPONSE_WINDOW_DAYS = 14
SURVEY_PATHS = customer_paths("customer__")


def countable_responses(kind: str) -> QuerySet[SurveyResponse]:
    """Responses of one kind; an answer to an undeliverable invitation never counts."""
    return SurveyResponse.objects.filter(kind=kind).filter(
        Q(invitation__isnull=True) | ~Q(invitation__status=SurveyInvitation.Status.UNDELIVERABLE)
    )


def countable_tickets() -> QuerySet[Ticket]:
    """Spam and merged duplicate tickets never count (catalogue §0.9)."""
    return Ticket.objects.filter(is_spam=False, merged_into__isnull=True)


def customers_ordering_in(ctx: KpiContext) -> QuerySet[Customer]:
    orders = countable_orders().filter(
        customer=OuterRef("pk"), ordered_at__gte=ctx.start, ordered_at__lt=ctx.end
    )
    return Customer.objects.filter(Exists(orders))


class Csat(RatioKpi):
    """csat = CSAT responses in P scoring 4 or 5 ÷ CSAT responses in P (also stores the mean)."""

    key = "csat"
    name = _("Customer satisfaction (CSAT)")
    description = _("Share of CSAT answers scoring 4 or 5 on the 1–5 scale.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (SurveyResponse,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    # By owner, an answer counts for the agent its ticket is assigned to: CSAT rates the service.
    dimension_paths = {**SURVEY_PATHS, "owner": "ticket__assignee"}
    min_sample = SURVEY_MIN_SAMPLE
    formula = _(
        "CSAT responses in P with score ≥ 4 ÷ CSAT responses in P; details.mean = mean score"
    )
    period_rule = _("SurveyResponse.responded_at in P.")
    edge_cases = _(
        "One response per invitation (the database enforces it); answers to undeliverable "
        "invitations excluded; fewer than 30 responses → low_sample. By owner, an answer counts "
        "for its ticket's assignee (no ticket → the empty value)."
    )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_responses(SurveyKind.CSAT).filter(in_period("responded_at", ctx))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(score__gte=4)

    def extra_details(
        self, ctx: KpiContext, dimension: str, path: str | None
    ) -> dict[str, dict[str, Any]]:
        queryset = self.denominator_queryset(ctx)
        if path is None:
            mean = queryset.aggregate(mean=Avg("score"))["mean"]
            return {"": {"mean": None if mean is None else round(float(mean), 4)}}
        rows = queryset.order_by().values(path).annotate(mean=Avg("score"))
        return {
            group_key(row[path]): {"mean": round(float(row["mean"]), 4)}
            for row in rows
            if row["mean"] is not None
        }

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        """RatioKpi's rows from one grouped query per dimension (the numerator, denominator and
        mean of the same responses) instead of three."""
        path = self.path(dimension)
        aggregates = {
            "good": Count("pk", distinct=True, filter=Q(score__gte=4)),
            "n": Count("pk", distinct=True),
            "mean": Avg("score"),
        }
        queryset = self.denominator_queryset(ctx)
        if path is None:
            rows = [queryset.aggregate(**aggregates) | {"key": None}]
        else:
            rows = [
                row | {"key": row[path]}
                for row in queryset.order_by().values(path).annotate(**aggregates)
            ]
        results = []
        for row in sorted(rows, key=lambda row: group_key(row["key"])):
            numerator, denominator = to_decimal(row["good"] or 0), to_decimal(row["n"] or 0)
            mean = row["mean"]
            details = {"mean": None if mean is None else round(float(mean), 4)}
            results.append(
                KpiResult(
                    dimension,
                    group_key(row["key"]),
                    numerator=numerator,
                    denominator=denominator,
                    value=ratio(numerator, denominator, self.scale),
                    sample_size=row["n"] or 0,
                    details=details if path is None or mean is not None else {},
                )
            )
        return results


class Nps(KpiDefinition):
    """nps = 100 × (promoters − detractors) ÷ responses, latest answer per customer per survey in P.

    Promoters score 9–10, detractors 0–6. Stored numerator = promoters − detractors, denominator =
    responses, value = 100 × numerator ÷ denominator; details hold the three counts and the 95%
    margin of error 1.96·sqrt((pP + pD − (pP − pD)²)/n)·100.
    """

    key = "nps"
    name = _("Net Promoter Score")
    description = _("Promoters minus detractors among NPS answers, from −100 to 100.")
    stage = "maintenance"
    unit = "score"
    direction = "higher"
    record_models = (SurveyResponse,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = SURVEY_PATHS
    min_sample = SURVEY_MIN_SAMPLE
    formula = _(
        "100 × (responses scoring 9–10 − responses scoring 0–6) ÷ NPS responses in P, "
        "counting each customer's latest response per survey within P"
    )
    period_rule = _("SurveyResponse.responded_at in P.")
    edge_cases = _(
        "A customer answering the same survey twice in P counts once (the later answer). "
        "No responses → n/a; fewer than 30 → low_sample."
    )

    def responses(self, ctx: KpiContext) -> QuerySet[SurveyResponse]:
        in_p = countable_responses(SurveyKind.NPS).filter(in_period("responded_at", ctx))
        later = in_p.filter(customer=OuterRef("customer"), survey=OuterRef("survey")).filter(
            Q(responded_at__gt=OuterRef("responded_at"))
            | Q(responded_at=OuterRef("responded_at"), pk__gt=OuterRef("pk"))
        )
        return in_p.filter(~Exists(later))

    def records(
        self, ctx: KpiContext, dimension: str = "all", value: str = "", part: str = "numerator"
    ) -> QuerySet[Any] | None:
        return filter_dimension(self.responses(ctx), self.path(dimension), value)

    def compute_dimension(self, ctx: KpiContext, dimension: str) -> list[KpiResult]:
        path = self.path(dimension)
        aggregates = {
            "promoters": Count("pk", filter=Q(score__gte=9)),
            "passives": Count("pk", filter=Q(score__gte=7, score__lte=8)),
            "detractors": Count("pk", filter=Q(score__lte=6)),
            "n": Count("pk"),
        }
        queryset = self.responses(ctx)
        if path is None:
            rows = [queryset.aggregate(**aggregates) | {"key": None}]
        else:
            rows = [
                row | {"key": row[path]}
                for row in queryset.order_by().values(path).annotate(**aggregates)
            ]
        results = []
        for row in rows:
            n = row["n"] or 0
            promoters, detractors = row["promoters"] or 0, row["detractors"] or 0
            margin = None
            if n:
                p_p, p_d = promoters / n, detractors / n
                margin = round(1.96 * math.sqrt(max(p_p + p_d - (p_p - p_d) ** 2, 0) / n) * 100, 2)
            results.append(
                KpiResult(
                    dimension,
                    group_key(row["key"]),
                    numerator=to_decimal(promoters - detractors),
                    denominator=to_decimal(n),
                    value=ratio(to_decimal(promoters - detractors), to_decimal(n), 100),
                    sample_size=n,
                    details={
                        "promoters": promoters,
                        "passives": row["passives"] or 0,
                        "detractors": detractors,
                        "margin_of_error": margin,
                    },
                )
            )
        return results


class SurveyResponseRate(RatioKpi):
    """survey_response_rate = deliverable invitations sent in P answered within 14 days ÷
    deliverable invitations sent in P."""

    key = "survey_response_rate"
    name = _("Survey response rate")
    description = _("Share of survey invitations answered within 14 days.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (SurveyInvitation,)
    dimensions = ("all", "survey_kind", "team")
    dimension_paths = {"all": None, "survey_kind": "survey__kind", "team": "customer__team"}
    maturity_days = RESPONSE_WINDOW_DAYS
    formula = _(
        "invitations sent in P (status ≠ undeliverable) with a response before sent_at + 14 days "
        "÷ invitations sent in P (status ≠ undeliverable)"
    )
    period_rule = _("Cohort of invitations by sent_at in P; provisional until P.end + 14 days.")
    edge_cases = _("Undeliverable and never-sent invitations excluded from both parts.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return SurveyInvitation.objects.exclude(
            status=SurveyInvitation.Status.UNDELIVERABLE
        ).filter(in_period("sent_at", ctx))

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return self.denominator_queryset(ctx).filter(
            response__isnull=False,
            response__responded_at__lt=F("sent_at") + dt.timedelta(days=RESPONSE_WINDOW_DAYS),
        )


class RepeatPurchaseRate(FrameRatioKpi):
    """repeat_purchase_rate = customers with ≥ 2 distinct order days in P ÷ customers with ≥ 1
    order in P (same-day orders count once)."""

    key = "repeat_purchase_rate"
    name = _("Repeat purchase rate")
    description = _("Share of ordering customers who ordered on at least two days of the period.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel", "rfm_segment", "health_band")
    dimension_paths = customer_paths()
    formula = _(
        "customers with ≥ 2 distinct local order dates in P ÷ customers with ≥ 1 non-cancelled "
        "order in P"
    )
    period_rule = _("Order.ordered_at in P; order days are local dates in CRM_TIME_ZONE.")
    edge_cases = _("Two orders on the same local day are one order day; cancelled orders excluded.")

    frame_numerator, frame_denominator = "repeat", "ordering"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return customers_ordering_in(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        order_days = (
            countable_orders()
            .filter(customer=OuterRef("pk"), ordered_at__gte=ctx.start, ordered_at__lt=ctx.end)
            .annotate(day=TruncDate("ordered_at", tzinfo=organisation_tz()))
            .order_by()
            .values("customer")
            .annotate(days=Count("day", distinct=True))
            .values("days")
        )
        return Customer.objects.annotate(order_days=Subquery(order_days)).filter(order_days__gte=2)


class ReturningCustomerRate(FrameRatioKpi):
    """returning_customer_rate = customers ordering in P who had ordered before P ÷ customers
    ordering in P."""

    key = "returning_customer_rate"
    name = _("Returning customer rate")
    description = _("Share of the period's ordering customers who had ordered before.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = _(
        "customers with a non-cancelled order in P and one before P.start ÷ customers with a "
        "non-cancelled order in P"
    )
    period_rule = _("Order.ordered_at in P.")
    edge_cases = _("No orders → n/a.")

    frame_numerator, frame_denominator = "returning", "ordering"

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return customers_ordering_in(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        before = countable_orders().filter(customer=OuterRef("pk"), ordered_at__lt=ctx.start)
        return customers_ordering_in(ctx).filter(Exists(before))


class ReferralRate(RatioKpi):
    """referral_rate = customers acquired in P with a referrer ÷ customers_new in P."""

    key = "referral_rate"
    name = _("Referral rate")
    description = _("Share of new customers referred by an existing customer.")
    stage = "maintenance"
    unit = "percent"
    direction = "higher"
    record_models = (Customer,)
    dimensions = ("all", "segment", "team", "owner", "channel")
    dimension_paths = customer_paths()
    formula = _(
        "customers with acquired_at in P and referred_by set ÷ customers with acquired_at in P"
    )
    period_rule = _("Customer.acquired_at in P.")
    edge_cases = _("No new customers → n/a.")

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return new_customers(ctx)

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return new_customers(ctx).filter(referred_by__isnull=False)


class ComplaintRate(FrameRatioKpi):
    """complaint_rate = complaint tickets created in P ÷ customers active at any time in P."""

    key = "complaint_rate"
    name = _("Complaint rate")
    description = _("Complaint tickets per customer active in the period.")
    stage = "maintenance"
    unit = "percent"
    direction = "lower"
    record_models = (Ticket, Customer)
    dimensions = ("all", "segment", "team", "channel")
    dimension_paths = customer_paths("customer__")
    denominator_paths = customer_paths()
    formula = _(
        "tickets with category complaint created in P (not spam, not merged) ÷ customers "
        "active at any time in P (active at P.start, acquired in P or ordering in P)"
    )
    period_rule = _("Ticket.created_at in P.")
    edge_cases = _("No active customers → n/a. Can exceed 1 (several complaints per customer).")
    departures = _(
        "Dimensions use the ticket's customer's segment/team/channel (not the ticket's support "
        "team), so numerator and denominator group on the same attribute."
    )

    frame_numerator, frame_denominator = "complaints", "active_during"

    def numerator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return countable_tickets().filter(
            in_period("created_at", ctx), category=Ticket.Category.COMPLAINT
        )

    def frame_numerators(
        self, ctx: KpiContext, dimension: str
    ) -> dict[str, tuple[Any, int]] | None:
        # Tickets, not customers: one grouped query on the tickets of P.
        return grouped(
            self.numerator_queryset(ctx), self.path(dimension), Count("pk", distinct=True)
        )

    def denominator_queryset(self, ctx: KpiContext) -> QuerySet[Any]:
        return Customer.objects.filter(active_during_q(ctx.start, ctx.end, ctx.rules))


DEFINITIONS: tuple[KpiDefinition, ...] = (
    Csat(),
    Nps(),
    SurveyResponseRate(),
    RepeatPurchaseRate(),
    ReturningCustomerRate(),
    ReferralRate(),
    ComplaintRate(),
)

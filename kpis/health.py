"""Customer health score: the index mechanism applied to one customer (catalogue §3).

Components (raw measure → bounded-linear 0–100 with the version's best/worst):
- ``recency``: days since the last non-cancelled order (lower is better; missing without orders);
- ``frequency``: distinct order days in the trailing 365 days;
- ``monetary``: net revenue in the trailing 365 days;
- ``open_complaints``: complaint tickets not yet solved or closed (spam and merged excluded);
- ``satisfaction``: the latest NPS or CSAT answer on a 0–100 scale (NPS score × 10, CSAT
  (score − 1) × 25); missing when the customer never answered;
- ``engagement``: interactions in the trailing 90 days — completed non-bulk activities, customer
  messages on tickets and survey responses (the engagement_rate definition, per customer).

Weights, best/worst and bands live on the WeightVersion (``health_config``, ``health_bands``), so a
change is versioned and previewed like the index weights. The score is Σ wᵢ·sᵢ ÷ Σ wᵢ over the
present components (missing ones dropped, weights rescaled); no present component → no score.
Scored customers: those acquired before ``as_of``; others have no score.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from customers.models import Customer
from kpis.index import (
    IndicatorConfig,
    active_weight_version,
    band_for,
    normalise,
)
from kpis.models import (
    CustomerHealthSnapshot,
    Direction,
    WeightVersion,
    default_bands,
    default_health_config,
)
from kpis.rfm import BATCH_SIZE, TRAILING_DAYS, bulk_set, org_tz
from sales.models import Activity, Order
from support.models import Ticket, TicketMessage
from surveys.models import SurveyKind, SurveyResponse

ENGAGEMENT_DAYS = 90
INTERACTION_KINDS = (
    Activity.Kind.CALL,
    Activity.Kind.MEETING,
    Activity.Kind.EMAIL,
    Activity.Kind.CHAT,
)
OPEN_TICKET_STATUSES = (
    Ticket.Status.NEW,
    Ticket.Status.OPEN,
    Ticket.Status.PENDING,
    Ticket.Status.ON_HOLD,
)


def _per_customer(queryset: Any, aggregate: Any, output: Any) -> Coalesce:
    """A correlated subquery of one aggregate per customer, 0 when the customer has no rows."""
    sub = queryset.filter(customer=OuterRef("pk")).order_by().values("customer")
    return Coalesce(
        Subquery(sub.annotate(x=aggregate).values("x")[:1]), Value(0), output_field=output
    )


def satisfaction_score(kind: str | None, score: int | None) -> Decimal | None:
    if kind is None or score is None:
        return None
    if kind == SurveyKind.NPS:
        return Decimal(score) * 10
    return (Decimal(score) - 1) * 25


@dataclass(frozen=True)
class CustomerHealth:
    customer_id: int
    score: Decimal | None
    band: str
    components: dict[str, dict[str, Any]]


def health_score_for(
    measures: Mapping[str, Decimal | None], config: Sequence[Mapping[str, Any]]
) -> tuple[Decimal | None, dict[str, dict[str, Any]]]:
    """Pure computation: weighted mean of the present components' 0–100 scores."""
    components: dict[str, dict[str, Any]] = {}
    weighted = Decimal(0)
    present_weight = Decimal(0)
    for row in config:
        best, worst = Decimal(str(row["best"])), Decimal(str(row["worst"]))
        weight = Decimal(str(row["weight"]))
        indicator = IndicatorConfig(
            kpi=row["component"],
            group="",
            weight=weight,
            direction=Direction.HIGHER if best > worst else Direction.LOWER,
            best=best,
            worst=worst,
        )
        value = measures.get(row["component"])
        score = None if value is None else normalise(indicator, value)
        components[row["component"]] = {
            "value": None if value is None else str(value),
            "score": None if score is None else str(score.quantize(Decimal("0.01"))),
            "weight": str(weight),
        }
        if score is not None:
            weighted += weight * score
            present_weight += weight
    if present_weight == 0:
        return None, components
    return (weighted / present_weight).quantize(Decimal("0.01"), ROUND_HALF_UP), components


def health_measures(*, as_of: dt.datetime) -> Any:
    """Every scored customer with its raw component measures, in one query."""
    tz = org_tz()
    orders = Order.objects.exclude(status=Order.Status.CANCELLED).filter(ordered_at__lt=as_of)
    trailing = orders.filter(ordered_at__gte=as_of - dt.timedelta(days=TRAILING_DAYS))
    since = as_of - dt.timedelta(days=ENGAGEMENT_DAYS)
    latest_answer = SurveyResponse.objects.filter(
        customer=OuterRef("pk"), responded_at__lt=as_of
    ).order_by("-responded_at", "-id")
    integer: IntegerField = IntegerField()
    money: DecimalField = DecimalField(max_digits=16, decimal_places=2)
    return (
        Customer.objects.filter(acquired_at__lt=as_of)
        .annotate(
            last_order_at=Subquery(
                orders.filter(customer=OuterRef("pk"))
                .order_by()
                .values("customer")
                .annotate(x=Max("ordered_at"))
                .values("x")[:1]
            ),
            frequency=_per_customer(
                trailing, Count(TruncDate("ordered_at", tzinfo=tz), distinct=True), integer
            ),
            monetary=_per_customer(trailing, Sum("net_amount"), money),
            open_complaints=_per_customer(
                Ticket.objects.filter(
                    category=Ticket.Category.COMPLAINT,
                    status__in=OPEN_TICKET_STATUSES,
                    is_spam=False,
                    merged_into__isnull=True,
                    created_at__lt=as_of,
                ),
                Count("id"),
                integer,
            ),
            answer_kind=Subquery(latest_answer.values("kind")[:1]),
            answer_score=Subquery(latest_answer.values("score")[:1]),
            interactions_logged=_per_customer(
                Activity.objects.filter(
                    kind__in=INTERACTION_KINDS,
                    is_bulk=False,
                    done_at__gte=since,
                    done_at__lt=as_of,
                ),
                Count("id"),
                integer,
            ),
            ticket_messages=Coalesce(
                Subquery(
                    TicketMessage.objects.filter(
                        ticket__customer=OuterRef("pk"),
                        author_kind=TicketMessage.AuthorKind.CUSTOMER,
                        created_at__gte=since,
                        created_at__lt=as_of,
                    )
                    .order_by()
                    .values("ticket__customer")
                    .annotate(x=Count("id"))
                    .values("x")[:1]
                ),
                Value(0),
                output_field=integer,
            ),
            responses=_per_customer(
                SurveyResponse.objects.filter(responded_at__gte=since, responded_at__lt=as_of),
                Count("id"),
                integer,
            ),
        )
        .values_list(
            "id",
            "last_order_at",
            "frequency",
            "monetary",
            "open_complaints",
            "answer_kind",
            "answer_score",
            "interactions_logged",
            "ticket_messages",
            "responses",
        )
        .order_by()
    )


def health_config_of(version: WeightVersion | None) -> tuple[list[dict], list[dict]]:
    if version is None:
        return default_health_config(), default_bands()
    return version.health_config, version.health_bands


@transaction.atomic
def health_recompute(
    *,
    as_of: dt.datetime,
    granularity: str | None = None,
    period_start: dt.date | None = None,
    version: WeightVersion | None = None,
) -> int:
    """Store every customer's health score and band; for a KPI period also its history rows.

    Returns the number of customers scored. Idempotent per (granularity, period_start).
    """
    version = version or active_weight_version()
    config, bands = health_config_of(version)
    results: list[CustomerHealth] = []
    for (
        customer_id,
        last_order_at,
        frequency,
        monetary,
        open_complaints,
        answer_kind,
        answer_score,
        interactions_logged,
        ticket_messages,
        responses,
    ) in health_measures(as_of=as_of).iterator(chunk_size=BATCH_SIZE):
        measures: dict[str, Decimal | None] = {
            "recency": None
            if last_order_at is None
            else Decimal((as_of - last_order_at).total_seconds()) / 86400,
            # Without any order, frequency and monetary are unknown rather than zero.
            "frequency": None if last_order_at is None else Decimal(frequency),
            "monetary": None if last_order_at is None else Decimal(monetary),
            "open_complaints": Decimal(open_complaints),
            "satisfaction": satisfaction_score(answer_kind, answer_score),
            "engagement": Decimal(interactions_logged + ticket_messages + responses),
        }
        score, components = health_score_for(measures, config)
        results.append(
            CustomerHealth(
                customer_id=customer_id,
                score=score,
                band=band_for(score, bands),
                components=components,
            )
        )
    bulk_set(
        Customer,
        ["health_score", "health_band"],
        [(h.customer_id, h.score, h.band) for h in results],
    )
    Customer.objects.exclude(acquired_at__lt=as_of).exclude(
        health_score__isnull=True, health_band=""
    ).update(health_score=None, health_band="")
    if granularity is not None and period_start is not None:
        CustomerHealthSnapshot.objects.filter(
            granularity=granularity, period_start=period_start
        ).delete()
        CustomerHealthSnapshot.objects.bulk_create(
            [
                CustomerHealthSnapshot(
                    customer_id=h.customer_id,
                    granularity=granularity,
                    period_start=period_start,
                    as_of=as_of,
                    version=version,
                    score=h.score,
                    band=h.band,
                    components=h.components,
                )
                for h in results
            ],
            batch_size=BATCH_SIZE,
        )
    return len(results)

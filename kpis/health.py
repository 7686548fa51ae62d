"""Customer health score: the index mechanism applied to one customer (catalogue §3).

Components (raw measure → bounded-linear 0–100 with the version's best/worst):
- ``recency``: days since the last non-cancelled order (lower is better; missing without orders);
- ``frequency``: distinct order days in the trailing 365 days;
- ``monetary``: net revenue in the trailing 365 days;
- ``open_complaints``: complaint tickets not yet solved or closed (spam and merged excluded);
- ``satisfaction``: the latest NPS or CSAT answer on a 0–100 scale (NPS score × 10, CSAT
  (score − 1) × 25); missing when the customer never answered;
- ``engagement``: interactions in the trailing 90 days — completed non-bulk activities, customer
  messages on tickets and survey responses (the engagement_rate definition, per customer);
- ``p_alive`` (optional, only when a version's config names it): the BG/NBD probability that the
  customer is still active, in % (0–100), from the latest prediction scoring; missing for a
  customer without a prediction.

Weights, best/worst and bands live on the WeightVersion (``health_config``, ``health_bands``), so a
change is versioned and previewed like the index weights. The score is Σ wᵢ·sᵢ ÷ Σ wᵢ over the
present components (missing ones dropped, weights rescaled); no present component → no score.
Scored customers: those acquired before ``as_of``; others have no score.
"""

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    Max,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from customers.models import Customer
from kpis.index import (
    IndicatorConfig,
    active_weight_version,
    band_for,
    bounded_linear_direction,
    normalise,
)
from kpis.models import (
    CustomerHealthSnapshot,
    WeightVersion,
    default_bands,
    default_health_config,
)
from kpis.rfm import (
    BATCH_SIZE,
    TRAILING_DAYS,
    OrderMeasures,
    bulk_insert,
    bulk_set,
    org_tz,
)
from predictions.selectors import p_alive_by_customer
from sales.models import Activity, Order
from support.models import Ticket, TicketMessage
from surveys.models import SurveyKind, SurveyResponse

ENGAGEMENT_DAYS = 90
HEALTH_CHUNK = 5000  # customers scored and written per batch
HEALTH_SNAPSHOT_FIELDS = (
    "customer_id",
    "granularity",
    "period_start",
    "as_of",
    "version_id",
    "score",
    "band",
    "components",
)
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


def _indicators(config: Sequence[Mapping[str, Any]]) -> list[IndicatorConfig]:
    """The health components of `config` as index indicators (built once per recompute)."""
    indicators = []
    for row in config:
        best, worst = Decimal(str(row["best"])), Decimal(str(row["worst"]))
        indicators.append(
            IndicatorConfig(
                kpi=row["component"],
                group="",
                weight=Decimal(str(row["weight"])),
                direction=bounded_linear_direction(best, worst),
                best=best,
                worst=worst,
            )
        )
    return indicators


def health_score_for(
    measures: Mapping[str, Decimal | None],
    config: Sequence[Mapping[str, Any]],
    indicators: Sequence[IndicatorConfig] | None = None,
) -> tuple[Decimal | None, dict[str, dict[str, Any]]]:
    """Pure computation: weighted mean of the present components' 0–100 scores."""
    components: dict[str, dict[str, Any]] = {}
    weighted = Decimal(0)
    present_weight = Decimal(0)
    for indicator in indicators if indicators is not None else _indicators(config):
        weight = indicator.weight
        value = measures.get(indicator.kpi)
        score = None if value is None else normalise(indicator, value)
        components[indicator.kpi] = {
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


COUNT_SOURCES = ("open_complaints", "interactions_logged", "ticket_messages", "responses")


def _customers_with_orders(*, as_of: dt.datetime) -> Any:
    """Every scored customer, ascending by id, with its order measures (one grouped join)."""
    counted = ~Q(orders__status=Order.Status.CANCELLED) & Q(orders__ordered_at__lt=as_of)
    trailing = counted & Q(orders__ordered_at__gte=as_of - dt.timedelta(days=TRAILING_DAYS))
    return (
        Customer.objects.filter(acquired_at__lt=as_of)
        .annotate(
            last_order_at=Max("orders__ordered_at", filter=counted),
            frequency=Count(
                TruncDate("orders__ordered_at", tzinfo=org_tz()), distinct=True, filter=trailing
            ),
            # Coalesced in SQL as before, so "no trailing revenue" reads back the same way.
            monetary=Coalesce(
                Sum("orders__net_amount", filter=trailing),
                Value(0),
                output_field=DecimalField(max_digits=16, decimal_places=2),
            ),
        )
        .order_by("id")
        .values_list("id", "last_order_at", "frequency", "monetary")
    )


def _counts(*, as_of: dt.datetime) -> Any:
    """(customer id, source index in COUNT_SOURCES, rows) for the counted components, one
    UNION ALL ordered by customer."""
    since = as_of - dt.timedelta(days=ENGAGEMENT_DAYS)
    sources = [
        (
            Ticket.objects.filter(
                category=Ticket.Category.COMPLAINT,
                status__in=OPEN_TICKET_STATUSES,
                is_spam=False,
                merged_into__isnull=True,
                created_at__lt=as_of,
            ),
            "customer_id",
        ),
        (
            Activity.objects.filter(
                kind__in=INTERACTION_KINDS, is_bulk=False, done_at__gte=since, done_at__lt=as_of
            ),
            "customer_id",
        ),
        (
            TicketMessage.objects.filter(
                author_kind=TicketMessage.AuthorKind.CUSTOMER,
                created_at__gte=since,
                created_at__lt=as_of,
            ),
            "ticket__customer_id",
        ),
        (
            SurveyResponse.objects.filter(responded_at__gte=since, responded_at__lt=as_of),
            "customer_id",
        ),
    ]
    grouped = [
        queryset.filter(**{f"{key}__isnull": False})
        .order_by()
        .values(key)
        .annotate(n=Count("id"), source=Value(index))
        .values_list(key, "source", "n")
        for index, (queryset, key) in enumerate(sources)
    ]
    return grouped[0].union(*grouped[1:], all=True).order_by("customer_id", "source")


class _Stream:
    """A query's rows, ascending by customer id (first column), read in chunks."""

    def __init__(self, queryset: Any) -> None:
        self._rows = iter(queryset.iterator(chunk_size=BATCH_SIZE * 5))
        self._head: Any = next(self._rows, None)

    def take(self, customer_id: int) -> list[Any]:
        """The rows of `customer_id` (skipping lower ids)."""
        while self._head is not None and self._head[0] < customer_id:
            self._head = next(self._rows, None)
        rows = []
        while self._head is not None and self._head[0] == customer_id:
            rows.append(self._head)
            self._head = next(self._rows, None)
        return rows


def health_measures(
    *, as_of: dt.datetime, order_measures: OrderMeasures | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every scored customer (acquired before as_of) with its raw component measures:
    (id, last_order_at, frequency, monetary, open_complaints, answer_kind, answer_score,
    interactions_logged, ticket_messages, responses), ascending by id.

    Three queries — customers with their orders, answers latest first, the counted sources —
    each ordered by customer and merged here as they stream, so memory does not grow with the
    number of rows. (They used to be nine correlated sub-queries per customer: ≈150 s for 100k
    customers.)
    """
    answers = _Stream(
        SurveyResponse.objects.filter(responded_at__lt=as_of, customer__isnull=False)
        .order_by("customer_id", "-responded_at", "-id")
        .values_list("customer_id", "kind", "score")
    )
    counts = _Stream(_counts(as_of=as_of))
    customers: Any
    if order_measures is None:
        customers = _customers_with_orders(as_of=as_of).iterator(chunk_size=BATCH_SIZE * 5)
    else:  # the RFM pass of the same moment already measured the orders
        customers = (
            (customer_id, *order_measures.get(customer_id, (None, 0, Decimal(0))))
            for customer_id in Customer.objects.filter(acquired_at__lt=as_of)
            .order_by("id")
            .values_list("id", flat=True)
            .iterator(chunk_size=BATCH_SIZE * 5)
        )
    for customer_id, last_order_at, frequency, monetary in customers:
        latest = answers.take(customer_id)  # latest first
        count = dict.fromkeys(COUNT_SOURCES, 0)
        for _id, source, rows in counts.take(customer_id):
            count[COUNT_SOURCES[source]] = rows
        yield (
            customer_id,
            last_order_at,
            frequency,
            monetary,
            count["open_complaints"],
            latest[0][1] if latest else None,
            latest[0][2] if latest else None,
            count["interactions_logged"],
            count["ticket_messages"],
            count["responses"],
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
    order_measures: OrderMeasures | None = None,
    update_customers: bool = True,
) -> int:
    """Store every customer's health score and band; for a KPI period also its history rows.

    `update_customers=False` writes only the period's history rows (a past period must not
    overwrite the customers' current scores). Returns the number of customers scored.
    Idempotent per (granularity, period_start).
    """
    version = version or active_weight_version()
    config, bands = health_config_of(version)
    indicators = _indicators(config)
    keep_history = granularity is not None and period_start is not None
    if granularity is not None and period_start is not None:
        CustomerHealthSnapshot.objects.filter(
            granularity=granularity, period_start=period_start
        ).delete()
    scored = 0
    chunk: list[CustomerHealth] = []
    # Read only when a component asks for it: the default config has no P(alive).
    alive = (
        _Stream(p_alive_by_customer())
        if any(indicator.kpi == "p_alive" for indicator in indicators)
        else None
    )

    def flush() -> None:
        # Written a chunk at a time: the components of 100k customers would not fit the
        # worker's memory budget at once.
        if update_customers:
            bulk_set(
                Customer,
                ["health_score", "health_band"],
                [(h.customer_id, h.score, h.band) for h in chunk],
            )
        if keep_history:
            bulk_insert(
                CustomerHealthSnapshot,
                HEALTH_SNAPSHOT_FIELDS,
                (
                    (
                        h.customer_id,
                        granularity,
                        period_start,
                        as_of,
                        version.pk if version is not None else None,
                        h.score,
                        h.band,
                        h.components,
                    )
                    for h in chunk
                ),
            )
        chunk.clear()

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
    ) in health_measures(as_of=as_of, order_measures=order_measures):
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
        if alive is not None:
            prediction = alive.take(customer_id)
            measures["p_alive"] = prediction[0][1] * 100 if prediction else None
        score, components = health_score_for(measures, config, indicators)
        chunk.append(
            CustomerHealth(
                customer_id=customer_id,
                score=score,
                band=band_for(score, bands),
                components=components,
            )
        )
        scored += 1
        if len(chunk) >= HEALTH_CHUNK:
            flush()
    flush()
    if not update_customers:
        return scored
    Customer.objects.exclude(acquired_at__lt=as_of).exclude(
        health_score__isnull=True, health_band=""
    ).update(health_score=None, health_band="")
    return scored

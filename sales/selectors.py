"""Reads of the sales domain, each starting from what the user may see (else a 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils.translation import gettext as _

from crm.encryption.ciphers import blind_index, normalise_email_domain
from crm.encryption.fields import blind_index_q
from crm.roles import MANAGER, SALES_REP, is_admin, user_roles
from customers.models import Customer, Team
from customers.selectors import (
    FREE_MAIL_DOMAINS,
    LikelyDuplicate,
    customers_visible_to,
    likely_duplicate_customers,
    similar_name_rule,
    teams_of,
)
from kpis.periods import to_datetime_range
from sales.models import (
    Activity,
    CloseReason,
    Lead,
    Opportunity,
    Order,
    OrderLine,
    RetentionCase,
)


def _owned_or_team_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    """Sales records: the user's own, plus their teams' for sales reps and managers."""
    rule = Q(owner=user)
    if user_roles(user) & {SALES_REP, MANAGER}:
        rule |= Q(team__in=teams_of(user))
    return rule


def leads_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    if is_admin(user):
        return Lead.objects.all()
    if not user.is_authenticated:
        return Lead.objects.none()
    return Lead.objects.filter(_owned_or_team_q(user))


# --- likely duplicates of a lead being entered ---------------------------------------------------

# Leads still being worked; a converted lead lives on as its customer, which is checked too.
OPEN_LEAD_STATUSES = (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)


@dataclass(frozen=True)
class LikelyDuplicateLead:
    """An open lead that may be the one being entered, and why (translated reasons)."""

    lead: Lead
    reasons: list[str]


@dataclass(frozen=True)
class LeadDuplicates:
    """What a lead being entered may duplicate: open leads and customers the user can see."""

    leads: list[LikelyDuplicateLead]
    customers: list[LikelyDuplicate]

    def __bool__(self) -> bool:
        return bool(self.leads or self.customers)


def likely_duplicate_leads(
    *,
    user: AbstractBaseUser | AnonymousUser,
    name: str,
    company: str,
    email: str,
    phone: str,
    exclude_pk: int | None = None,
    exclude_customer_pk: int | None = None,
    limit: int = 5,
) -> LeadDuplicates:
    """Visible open leads and visible customers that may be the lead being entered; two queries.

    The rules are the customers' (customers.selectors.likely_duplicate_customers): the same
    e-mail or normalised phone (blind indexes), for a company lead the same e-mail domain
    (free-mail domains excepted), a near-identical name or company name. A company lead is
    compared with company customers by its company, a person lead with persons by its name.
    """
    email_q = blind_index_q(Lead, "email", email or "")
    phone_q = blind_index_q(Lead, "phone", phone or "")
    company = (company or "").strip()
    domain_q = Q(pk__in=[])
    domain = normalise_email_domain(email or "")
    if company and domain and domain not in FREE_MAIL_DOMAINS:
        domain_q = Q(email_domain_bidx=blind_index("email_domain", email)) & ~Q(company="")
    name_q, annotations = similar_name_rule(name) if (name or "").strip() else (Q(pk__in=[]), {})
    company_q: Q = Q(pk__in=[])
    if company:
        company_q, company_annotations = similar_name_rule(company, "company")
        annotations.update(company_annotations)
    flags = {
        "same_email": email_q,
        "same_phone": phone_q,
        "same_domain": domain_q,
        "similar_name": name_q | company_q,
    }
    candidates = leads_visible_to(user).filter(status__in=OPEN_LEAD_STATUSES)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    rows = (
        candidates.annotate(**annotations)
        .annotate(
            **{
                flag: Case(When(rule, then=Value(1)), default=Value(0), output_field=IntegerField())
                for flag, rule in flags.items()
            }
        )
        .filter(email_q | phone_q | domain_q | name_q | company_q)
        .annotate(grounds=F("same_email") + F("same_phone") + F("same_domain") + F("similar_name"))
        .select_related("owner")
        .order_by("-grounds", "name", "pk")[:limit]
    )
    labels = {
        "same_email": _("same e-mail"),
        "same_phone": _("same phone"),
        "same_domain": _("same e-mail domain"),
        "similar_name": _("similar name"),
    }
    leads = [
        LikelyDuplicateLead(
            lead=row, reasons=[str(label) for flag, label in labels.items() if getattr(row, flag)]
        )
        for row in rows
    ]
    customers = likely_duplicate_customers(
        user=user,
        name=company or name,
        email=email,
        phone=phone,
        kind=Customer.Kind.COMPANY if company else Customer.Kind.PERSON,
        exclude_pk=exclude_customer_pk,
        limit=limit,
    )
    return LeadDuplicates(leads=leads, customers=customers)


def opportunities_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Opportunity]:
    if is_admin(user):
        return Opportunity.objects.all()
    if not user.is_authenticated:
        return Opportunity.objects.none()
    rule = _owned_or_team_q(user)
    if user_roles(user) & {SALES_REP, MANAGER}:
        # A deal on a customer the rep's team owns is the team's deal too.
        rule |= Q(customer__in=customers_visible_to(user).values("pk"))
    return Opportunity.objects.filter(rule)


def orders_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Order]:
    """Orders follow their customer's visibility; a rep also sees the orders they booked."""
    if is_admin(user):
        return Order.objects.all()
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(
        Q(customer__in=customers_visible_to(user).values("pk")) | Q(owner=user)
    )


def order_lines_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[OrderLine]:
    """Lines of the orders the user may see."""
    if is_admin(user):
        return OrderLine.objects.all()
    if not user.is_authenticated:
        return OrderLine.objects.none()
    return OrderLine.objects.filter(order__in=orders_visible_to(user).values("pk"))


def retention_cases_visible_to(
    user: AbstractBaseUser | AnonymousUser,
) -> QuerySet[RetentionCase]:
    """Retention cases follow their customer: owning the outreach does not open the customer."""
    if is_admin(user):
        return RetentionCase.objects.all()
    if not user.is_authenticated:
        return RetentionCase.objects.none()
    return RetentionCase.objects.filter(customer__in=customers_visible_to(user).values("pk"))


def activities_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Activity]:
    """Activities of visible customers, leads and deals, plus the user's and their teams' own."""
    if is_admin(user):
        return Activity.objects.all()
    if not user.is_authenticated:
        return Activity.objects.none()
    rule = Q(owner=user) | Q(customer__in=customers_visible_to(user).values("pk"))
    if user_roles(user):
        rule |= Q(team__in=teams_of(user))
    if user_roles(user) & {SALES_REP, MANAGER}:
        rule |= Q(lead__in=leads_visible_to(user).values("pk")) | Q(
            opportunity__in=opportunities_visible_to(user).values("pk")
        )
    return Activity.objects.filter(rule)


def close_reasons_offered(kind: str) -> QuerySet[CloseReason]:
    """The active reasons of one kind (lead disqualified, deal lost), in the admins' order."""
    return CloseReason.objects.filter(kind=kind, is_active=True).order_by("position", "name", "id")


def sales_owners_choosable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Any]:
    """People a user may make the owner of a lead or deal: admins any active sales rep or
    manager; others themselves and the reps and managers of their teams."""
    people = get_user_model().objects.filter(is_active=True)
    sellers = people.filter(Q(groups__name__in=[SALES_REP, MANAGER]) | Q(is_superuser=True))
    if not is_admin(user):
        if not user.is_authenticated:
            return people.none()
        sellers = sellers.filter(
            Q(pk=user.pk) | Q(teams__in=teams_of(user)) | Q(managed_teams__in=teams_of(user))
        )
    return people.filter(pk__in=sellers.values("pk")).order_by(
        "first_name", "last_name", "username"
    )


def teams_choosable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Team]:
    """Teams a user may give a lead or deal to: admins any, others their own."""
    if is_admin(user):
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=teams_of(user)).order_by("name")


# --- sales forecast ------------------------------------------------------------------------------

# Scope of a forecast figure → the Opportunity column grouped on ("all" is the organisation).
FORECAST_DIMENSIONS: dict[str, str | None] = {"all": None, "team": "team_id", "owner": "owner_id"}
CENT = Decimal("0.01")
FORECAST_IN_CATEGORY = {
    # best case counts the deals the rep called best case or commit (the commit is inside it).
    "best_case": (Opportunity.ForecastCategory.BEST_CASE, Opportunity.ForecastCategory.COMMIT),
    "commit": (Opportunity.ForecastCategory.COMMIT,),
}


def cents(number: Any) -> Decimal:
    """A money sum to the cent. SQLite sums decimals in floating point: read with 15
    significant digits, as Django's own DecimalField converter does."""
    if number is None:
        return Decimal("0.00")
    if isinstance(number, float):
        number = Context(prec=15).create_decimal_from_float(number)
    return Decimal(number).quantize(CENT, rounding=ROUND_HALF_UP)


def weighted_amount() -> ExpressionWrapper:
    """amount × stage probability of one deal."""
    return ExpressionWrapper(
        F("amount") * F("probability"), output_field=DecimalField(max_digits=24, decimal_places=6)
    )


def forecast_deals_q(period_start: dt.date, period_end: dt.date) -> Q:
    """Open deals expected to close in [period_start, period_end): the deals a forecast counts."""
    return Q(
        outcome=Opportunity.Outcome.OPEN,
        expected_close_date__gte=period_start,
        expected_close_date__lt=period_end,
    )


def forecast_figures(
    *, period_start: dt.date, period_end: dt.date, dimension: str
) -> dict[str, dict[str, Any]]:
    """The forecast of a period from the open deals as they are now, per value of `dimension`
    (one grouped query): deal_count, pipeline_amount, weighted_pipeline (Σ amount ×
    probability), best_case, commit, and the open deals left out with their reason —
    excluded_undated (no expected close date) and excluded_overdue (date before the period).
    """
    path = FORECAST_DIMENSIONS[dimension]
    in_period = Q(expected_close_date__gte=period_start, expected_close_date__lt=period_end)
    aggregates: dict[str, Any] = {
        "deal_count": Count("pk", filter=in_period),
        "pipeline_amount": Sum("amount", filter=in_period),
        "weighted_pipeline": Sum(weighted_amount(), filter=in_period),
        "excluded_undated": Count("pk", filter=Q(expected_close_date__isnull=True)),
        "excluded_overdue": Count("pk", filter=Q(expected_close_date__lt=period_start)),
    }
    for name, categories in FORECAST_IN_CATEGORY.items():
        aggregates[name] = Sum("amount", filter=in_period & Q(forecast_category__in=categories))
    deals = Opportunity.objects.filter(outcome=Opportunity.Outcome.OPEN).filter(
        Q(expected_close_date__isnull=True) | Q(expected_close_date__lt=period_end)
    )
    if path is None:
        rows = [deals.aggregate(**aggregates) | {"key": None}]
    else:
        rows = [
            row | {"key": row[path]} for row in deals.order_by().values(path).annotate(**aggregates)
        ]
    figures: dict[str, dict[str, Any]] = {}
    for row in rows:
        figures["" if row["key"] is None else str(row["key"])] = {
            "deal_count": row["deal_count"] or 0,
            "excluded_undated": row["excluded_undated"] or 0,
            "excluded_overdue": row["excluded_overdue"] or 0,
            **{
                name: cents(row[name])
                for name in ("pipeline_amount", "weighted_pipeline", "best_case", "commit")
            },
        }
    return figures


def forecast_accuracy_parts(forecast: Decimal, won: Decimal) -> tuple[Decimal, Decimal]:
    """(won − |forecast − won|, won): their ratio is the accuracy 1 − |forecast − won| ÷ won,
    and Σ numerators ÷ Σ denominators over scopes or periods is 1 − WAPE."""
    return won - abs(forecast - won), won


def forecast_bias_parts(forecast: Decimal, won: Decimal) -> tuple[Decimal, Decimal]:
    """(forecast − won, won): their ratio is the bias, > 0 over-forecast, < 0 under-forecast."""
    return forecast - won, won


def part_ratio(parts: tuple[Decimal, Decimal]) -> Decimal | None:
    """numerator ÷ denominator to 6 places (as KPI values are stored), None (n/a) when nothing
    was won."""
    numerator, denominator = parts
    if not denominator:
        return None
    return (numerator / denominator).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ForecastScope:
    """Whose forecast a page shows: the organisation, a team or a sales rep."""

    dimension: str
    value: str
    label: str

    @property
    def key(self) -> str:
        return "all" if self.dimension == "all" else f"{self.dimension}:{self.value}"

    def deals_q(self) -> Q:
        path = FORECAST_DIMENSIONS[self.dimension]
        return Q() if path is None else Q(**{path: int(self.value)})


def forecast_scopes_of_organisation() -> list[ForecastScope]:
    """Every forecast scope an organisation-wide reader may pick: the organisation, each team,
    each sales rep and manager (two queries)."""
    people = (
        get_user_model()
        ._default_manager.filter(groups__name__in=[SALES_REP, MANAGER])
        .distinct()
        .order_by("first_name", "last_name", "username", "id")
    )
    return [
        ForecastScope("all", "", str(_("Organisation"))),
        *(
            ForecastScope("team", str(pk), name)
            for pk, name in Team.objects.order_by("name", "id").values_list("pk", "name")
        ),
        *(
            ForecastScope("owner", str(person.pk), person.get_full_name() or person.get_username())
            for person in people
        ),
    ]


def won_amounts_by_period(
    *, scope: ForecastScope, periods: list[tuple[dt.date, dt.date]]
) -> dict[dt.date, Decimal]:
    """Σ amount of the deals won (closed_at) in each period, for one scope, in one query."""
    if not periods:
        return {}
    sums = {}
    for index, (start, end) in enumerate(periods):
        since, until = to_datetime_range(start, end)
        sums[f"p{index}"] = Sum("amount", filter=Q(closed_at__gte=since, closed_at__lt=until))
    row = Opportunity.objects.filter(scope.deals_q(), outcome=Opportunity.Outcome.WON).aggregate(
        **sums
    )
    return {start: cents(row[f"p{index}"]) for index, (start, _end) in enumerate(periods)}


def forecast_by_category(
    *, scope: ForecastScope, period_start: dt.date, period_end: dt.date
) -> list[dict[str, Any]]:
    """The period's forecast as it stands now, one row per category (count, amount, weighted),
    every category listed even when empty."""
    rows = {
        row["forecast_category"]: row
        for row in Opportunity.objects.filter(
            scope.deals_q(), forecast_deals_q(period_start, period_end)
        )
        .order_by()
        .values("forecast_category")
        .annotate(
            deal_count=Count("pk"),
            amount_total=Sum("amount"),
            weighted_total=Sum(weighted_amount()),
        )
    }
    return [
        {
            "category": category,
            "label": label,
            "deal_count": rows.get(category, {}).get("deal_count", 0),
            "amount": cents(rows.get(category, {}).get("amount_total")),
            "weighted": cents(rows.get(category, {}).get("weighted_total")),
        }
        for category, label in Opportunity.ForecastCategory.choices
    ]

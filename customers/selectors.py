"""Reads of customers; every view and API endpoint starts from customers_visible_to(user)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from crm.encryption.ciphers import blind_index, normalise_email_domain
from crm.encryption.fields import blind_index_q
from crm.roles import MANAGER, SALES_REP, SUPPORT_AGENT, is_admin, user_roles
from customers.models import Channel, Customer, Segment, Team


def teams_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Team, Any]:
    """Ids of the teams a user belongs to or manages, as a subquery (never evaluated here)."""
    return Team.objects.filter(Q(members=user) | Q(manager=user)).values("pk")


def customers_visible_q(user: AbstractBaseUser | AnonymousUser) -> Q | None:
    """The visibility rule as a Q on Customer; None means everything (admin)."""
    if is_admin(user):
        return None
    if not user.is_authenticated:
        return Q(pk__in=[])
    roles = user_roles(user)
    rule = Q(owner=user)
    if roles & {SALES_REP, MANAGER, SUPPORT_AGENT}:
        rule |= Q(team__in=teams_of(user))
    if SUPPORT_AGENT in roles:
        # Looked up in the app registry: support depends on customers, not the other way round.
        ticket_model = apps.get_model("support", "Ticket")
        ticket_customers = ticket_model._default_manager.filter(
            Q(team__in=teams_of(user)) | Q(assignee=user)
        ).values("customer_id")
        rule |= Q(pk__in=ticket_customers)
    return rule


def customers_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """Customers the user may see: admin all; others own + their teams' (+ tickets' for agents).

    One query when evaluated, whatever the number of rows (the rules are subqueries).
    """
    rule = customers_visible_q(user)
    customers = Customer.objects.all()
    return customers if rule is None else customers.filter(rule)


def customers_listed_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Customer]:
    """Visible customers that are still records of their own: merged ones point to a survivor."""
    return customers_visible_to(user).filter(merged_into__isnull=True)


@dataclass(frozen=True)
class SegmentCount:
    segment: str
    label: str
    customers: int


def rfm_segment_counts(customers: QuerySet[Customer]) -> list[SegmentCount]:
    """How many of `customers` are in each named RFM segment (today's), in the segments' order;
    segments without a customer and customers without orders are left out. One grouped query."""
    counts = dict(
        customers.exclude(rfm_segment="")
        .order_by()
        .values("rfm_segment")
        .annotate(n=Count("pk"))
        .values_list("rfm_segment", "n")
    )
    return [
        SegmentCount(segment=str(value), label=str(label), customers=counts[value])
        for value, label in Customer.RfmSegment.choices
        if counts.get(value)
    ]


# --- what a user may choose on a customer form --------------------------------------------------


def owners_assignable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Any]:
    """Active users a customer may be given to: an admin anyone; others themselves and the
    members and managers of their teams."""
    users = get_user_model().objects.filter(is_active=True)
    if is_admin(user):
        return users
    if not user.is_authenticated:
        return users.none()
    mine = teams_of(user)
    return users.filter(Q(pk=user.pk) | Q(teams__in=mine) | Q(managed_teams__in=mine)).distinct()


def teams_assignable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Team]:
    """Teams a customer may be put in: an admin any team; others the teams they belong to."""
    if is_admin(user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=teams_of(user))


def segments_assignable() -> QuerySet[Segment]:
    return Segment.objects.all()


def channels_assignable() -> QuerySet[Channel]:
    """Active channels only: a retired channel keeps its history but takes no new customers."""
    return Channel.objects.filter(is_active=True)


# --- likely duplicates --------------------------------------------------------------------------

# pg_trgm similarity from which two names count as near-identical ("Acme GmbH" / "ACME GmbH." 1.0,
# "Acme GmbH" / "Acme Trading GmbH" 0.56, "Acme" / "Apex" 0.14).
NAME_SIMILARITY = 0.6
# Words dropped before the SQLite name rule compares names ("Acme GmbH" equals "acme").
LEGAL_FORMS = frozenset(
    {"gmbh", "ag", "kg", "ltd", "limited", "inc", "llc", "plc", "sa", "sas", "bv", "co", "corp"}
)
# Companies on these domains share nothing but a mail provider.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "qq.com",
        "163.com",
        "126.com",
        "proton.me",
        "protonmail.com",
    }
)


@dataclass(frozen=True)
class LikelyDuplicate:
    """An existing customer that may be the one being entered, and why (translated reasons)."""

    customer: Customer
    reasons: list[str]


def name_core(name: str) -> str:
    """A name lower-cased, punctuation removed, legal forms dropped: "ACME GmbH." → "acme"."""
    words = re.sub(r"[^\w\s]", " ", name.lower()).split()
    core = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(core or words)


def similar_name_rule(name: str, field: str = "name") -> tuple[Q, dict[str, Any]]:
    """Near-identical names in `field`: trigram similarity on PostgreSQL, equal cores on SQLite.
    Returns the rule and the annotations it needs (also used for leads, sales.selectors)."""
    if connection.vendor == "postgresql":
        similarity = TrigramSimilarity(field, Value(name))  # type: ignore[arg-type]
        alias = f"{field}_similarity"
        return Q(**{f"{alias}__gte": NAME_SIMILARITY}), {alias: similarity}
    core = name_core(name)
    if not core:
        return Q(pk__in=[]), {}
    # SQLite compares case-insensitively for ASCII only; cores are lower-cased on both sides
    # where it matters (the stored names are not normalised, hence the few spellings tried).
    rule = (
        Q(**{f"{field}__iexact": name.strip()})
        | Q(**{f"{field}__iexact": core})
        | Q(**{f"{field}__istartswith": f"{core} "})
    )
    return rule, {}


def likely_duplicate_customers(
    *,
    user: AbstractBaseUser | AnonymousUser,
    name: str,
    email: str,
    phone: str,
    kind: str,
    exclude_pk: int | None = None,
    limit: int = 5,
) -> list[LikelyDuplicate]:
    """Customers the user can see that may be the one being entered, in one query.

    A match is: the same e-mail, the same normalised phone (both through the blind indexes), for
    a company the same e-mail domain (free-mail domains excepted), or a near-identical name.
    Customers matching on more grounds come first. Merged customers are never offered.
    """
    email_q = blind_index_q(Customer, "email", email or "")
    phone_q = blind_index_q(Customer, "phone", phone or "")
    domain_q = Q(pk__in=[])
    domain = normalise_email_domain(email or "")
    if kind == Customer.Kind.COMPANY and domain and domain not in FREE_MAIL_DOMAINS:
        domain_q = Q(
            kind=Customer.Kind.COMPANY, email_domain_bidx=blind_index("email_domain", email)
        )
    name_q: Q = Q(pk__in=[])
    name_annotations: dict[str, Any] = {}
    if (name or "").strip():
        name_q, name_annotations = similar_name_rule(name)
    candidates = customers_listed_to(user).annotate(**name_annotations)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    flags = {
        "same_email": email_q,
        "same_phone": phone_q,
        "same_domain": domain_q,
        "similar_name": name_q,
    }
    annotated = candidates.annotate(
        **{
            flag: Case(When(rule, then=Value(1)), default=Value(0), output_field=IntegerField())
            for flag, rule in flags.items()
        }
    )
    grounds = F("same_email") + F("same_phone") + F("same_domain") + F("similar_name")
    rows = (
        annotated.filter(email_q | phone_q | domain_q | name_q)
        .annotate(grounds=grounds)
        .select_related("owner", "team")
        .order_by("-grounds", "name", "pk")[:limit]
    )
    labels = {
        "same_email": _("same e-mail"),
        "same_phone": _("same phone"),
        "same_domain": _("same e-mail domain"),
        "similar_name": _("similar name"),
    }
    return [
        LikelyDuplicate(
            customer=row,
            reasons=[str(label) for flag, label in labels.items() if getattr(row, flag)],
        )
        for row in rows
    ]

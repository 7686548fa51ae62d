"""Reads of customers; every view and API endpoint starts from customers_visible_to(user)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from crm.roles import MANAGER, SALES_REP, SUPPORT_AGENT, is_admin, user_roles
from customers.models import Customer, Team


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
        # Imported here: support depends on customers, not the other way round at import time.
        from support.models import Ticket

        ticket_customers = Ticket.objects.filter(
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

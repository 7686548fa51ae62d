"""Reads of tickets; every view and API endpoint starts from tickets_visible_to(user)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from crm.roles import MANAGER, SALES_REP, is_admin, user_roles
from customers.models import Customer
from customers.selectors import customers_visible_q, teams_of
from support.models import Ticket


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

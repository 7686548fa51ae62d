"""Reads of the sales domain, each starting from what the user may see (else a 404)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from crm.roles import MANAGER, SALES_REP, is_admin, user_roles
from customers.selectors import customers_visible_to, teams_of
from sales.models import Activity, Lead, Opportunity, Order


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

"""Reads of survey answers; every view and API endpoint starts from responses_visible_to(user)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from customers.models import Customer
from customers.selectors import customers_visible_q
from surveys.models import SurveyInvitation, SurveyResponse


def responses_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[SurveyResponse]:
    """Responses of the customers the user may see (the rule of customers_visible_to)."""
    rule = customers_visible_q(user)
    responses = SurveyResponse.objects.all()
    if rule is None:
        return responses
    return responses.filter(customer__in=Customer.objects.filter(rule).values("pk"))


def invitations_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[SurveyInvitation]:
    """Invitations of the customers the user may see."""
    rule = customers_visible_q(user)
    invitations = SurveyInvitation.objects.all()
    if rule is None:
        return invitations
    return invitations.filter(customer__in=Customer.objects.filter(rule).values("pk"))

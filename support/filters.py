"""FilterSets for ticket lists; shared by the web views and the API."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Team
from support.models import Priority, Ticket
from support.selectors import SLAState, sla_state_q

FINISHED = (Ticket.Status.SOLVED, Ticket.Status.CLOSED)


def first_response_breached_q() -> Q:
    """Replied late, or still unanswered after the due time (computed from stored timestamps)."""
    return Q(sla_first_response_met=False) | Q(
        first_response_at__isnull=True, first_response_due_at__lt=timezone.now()
    )


def resolution_breached_q() -> Q:
    """Solved late, or still unfinished after the due time."""
    return (Q(status__in=FINISHED) & Q(sla_resolution_met=False)) | (
        ~Q(status__in=FINISHED) & Q(resolution_due_at__lt=timezone.now())
    )


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    category = django_filters.ChoiceFilter(choices=Ticket.Category.choices)
    channel = django_filters.ChoiceFilter(choices=Ticket.Channel.choices)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    assignee = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from")
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created until")
    )
    first_response_breached = django_filters.BooleanFilter(
        method="filter_first_response_breached", label=_("First response SLA breached")
    )
    resolution_breached = django_filters.BooleanFilter(
        method="filter_resolution_breached", label=_("Resolution SLA breached")
    )
    sla_state = django_filters.ChoiceFilter(
        choices=SLAState.CHOICES, method="filter_sla_state", label=_("SLA state")
    )

    class Meta:
        model = Ticket
        fields = [
            "q",
            "status",
            "priority",
            "category",
            "channel",
            "team",
            "assignee",
            "created_after",
            "created_before",
            "first_response_breached",
            "resolution_breached",
            "sla_state",
        ]

    def filter_search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        """Subject or customer name contains the text; "123" or "#123" also finds ticket 123."""
        value = value.strip()
        if not value:
            return queryset
        rule = Q(subject__icontains=value) | Q(customer__name__icontains=value)
        number = value.removeprefix("#")
        if number.isdigit():
            rule |= Q(pk=int(number))
        return queryset.filter(rule)

    def filter_first_response_breached(
        self, queryset: QuerySet[Ticket], name: str, value: bool | None
    ) -> QuerySet[Ticket]:
        if value is None:
            return queryset
        rule = first_response_breached_q()
        return queryset.filter(rule) if value else queryset.exclude(rule)

    def filter_resolution_breached(
        self, queryset: QuerySet[Ticket], name: str, value: bool | None
    ) -> QuerySet[Ticket]:
        if value is None:
            return queryset
        rule = resolution_breached_q()
        return queryset.filter(rule) if value else queryset.exclude(rule)

    def filter_sla_state(
        self, queryset: QuerySet[Ticket], name: str, value: str
    ) -> QuerySet[Ticket]:
        """Running clocks breached, inside the policy's warning window, or on track (now)."""
        if not value:
            return queryset
        return queryset.filter(sla_state_q(value))

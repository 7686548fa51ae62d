"""FilterSets for survey answer lists; shared by the web views and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from customers.models import Team
from surveys.models import SurveyKind, SurveyResponse


class SurveyResponseFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices)
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label=_("Score from")
    )
    score_max = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", label=_("Score to")
    )
    responded_after = django_filters.DateFilter(
        field_name="responded_at", lookup_expr="date__gte", label=_("Responded from")
    )
    responded_before = django_filters.DateFilter(
        field_name="responded_at", lookup_expr="date__lte", label=_("Responded until")
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), method="filter_team", label=_("Team")
    )
    has_comment = django_filters.BooleanFilter(method="filter_has_comment", label=_("Has comment"))

    class Meta:
        model = SurveyResponse
        fields = [
            "kind",
            "score_min",
            "score_max",
            "responded_after",
            "responded_before",
            "team",
            "has_comment",
        ]

    def filter_team(
        self, queryset: QuerySet[SurveyResponse], name: str, value: Team | None
    ) -> QuerySet[SurveyResponse]:
        """The ticket's team for answers about a ticket, otherwise the customer's team."""
        if value is None:
            return queryset
        return queryset.filter(Q(ticket__team=value) | Q(ticket__isnull=True, customer__team=value))

    def filter_has_comment(
        self, queryset: QuerySet[SurveyResponse], name: str, value: bool | None
    ) -> QuerySet[SurveyResponse]:
        if value is None:
            return queryset
        rule = Q(comment="")
        return queryset.exclude(rule) if value else queryset.filter(rule)

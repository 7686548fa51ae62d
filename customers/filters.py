"""FilterSets for customer lists; shared by the web views and the API."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, Customer, Segment, Team


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all())
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices)
    rfm_segment = django_filters.ChoiceFilter(
        choices=[choice for choice in Customer.RfmSegment.choices if choice[0]]
    )
    health_band = django_filters.CharFilter()
    # ?acquired_at_after=2026-01-01&acquired_at_before=2026-03-31, both days included.
    acquired_at = django_filters.DateFromToRangeFilter(label=_("Acquired between"))

    class Meta:
        model = Customer
        fields = [
            "q",
            "segment",
            "owner",
            "team",
            "channel",
            "status",
            "kind",
            "rfm_segment",
            "health_band",
            "acquired_at",
        ]

    def filter_search(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(email__icontains=value)
            | Q(phone__icontains=value)
            | Q(external_id__iexact=value)
        )

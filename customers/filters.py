"""FilterSets for customer lists; shared by the web views and the API."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import blind_index_any, blind_index_q
from customers.models import Channel, Contact, Customer, Segment, Team


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
    # Exact, through the blind index (e-mail ignores case; phone ignores spaces, dashes, dots …).
    email = django_filters.CharFilter(method="filter_exact_encrypted", label=_("E-mail (exact)"))
    phone = django_filters.CharFilter(method="filter_exact_encrypted", label=_("Phone (exact)"))

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
            "email",
            "phone",
        ]

    def filter_search(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        # E-mail and phone are encrypted: they match whole values only, never substrings.
        return queryset.filter(
            Q(name__icontains=value)
            | blind_index_any(Customer, ("email", "phone"), value)
            | Q(external_id__iexact=value)
        )

    def filter_exact_encrypted(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        return queryset.filter(blind_index_q(Customer, name, value)) if value.strip() else queryset


class ContactFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(method="filter_exact_encrypted", label=_("E-mail (exact)"))
    phone = django_filters.CharFilter(method="filter_exact_encrypted", label=_("Phone (exact)"))

    class Meta:
        model = Contact
        fields = ["customer", "is_primary", "email", "phone"]

    def filter_exact_encrypted(
        self, queryset: QuerySet[Contact], name: str, value: str
    ) -> QuerySet[Contact]:
        return queryset.filter(blind_index_q(Contact, name, value)) if value.strip() else queryset

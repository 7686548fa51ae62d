"""FilterSets for the sales lists; shared by the web views and the API.

Date ranges take days: ?ordered_at_after=2026-01-01&ordered_at_before=2026-01-31 (both included).
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.encryption.fields import blind_index_any, blind_index_q
from customers.models import Channel, Customer, Team
from sales.models import Activity, Campaign, Lead, Opportunity, Order, PipelineStage


def _search(
    queryset: QuerySet, value: str, fields: tuple[str, ...], encrypted: tuple[str, ...] = ()
) -> QuerySet:
    """Substring match on `fields`; whole-value match on the `encrypted` ones (blind index)."""
    value = value.strip()
    if not value:
        return queryset
    rule = Q(external_id__iexact=value)
    for field in fields:
        rule |= Q(**{f"{field}__icontains": value})
    if encrypted:
        rule |= blind_index_any(queryset.model, encrypted, value)
    return queryset.filter(rule)


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.ChoiceFilter(choices=Lead.Source.choices)
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all())
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    created_at = django_filters.DateFromToRangeFilter()
    converted_at = django_filters.DateFromToRangeFilter()
    # Exact, through the blind index (e-mail ignores case; phone ignores spaces, dashes, dots …).
    email = django_filters.CharFilter(method="filter_exact_encrypted", label=_("E-mail (exact)"))
    phone = django_filters.CharFilter(method="filter_exact_encrypted", label=_("Phone (exact)"))

    class Meta:
        model = Lead
        fields = ["q", "status", "source", "channel", "campaign", "owner", "team", "email", "phone"]

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return _search(queryset, value, ("name", "company"), encrypted=("email", "phone"))

    def filter_exact_encrypted(
        self, queryset: QuerySet[Lead], name: str, value: str
    ) -> QuerySet[Lead]:
        return queryset.filter(blind_index_q(Lead, name, value)) if value.strip() else queryset


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all())
    stage = django_filters.ModelChoiceFilter(queryset=PipelineStage.objects.all())
    stage_code = django_filters.CharFilter(field_name="stage__code")
    kind = django_filters.ChoiceFilter(choices=Opportunity.Kind.choices)
    outcome = django_filters.ChoiceFilter(choices=Opportunity.Outcome.choices)
    forecast_category = django_filters.ChoiceFilter(choices=Opportunity.ForecastCategory.choices)
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    amount = django_filters.RangeFilter()
    created_at = django_filters.DateFromToRangeFilter()
    closed_at = django_filters.DateFromToRangeFilter()
    expected_close_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Opportunity
        fields = ["q", "customer", "stage", "kind", "outcome", "forecast_category", "owner", "team"]

    def filter_search(
        self, queryset: QuerySet[Opportunity], name: str, value: str
    ) -> QuerySet[Opportunity]:
        return _search(queryset, value, ("name", "customer__name"))


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all())
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    currency = django_filters.CharFilter(lookup_expr="iexact")
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    team = django_filters.ModelChoiceFilter(
        field_name="customer__team", queryset=Team.objects.all(), label=_("Team")
    )
    ordered_at = django_filters.DateFromToRangeFilter()
    net_amount = django_filters.RangeFilter()

    class Meta:
        model = Order
        fields = ["q", "customer", "status", "currency", "channel", "owner"]

    def filter_search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return _search(queryset, value, ("customer__name",))


class ActivityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices)
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all())
    lead = django_filters.ModelChoiceFilter(queryset=Lead.objects.all())
    opportunity = django_filters.ModelChoiceFilter(queryset=Opportunity.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    is_bulk = django_filters.BooleanFilter()
    done = django_filters.BooleanFilter(
        field_name="done_at", lookup_expr="isnull", exclude=True, label=_("Done")
    )
    created_at = django_filters.DateFromToRangeFilter()
    due_at = django_filters.DateFromToRangeFilter()
    done_at = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Activity
        fields = ["q", "kind", "customer", "lead", "opportunity", "owner", "team", "is_bulk"]

    def filter_search(
        self, queryset: QuerySet[Activity], name: str, value: str
    ) -> QuerySet[Activity]:
        return _search(queryset, value, ("subject", "notes"))

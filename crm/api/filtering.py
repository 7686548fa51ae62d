"""Ordering that always ends on the primary key, so pages never overlap or skip rows."""

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from crm.encryption.fields import blind_index_any


class StableOrderingFilter(OrderingFilter):
    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not ordering:
            ordering = [str(field) for field in queryset.model._meta.ordering]
        if not any(field.lstrip("-") in {"pk", "id"} for field in ordering):
            ordering.append("pk")
        return ordering

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        return queryset.order_by(*self.get_ordering(request, queryset, view))


class SafeSearchFilter(SearchFilter):
    """?search= without NUL bytes or lone surrogates, which PostgreSQL cannot compare.

    A view's `search_blind_indexes` (encrypted fields such as "email") also match when the
    whole search text equals their value: ciphertext has no substrings to search.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        matched = super().filter_queryset(request, queryset, view)
        encrypted = getattr(view, "search_blind_indexes", ())
        text = request.query_params.get(self.search_param, "").strip()
        if not encrypted or not text:
            return matched
        return queryset.filter(
            Q(pk__in=matched.values("pk")) | blind_index_any(queryset.model, encrypted, text)
        )

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if "\x00" in raw or any(0xD800 <= ord(char) <= 0xDFFF for char in raw):
            raise ValidationError({self.search_param: ["Invalid characters in the search text."]})
        return list(super().get_search_terms(request))

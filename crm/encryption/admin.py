"""Admin search that still finds a record by its exact e-mail or phone."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.encryption.fields import blind_index_any


class BlindIndexSearchMixin(admin.ModelAdmin):
    """Adds exact matches on encrypted fields (`blind_index_search`, lookup paths) to the
    substring search of `search_fields`, which cannot look inside ciphertext."""

    blind_index_search: tuple[str, ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term or not self.blind_index_search:
            return found, may_have_duplicates
        exact = queryset.filter(blind_index_any(queryset.model, self.blind_index_search, term))
        return found | exact, may_have_duplicates

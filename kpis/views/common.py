"""What every KPI page shares: access, the filters narrowed to the user's scope, the freshness
line, tables with their CSV/XLSX export, and the page renderer.

Access: every role, each within its KPI scope (`kpis.selectors.kpi_scope_for`): admins and managers
in no team or in every team see the organisation; a manager of some teams those teams and their
people; a support agent their team's service figures; a sales rep their own. `page_filters`
narrows every page, chart and drill-down to that scope (a filter that would show more is replaced
by the scope's own cell; a chart asked for another cell is 404), and a KPI not stored for the
scope's dimension says so instead of showing organisation figures. Pages read `KpiSnapshot` rows;
the drill-down list (paginated) and the pipeline funnel are the only raw-table reads, both through
the visibility selectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from crm.importing.export import ExportColumn, export_format, export_response, typed_text
from crm.roles import ROLES, is_manager
from crm.templatetags.pulse import kpi_value, plain_number
from crm.views import RoleRequiredMixin, role_required
from kpis import page_queries
from kpis.definitions import UnknownKpiError, registry
from kpis.forms import KpiFilters, parse_filters
from kpis.selectors import kpi_freshness, kpi_scope_for

KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,50}$")

# Every role reaches the KPI pages; what each sees is its scope.
kpi_access_required = role_required(*ROLES)


class KpiAccessMixin(RoleRequiredMixin):
    """Chart views: every role, narrowed to its scope by the view."""

    roles = ROLES


def page_filters(request: HttpRequest) -> tuple[Any, KpiFilters, dict[str, list[tuple[str, str]]]]:
    """The filter form and the filters narrowed to the user's scope (see the module docstring)."""
    scope = kpi_scope_for(request.user)
    if scope.is_organisation:
        choices = page_queries.filter_choices()
    else:
        # The scope's own cells are the only choices: no snapshot query, nothing of others shown.
        choices = {name: scope.choices(name) for name in scope.dimensions}
    form, filters = parse_filters(request.GET, choices, dimensions=scope.dimensions)
    return form, filters.within(scope), choices


def freshness_context(request: HttpRequest, granularity: str) -> dict[str, Any]:
    """The freshness line and, for managers, "recompute now" with the recompute it follows."""
    token = request.GET.get("recompute", "")
    query = [(name, value) for name, value in request.GET.items() if name != "recompute"]
    return {
        "freshness": kpi_freshness(granularity=granularity),
        "recompute_done_url": f"{request.path}?{urlencode(query)}" if query else request.path,
        "can_recompute": is_manager(request.user),
        "live_poll_seconds": settings.KPI_LIVE_POLL_SECONDS,
        "recompute_status_url": reverse("kpis:recompute_status", kwargs={"token": token})
        if is_manager(request.user) and token.isalnum()
        else None,
    }


def unavailable_page(
    request: HttpRequest,
    *,
    title: str,
    filters: KpiFilters,
    form: Any,
    choices: dict[str, list[tuple[str, str]]],
) -> HttpResponse:
    """A page whose figures exist only for the whole organisation, for a scoped user."""
    return render_page(
        request,
        "kpis/analytics.html",
        title=title,
        filters=filters,
        form=form,
        choices=choices,
        scope_unavailable=True,
    )


def _filter_label(filters: KpiFilters, choices: dict[str, list[tuple[str, str]]]) -> str:
    if not filters.is_filtered:
        return ""
    return dict(choices.get(filters.dimension, [])).get(filters.value, filters.value)


def url_with_query(name: str, params: dict[str, str], **kwargs: Any) -> str:
    """The URL of `name` with `params` as its query string."""
    base = reverse(name, kwargs=kwargs or None)
    return f"{base}?{urlencode(params)}" if params else base


def definition_or_404(key: str) -> Any:
    """The registry's definition of `key`; 404 for a malformed or unknown key."""
    if not KEY_PATTERN.match(key):
        raise Http404
    try:
        return registry.get(key)
    except UnknownKpiError:
        raise Http404 from None


@dataclass
class Cell:
    """A table cell: shown text, optional link and CSS class, and the plain value for CSV."""

    text: str
    csv: Any = None
    url: str | None = None
    css: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""


def cell(text: Any, csv_value: Any = None, url: str | None = None, css: str = "") -> Cell:
    shown = "" if text is None else str(text)
    return Cell(text=shown, csv=shown if csv_value is None else csv_value, url=url, css=css)


def value_cell(value: Decimal | None, unit: str) -> Cell:
    return Cell(text=kpi_value(value, unit), csv="" if value is None else str(value))


def number_cell(value: Decimal | None) -> Cell:
    return Cell(text=plain_number(value), csv="" if value is None else str(value))


def csv_response(
    filename: str,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    file_format: str = "csv",
) -> HttpResponse:
    """A KPI table, chart or record list as a CSV or XLSX file, through the shared export.

    Figures our tables hold as text ("24.000000", "2024-03-01") become numbers and dates, so the
    XLSX sums and sorts; the CSV reads the same either way. CSV stays plain UTF-8, in one piece.
    """
    columns = [ExportColumn(str(title), str(index)) for index, title in enumerate(header)]
    response = export_response(
        rows=([typed_text(value) for value in row] for row in rows),
        columns=columns,
        filename=filename,
        file_format=file_format,
        stream=False,
        byte_order_mark=False,
    )
    return response  # type: ignore[return-value]  # a FileResponse for XLSX; callers only return it


def table_csv(table: Table, file_format: str = "csv") -> HttpResponse:
    return csv_response(
        table.slug, table.columns, ([c.csv for c in row] for row in table.rows), file_format
    )


def wants_export(request: HttpRequest) -> bool:
    """`?format=csv` or `?format=xlsx`: the page's table, chart or records as a file."""
    return export_format(request) is not None


def _export_table(request: HttpRequest, tables: Sequence[Table]) -> HttpResponse | None:
    """`?format=csv|xlsx&table=<slug>` answers with that table as a file (the first by default)."""
    file_format = export_format(request)
    if file_format is None or not tables:
        return None
    wanted = request.GET.get("table") or tables[0].slug
    for table in tables:
        if table.slug == wanted:
            return table_csv(table, file_format)
    raise Http404


def render_page(
    request: HttpRequest,
    template: str,
    *,
    title: str,
    filters: KpiFilters,
    form: Any,
    choices: dict[str, list[tuple[str, str]]],
    tables: Sequence[Table] = (),
    chart_blocks: Sequence[dict[str, str]] = (),
    **extra: Any,
) -> HttpResponse:
    exported = _export_table(request, tables)
    if exported is not None:
        return exported
    query = filters.querystring
    scope = kpi_scope_for(request.user)
    context = {
        "title": title,
        "filters": filters,
        "form": form,
        "scope": scope,
        "filter_label": _filter_label(filters, choices),
        "query": query,
        "tables": tables,
        "chart_blocks": chart_blocks,
        "currency": settings.CRM_CURRENCY,
        "request_path": request.path,
        **extra,
    }
    return render(request, template, context)

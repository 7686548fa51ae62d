"""One KPI's page (periods table, trend and breakdown charts) and its drill-down to the records
behind a number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from crm.importing.export import export_format
from crm.roles import is_admin, is_manager
from kpis import charts, page_queries
from kpis.definitions.base import KpiDefinition
from kpis.forms import KpiFilters
from kpis.models import KpiSnapshot
from kpis.periods import previous_period
from kpis.selectors import (
    cell_snapshots,
    drilldown_records_visible_to,
    kpi_figure,
    kpi_scope_for,
    shown_period,
    snapshot_cell,
    snapshot_drilldown,
)
from kpis.views.common import (
    Table,
    cell,
    csv_response,
    definition_or_404,
    freshness_context,
    kpi_access_required,
    number_cell,
    page_filters,
    render_page,
    url_with_query,
    value_cell,
    wants_export,
)
from reports.annotations import annotations_by_period, annotations_for

# The drill-down's records per page.
DRILLDOWN_PAGE_SIZE = 25


def _period_notes(key: str, granularity: str, rows: Sequence[KpiSnapshot]) -> dict[dt.date, Any]:
    """{period start: annotations explaining it} for the table's rows (1 query)."""

    if not rows:
        return {}
    end = charts.shift_period(granularity, rows[-1].period_start, 1)
    notes = annotations_for(key, granularity, rows[0].period_start, end)
    return annotations_by_period(notes, granularity, [row.period_start for row in rows])


def _period_table(
    rows: Sequence[KpiSnapshot],
    unit: str,
    key: str,
    filters: KpiFilters,
    has_records: bool,
    notes: dict[dt.date, Any] | None = None,
) -> Table:
    table = Table(
        slug="periods",
        title=_("Periods"),
        columns=[
            _("Period start"),
            _("Value"),
            _("Numerator"),
            _("Denominator"),
            _("Sample size"),
            _("Low sample"),
            _("Provisional"),
            _("Records"),
            _("Annotations"),
        ],
    )
    for row in reversed(rows):
        explained = "; ".join(
            f"{note.get_kind_display()}: {note.text}"
            for note in (notes or {}).get(row.period_start, [])
        )
        link = None
        if has_records:
            link = url_with_query(
                "kpis:kpi_drilldown",
                filters.params(period=row.period_start.isoformat()),
                key=key,
            )
        table.rows.append(
            [
                cell(row.period_start.isoformat()),
                value_cell(row.value, unit),
                number_cell(row.numerator),
                number_cell(row.denominator),
                cell(row.sample_size),
                cell(_("low sample") if row.low_sample else "", row.low_sample),
                cell(_("provisional") if row.provisional else "", row.provisional),
                cell(_("Drill down") if link else "", link or "", url=link),
                cell(explained, css="kpi-annotation-cell" if explained else ""),
            ]
        )
    return table


@kpi_access_required
def kpi_detail(request: HttpRequest, key: str) -> HttpResponse:
    definition = definition_or_404(key)
    form, filters, choices = page_filters(request)
    scope = kpi_scope_for(request.user)
    if not scope.covers(key):
        raise Http404
    presentation = charts.kpi_presentation(key)
    dimension, value = filters.dimension, filters.value
    unsupported = filters.is_filtered and dimension not in definition.dimensions
    # The organisation falls back to all customers; a scoped user is told the KPI is not
    # available at their scope instead of being shown the organisation's figures.
    scope_unavailable = unsupported and not scope.is_organisation
    if unsupported and not scope_unavailable:
        dimension, value = "all", ""
    rows = (
        []
        if scope_unavailable
        else list(
            cell_snapshots(
                kpis=[key],
                granularity=filters.granularity,
                dimension=dimension,
                value=value,
                first=filters.first_period,
                last=filters.period,
            )
        )
    )
    has_records = type(definition).records is not KpiDefinition.records
    breakdown_dims = [
        d
        for d in definition.dimensions
        if d != "all" and (scope.is_organisation or d in scope.dimensions)
    ]
    by = request.GET.get("by") or (breakdown_dims[0] if breakdown_dims else "")
    if by and by not in breakdown_dims:
        by = breakdown_dims[0] if breakdown_dims else ""
    # The page opens on the last closed period; the open one is in the table, "so far".
    shown_start, _shown_end = shown_period(
        granularity=filters.granularity, requested=filters.period
    )
    by_start = {row.period_start: row for row in rows}
    figure = kpi_figure(
        granularity=filters.granularity,
        period_start=shown_start,
        snapshot=by_start.get(shown_start),
        previous=by_start.get(previous_period(filters.granularity, shown_start)[0]),
    )
    latest = figure.snapshot
    # The breakdown of the shown period, else of the newest stored one.
    newest = latest or (rows[-1] if rows else None)
    breakdown_period = filters.period or (newest.period_start if newest else None)
    chart_params = {
        "granularity": filters.granularity,
        "periods": str(filters.periods),
        "dimension": dimension,
        "value": value,
        "targets": "1",
    }
    if filters.period:
        # The trend ends at the chosen period, like the table below it (digest links set it).
        chart_params["period"] = filters.period.isoformat()
    breakdown_url = None
    if by and breakdown_period:
        breakdown_url = url_with_query(
            "kpis:kpi_breakdown",
            {
                "granularity": filters.granularity,
                "period": breakdown_period.isoformat(),
                "by": by,
            },
            key=key,
        )
    table = _period_table(
        rows,
        presentation.unit,
        key,
        filters,
        has_records,
        notes=_period_notes(key, filters.granularity, rows),
    )
    return render_page(
        request,
        "kpis/kpi_detail.html",
        title=presentation.name,
        filters=filters,
        form=form,
        choices=choices,
        tables=[table],
        definition=definition,
        kpi=presentation,
        latest=latest,
        figure=figure,
        unsupported=unsupported and not scope_unavailable,
        scope_unavailable=scope_unavailable,
        trend_url=url_with_query("kpis:kpi_chart", chart_params, key=key),
        breakdown_url=breakdown_url,
        breakdown_dims=[(d, page_queries.FILTER_LABELS.get(d, d)) for d in breakdown_dims],
        breakdown_by=by,
        breakdown_period=breakdown_period,
        has_records=has_records,
        can_annotate=is_manager(request.user),
        not_broken_down=page_queries.FILTER_LABELS.get(filters.dimension, filters.dimension)
        if unsupported
        else "",
        **freshness_context(request, filters.granularity),
    )


@kpi_access_required
def kpi_drilldown(request: HttpRequest, key: str) -> HttpResponse:
    """The records behind one snapshot's numerator or denominator, by the KPI's own query."""
    definition = definition_or_404(key)
    form, filters, choices = page_filters(request)
    scope = kpi_scope_for(request.user)
    if not scope.covers(key):
        raise Http404
    presentation = charts.kpi_presentation(key)
    part = request.GET.get("part", "numerator")
    if part not in ("numerator", "denominator"):
        part = "numerator"
    dimension, value = filters.dimension, filters.value
    scope_unavailable = False
    if dimension not in definition.dimensions:
        dimension, value = "all", ""
        # Not stored for the scope's cell: no period, so no organisation records either.
        scope_unavailable = not scope.is_organisation
    period = None
    if not scope_unavailable:
        period = filters.period or page_queries.latest_period(
            kpi=key, granularity=filters.granularity, dimension=dimension, value=value
        )
    stored = None
    records_page = None
    rows: list[page_queries.RecordRow] = []
    total = None
    if period is not None:
        stored = snapshot_cell(
            kpi=key,
            granularity=filters.granularity,
            period_start=period,
            dimension=dimension,
            dimension_value=value,
        )
        records = snapshot_drilldown(
            kpi=key,
            granularity=filters.granularity,
            period_start=period,
            dimension=dimension,
            dimension_value=value,
            part=part,
        )
        if records is not None:
            records = drilldown_records_visible_to(records, request.user)
            records = page_queries.with_customer(records).order_by("pk")
            if wants_export(request):
                return _records_csv(key, period, part, records, export_format(request) or "csv")
            paginator = Paginator(records, DRILLDOWN_PAGE_SIZE)
            records_page = paginator.get_page(request.GET.get("page"))
            total = paginator.count
            rows = page_queries.record_rows(records_page.object_list)
    stored_count = None
    if stored is not None:
        stored_count = stored.numerator if part == "numerator" else stored.denominator
    base_params = filters.params(period=period.isoformat() if period else None)
    return render_page(
        request,
        "kpis/drilldown.html",
        title=_("%(kpi)s — records") % {"kpi": presentation.name},
        filters=filters,
        form=form,
        choices=choices,
        definition=definition,
        kpi=presentation,
        part=part,
        period=period,
        stored=stored,
        stored_count=stored_count,
        records_page=records_page,
        rows=rows,
        total=total,
        restricted=not is_admin(request.user),
        scope_unavailable=scope_unavailable,
        part_urls={
            name: url_with_query("kpis:kpi_drilldown", {**base_params, "part": name}, key=key)
            for name in ("numerator", "denominator")
        },
        page_query=url_with_query("kpis:kpi_drilldown", {**base_params, "part": part}, key=key),
        csv_url=url_with_query(
            "kpis:kpi_drilldown", {**base_params, "part": part, "format": "csv"}, key=key
        ),
        xlsx_url=url_with_query(
            "kpis:kpi_drilldown", {**base_params, "part": part, "format": "xlsx"}, key=key
        ),
        kpi_url=url_with_query("kpis:kpi_detail", filters.params(), key=key),
    )


def _records_csv(
    key: str, period: dt.date, part: str, records: Any, file_format: str = "csv"
) -> HttpResponse:
    # Iterated in chunks: an export is the one place a whole list leaves the database.
    rows = page_queries.record_rows(records.iterator(chunk_size=500))
    return csv_response(
        f"{key}-{period.isoformat()}-{part}",
        [_("Record"), _("Type"), _("Customer"), _("Date"), _("Link")],
        ([row.label, row.kind, row.customer_label, row.when, row.url or ""] for row in rows),
        file_format,
    )

"""Manager KPI pages: overview, one page per KPI with drill-down, analytics pages, the composite
index, alerts and targets, with Chart.js JSON from django-chartjs views and CSV of every table.

Access: every role, each within its KPI scope (`kpis.selectors.kpi_scope_for`): admins and managers
in no team or in every team see the organisation; a manager of some teams those teams and their
people; a support agent their
team's service figures; a sales rep their own. `_filters` narrows every page, chart and drill-down
to that scope (a filter that would show more is replaced by the scope's own cell; a chart asked
for another cell is 404), and a KPI not stored for the scope's dimension says so instead of
showing organisation figures. Pages read `KpiSnapshot` rows; the drill-down list (paginated) and
the pipeline funnel are the only raw-table reads, both through the visibility selectors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chartjs.views.lines import BaseLineChartView
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.importing.export import ExportColumn, export_format, export_response, typed_text
from crm.roles import ROLES, is_admin, is_manager
from crm.templatetags.pulse import kpi_value, plain_number
from crm.views import RoleRequiredMixin, manager_required, role_required
from kpis import charts, page_queries
from kpis.definitions import UnknownKpiError, registry
from kpis.forms import KpiFilters, parse_filters
from kpis.models import Granularity, KpiSnapshot
from kpis.periods import (
    Period,
    PeriodError,
    current_period,
    local_today,
    parse_granularity,
    period_label,
    previous_period,
    query_period,
)
from kpis.priorities import priority_ranks
from kpis.recompute import kpi_recompute_start, kpi_recompute_status
from kpis.selectors import (
    STAGE_TITLES,
    KpiScope,
    cell_figures,
    cell_snapshots,
    cells_in_scope,
    chart_alert_thresholds,
    dimension_not_broken_down,
    drilldown_records_visible_to,
    kpi_figure,
    kpi_freshness,
    kpi_has_snapshots,
    kpi_scope_for,
    series_figure,
    series_snapshots,
    shown_period,
    snapshot_cell,
    target_progress_list,
)
from kpis.weight_selectors import index_chart_datasets, index_history

_KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,50}$")
_DIMENSION_PATTERN = re.compile(r"^[a-z_]{1,30}$")
# Our palette (Bootstrap 5 primary, success, danger, warning, info, indigo, teal, orange).
PALETTE = [
    (13, 110, 253),
    (25, 135, 84),
    (220, 53, 69),
    (255, 193, 7),
    (13, 202, 240),
    (102, 16, 242),
    (32, 201, 151),
    (253, 126, 20),
]
DRILLDOWN_PAGE_SIZE = 25


# --- shared helpers ------------------------------------------------------------------------


# Every role reaches the KPI pages; what each sees is its scope.
kpi_access_required = role_required(*ROLES)


class KpiAccessMixin(RoleRequiredMixin):
    """Chart views: every role, narrowed to its scope by the view."""

    roles = ROLES


def _filters(request: HttpRequest) -> tuple[Any, KpiFilters, dict[str, list[tuple[str, str]]]]:
    """The filter form and the filters narrowed to the user's scope (see the module docstring)."""
    scope = kpi_scope_for(request.user)
    if scope.is_organisation:
        choices = page_queries.filter_choices()
    else:
        # The scope's own cells are the only choices: no snapshot query, nothing of others shown.
        choices = {name: scope.choices(name) for name in scope.dimensions}
    form, filters = parse_filters(request.GET, choices, dimensions=scope.dimensions)
    return form, filters.within(scope), choices


def _chart_filters(request: HttpRequest) -> tuple[KpiScope, KpiFilters]:
    """A chart's filters: a cell outside the user's scope is 404, not quietly replaced; a bad
    granularity or period raises PeriodError (the chart answers 400, see `parse_filters`)."""
    scope = kpi_scope_for(request.user)
    _form, filters = parse_filters(request.GET, dimensions=scope.dimensions, strict=True)
    if filters.dimension != "all" and not scope.allows(filters.dimension, filters.value):
        raise Http404
    return scope, filters.within(scope)


def _covers(scope: KpiScope, key: str, dimension: str) -> bool:
    """Whether the scope may see `key` at all and its snapshots exist for the scope's cell."""
    if not scope.covers(key):
        return False
    if scope.is_organisation:
        return True
    try:
        definition = registry.get(key)
    except UnknownKpiError:  # a key stored by an older definition set: no dimensions to check
        return True
    return dimension in definition.dimensions


def _unavailable(
    request: HttpRequest,
    *,
    title: str,
    filters: KpiFilters,
    form: Any,
    choices: dict[str, list[tuple[str, str]]],
) -> HttpResponse:
    """A page whose figures exist only for the whole organisation, for a scoped user."""
    return _page(
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


def _url(name: str, params: dict[str, str], **kwargs: Any) -> str:
    from urllib.parse import urlencode

    base = reverse(name, kwargs=kwargs or None)
    return f"{base}?{urlencode(params)}" if params else base


def _definition(key: str) -> Any:
    if not _KEY_PATTERN.match(key):
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


def _wants_csv(request: HttpRequest) -> bool:
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


def _page(
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


# --- overview ------------------------------------------------------------------------------


def _index_at(granularity: str, period_start: dt.date) -> tuple[Any, Any]:
    """The index of the period starting `period_start` and the previous one under the same
    weight version (what the change is read against).

    A restated period has one snapshot per version: the active version's is shown, else the
    newest computed (a period scored before the active version and not restated).
    """
    from kpis.models import IndexSnapshot, WeightVersion

    snapshots = IndexSnapshot.objects.filter(granularity=granularity).select_related(
        "version", "version__activated_by"
    )
    shown = (
        snapshots.filter(period_start=period_start)
        .annotate(
            in_force=Case(
                When(version__status=WeightVersion.Status.ACTIVE, then=Value(0)),
                default=Value(1),
            )
        )
        .order_by("in_force", "-computed_at")
        .first()
    )
    if shown is None:
        return None, None
    previous = (
        snapshots.filter(version=shown.version_id, period_start__lt=shown.period_start)
        .order_by("-period_start")
        .first()
    )
    return shown, previous


def _freshness_context(request: HttpRequest, granularity: str) -> dict[str, Any]:
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


@kpi_access_required
def overview(request: HttpRequest) -> HttpResponse:
    form, filters, choices = _filters(request)
    scope = kpi_scope_for(request.user)
    # Cards show the period asked for, else the last closed one; the open one "so far" beside it.
    shown_start, _shown_end = shown_period(
        granularity=filters.granularity, requested=filters.period
    )
    open_start, _open_end = current_period(filters.granularity)
    if filters.is_filtered:
        series = page_queries.cell_series(
            granularity=filters.granularity,
            dimension=filters.dimension,
            value=filters.value,
            first=filters.first_period,
            last=filters.period,
            kpis=None,
        )
    else:
        series = charts.overview_series(
            granularity=filters.granularity, periods=filters.periods, last=filters.period
        )
    if not scope.is_organisation:
        # A scoped user also sees which KPIs are not available at their scope (no rows stored).
        present = {item.key for item in series}
        missing = [key for key in registry.keys() if key not in present]
        order = {key: n for n, key in enumerate(charts.overview_keys([*present, *missing]))}
        series = sorted(
            [
                *series,
                *(
                    charts.build_series(key=key, granularity=filters.granularity, rows=[])
                    for key in missing
                ),
            ],
            key=lambda item: order[item.key],
        )
        # KPIs outside the role's scope (an agent and revenue) are left out altogether.
        series = [item for item in series if scope.covers(item.key)]
    # One figure per card (latest, previous, change, target, open alert), as the digest reads it.
    figures = cell_figures(
        keys=[item.key for item in series],
        granularity=filters.granularity,
        period_start=shown_start,
        dimension=filters.dimension,
        value=filters.value,
        snapshots=series_snapshots(series),
    )
    stage_of = _stages()
    cards = []
    for item in series:
        chart_params: dict[str, str]
        if filters.is_filtered:
            chart_params = {
                "granularity": filters.granularity,
                "periods": str(filters.periods),
                "dimension": filters.dimension,
                "value": filters.value,
            }
        else:
            chart_params = {"granularity": filters.granularity}
            if filters.periods != 24:
                chart_params["periods"] = str(filters.periods)
        # The chart draws the KPI's target and its alert thresholds as lines.
        chart_params["targets"] = "1"
        not_broken_down = (
            page_queries.FILTER_LABELS.get(filters.dimension, filters.dimension)
            if dimension_not_broken_down(item.key, filters.dimension)
            else None
        )
        if not _covers(scope, item.key, filters.dimension):
            # Not stored for the scope's cell (or not the user's to see): no figures at all,
            # rather than the organisation's.
            cards.append(
                {
                    "series": charts.build_series(
                        key=item.key, granularity=filters.granularity, rows=[]
                    ),
                    "stage": stage_of.get(item.key, "other"),
                    "unavailable": True,
                    "not_broken_down": not_broken_down,
                    "figure": None,
                    "so_far": None,
                    "chart_url": None,
                    "page_url": None,
                    "target": None,
                    "alert": None,
                }
            )
            continue
        figure = figures[item.key]
        cards.append(
            {
                "series": item,
                "stage": stage_of.get(item.key, "other"),
                "not_broken_down": not_broken_down,
                "figure": figure,
                # The open period beside the last closed one, compared like-for-like.
                "so_far": series_figure(item, period_start=open_start)
                if shown_start < open_start and filters.period is None
                else None,
                "chart_url": _url("kpis:kpi_chart", chart_params, key=item.key),
                "page_url": _url("kpis:kpi_detail", filters.params(), key=item.key)
                if item.key in registry
                else None,
                "target": figure.target if figure.snapshot else None,
                "alert": figure.alert,
            }
        )
    # Cards grouped by lifecycle stage; stages and cards by index priority (kpis.priorities),
    # then catalogue order, unknown keys last.
    ranks = priority_ranks()
    by_stage: dict[str, list[dict[str, Any]]] = {
        key: [] for key in ranks.order_groups(STAGE_TITLES)
    }
    for card in ranks.order_kpis(cards, key=_card_kpi):
        by_stage.get(str(card["stage"]), by_stage["other"]).append(card)
    stages = [
        {"key": key, "title": STAGE_TITLES.get(key, key), "cards": stage_cards}
        for key, stage_cards in by_stage.items()
        if stage_cards
    ]
    # The composite index is the organisation's: a scoped user is told so on the card. The card
    # shows the same period as the KPI cards.
    index_latest, index_previous = (
        _index_at(filters.granularity, shown_start) if scope.is_organisation else (None, None)
    )
    return _page(
        request,
        "kpis/overview.html",
        tables=[_cards_table(cards)],
        title=_("KPI overview"),
        filters=filters,
        form=form,
        choices=choices,
        cards=cards,
        stages=stages,
        granularity=filters.granularity,
        index_latest=index_latest,
        index_previous=index_previous,
        index_chart_url=_url("kpis:index_chart", {"granularity": filters.granularity}),
        index_period=period_label(filters.granularity, shown_start),
        # The index is the company's: the card says so, and under a filter that it ignores it.
        index_filter_label=page_queries.FILTER_LABELS.get(filters.dimension, "")
        if filters.is_filtered
        else "",
        shown_start=shown_start,
        **_freshness_context(request, filters.granularity),
    )


def _card_kpi(card: Any) -> str:
    return str(card["series"].key)


def _back_with_token(raw: str | None, request: HttpRequest, token: str = "") -> str:
    """The page a recompute was asked from (this site's only), with the job to follow."""
    back = raw or ""
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("kpis:overview")
    if not token:
        return back
    parts = urlsplit(back)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "recompute"]
    query.append(("recompute", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


@require_POST
@manager_required
def recompute(request: HttpRequest) -> HttpResponse:
    """Queue the open and the last closed period of a granularity; the page shows progress."""
    try:
        job = kpi_recompute_start(
            user=request.user, granularity=request.POST.get("granularity") or "month"
        )
    except (ValidationError, PeriodError) as exc:
        error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, error)
        return redirect(_back_with_token(request.POST.get("next"), request))
    return redirect(_back_with_token(request.POST.get("next"), request, job.token))


@kpi_access_required
def last_run(request: HttpRequest) -> HttpResponse:
    """The newest successful KPI run of a granularity (JSON): the KPI pages poll it and swap in
    their figures when a newer run than theirs has landed."""
    try:
        granularity = parse_granularity(request.GET.get("granularity", Granularity.MONTH))
    except PeriodError as error:
        return JsonResponse({"error": str(error)}, status=400)
    freshness = kpi_freshness(granularity=granularity)
    text = render_to_string("kpis/_freshness_text.html", {"freshness": freshness}, request=request)
    return JsonResponse(
        {
            "granularity": granularity,
            "computed_at": freshness.stamp or None,
            "running": freshness.running,
            "failed": freshness.failed_at is not None,
            "text": text.strip(),
            # When the run finished, in the organisation's time zone (the badge on the page).
            "updated_text": _("figures updated at %(time)s")
            % {"time": time_format(timezone.localtime(freshness.computed_at), "H:i")}
            if freshness.computed_at
            else "",
        }
    )


@manager_required
def recompute_status(request: HttpRequest, token: str) -> HttpResponse:
    """The progress of one recompute, for the page's progress bar (JSON)."""
    status = kpi_recompute_status(token)
    if status is None:
        raise Http404
    return JsonResponse(status.as_json())


def _cards_table(cards: Sequence[dict[str, Any]]) -> Table:
    """The overview's cards as rows: exported as CSV, not rendered (the cards show it)."""
    table = Table(
        slug="cards",
        title=_("KPI overview"),
        columns=[
            _("KPI"),
            _("Stage"),
            _("Period start"),
            _("Value"),
            _("Change vs previous period"),
            _("Numerator"),
            _("Denominator"),
            _("Sample size"),
            _("Low sample"),
            _("Provisional"),
            _("Target"),
            _("Target progress"),
            _("Alert"),
        ],
    )
    for card in cards:
        series, target, alert = card["series"], card["target"], card["alert"]
        figure = card["figure"]
        latest = figure.snapshot if figure else None
        unit = series.presentation.unit
        table.rows.append(
            [
                cell(series.key),
                cell(card["stage"]),
                cell(latest.period_start.isoformat() if latest else ""),
                value_cell(latest.value if latest else None, unit),
                number_cell(figure.change if figure else None),
                number_cell(latest.numerator if latest else None),
                number_cell(latest.denominator if latest else None),
                cell(latest.sample_size if latest else ""),
                cell(bool(latest and latest.low_sample)),
                cell(bool(latest and latest.provisional)),
                number_cell(target.resolved_value if target else None),
                number_cell(target.progress if target else None),
                cell(alert.state if alert else ""),
            ]
        )
    return table


def _stages() -> dict[str, str]:
    return {definition.key: definition.stage for definition in registry.all()}


# --- KPI page --------------------------------------------------------------------------------


def _period_notes(key: str, granularity: str, rows: Sequence[KpiSnapshot]) -> dict[dt.date, Any]:
    """{period start: annotations explaining it} for the table's rows (1 query)."""
    from reports.annotations import annotations_by_period, annotations_for

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
            link = _url(
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
    definition = _definition(key)
    form, filters, choices = _filters(request)
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
    has_records = type(definition).records is not _base_records()
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
        breakdown_url = _url(
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
    return _page(
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
        trend_url=_url("kpis:kpi_chart", chart_params, key=key),
        breakdown_url=breakdown_url,
        breakdown_dims=[(d, page_queries.FILTER_LABELS.get(d, d)) for d in breakdown_dims],
        breakdown_by=by,
        breakdown_period=breakdown_period,
        has_records=has_records,
        can_annotate=is_manager(request.user),
        not_broken_down=page_queries.FILTER_LABELS.get(filters.dimension, filters.dimension)
        if unsupported
        else "",
        **_freshness_context(request, filters.granularity),
    )


def _base_records() -> Any:
    from kpis.definitions.base import KpiDefinition

    return KpiDefinition.records


@kpi_access_required
def kpi_drilldown(request: HttpRequest, key: str) -> HttpResponse:
    """The records behind one snapshot's numerator or denominator, by the KPI's own query."""
    from kpis.selectors import snapshot_drilldown

    definition = _definition(key)
    form, filters, choices = _filters(request)
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
            if _wants_csv(request):
                return _records_csv(key, period, part, records, export_format(request) or "csv")
            paginator = Paginator(records, DRILLDOWN_PAGE_SIZE)
            records_page = paginator.get_page(request.GET.get("page"))
            total = paginator.count
            rows = page_queries.record_rows(records_page.object_list)
    stored_count = None
    if stored is not None:
        stored_count = stored.numerator if part == "numerator" else stored.denominator
    base_params = filters.params(period=period.isoformat() if period else None)
    return _page(
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
            name: _url("kpis:kpi_drilldown", {**base_params, "part": name}, key=key)
            for name in ("numerator", "denominator")
        },
        page_query=_url("kpis:kpi_drilldown", {**base_params, "part": part}, key=key),
        csv_url=_url("kpis:kpi_drilldown", {**base_params, "part": part, "format": "csv"}, key=key),
        xlsx_url=_url(
            "kpis:kpi_drilldown", {**base_params, "part": part, "format": "xlsx"}, key=key
        ),
        kpi_url=_url("kpis:kpi_detail", filters.params(), key=key),
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


# --- chart JSON ------------------------------------------------------------------------------


class ChartCsvMixin:
    """`?format=csv` or `?format=xlsx` on a chart view: one row per label, one column per
    dataset."""

    request: HttpRequest

    def chart_csv(self, name: str, labels: Sequence[Any], datasets: Sequence[dict[str, Any]]):
        header = [_("Period"), *[str(ds.get("label", "")) for ds in datasets]]
        rows = [[str(label), *[ds["data"][i] for ds in datasets]] for i, label in enumerate(labels)]
        return csv_response(name, header, rows, export_format(self.request) or "csv")


class KpiChartView(KpiAccessMixin, ChartCsvMixin, BaseLineChartView):
    """Chart.js `{labels, datasets}` for one KPI: dimension `all` by default, one line per value
    of `?dimension=`, or the single cell `?dimension=&value=`. `?targets=1` adds the target line.
    Labels are period starts (ISO dates); n/a values are null (gaps). `?targets=1` also draws the
    thresholds of the active alert rules on the same cell, one flat line each."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = kwargs["key"]
        self.dimension = request.GET.get("dimension", "all")
        self.value = request.GET.get("value")
        try:
            # `?period=`: the window ends with that period, as the KPI page's table does.
            self.granularity, period = query_period(
                request.GET.get("granularity"), request.GET.get("period")
            )
        except PeriodError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        self.last = period.start if period else None
        try:
            self.periods = int(request.GET.get("periods", charts.DEFAULT_PERIODS))
        except ValueError:
            return JsonResponse({"error": "periods must be an integer"}, status=400)
        if not 1 <= self.periods <= charts.MAX_PERIODS:
            return JsonResponse({"error": f"periods must be 1–{charts.MAX_PERIODS}"}, status=400)
        if not _KEY_PATTERN.match(key) or not _DIMENSION_PATTERN.match(self.dimension):
            raise Http404
        scope = kpi_scope_for(request.user)
        # A scoped user charts one of their own cells, nothing wider (no line per team).
        if not scope.covers(key) or not (
            scope.is_organisation or scope.allows(self.dimension, self.value)
        ):
            raise Http404
        self.presentation = charts.kpi_presentation(key)
        self.axis, self.lines = charts.dimension_series(
            key=key,
            granularity=self.granularity,
            dimension=self.dimension,
            periods=self.periods,
            value=self.value,
            last=self.last,
        )
        known = key in charts.FEATURED_KPIS or key in registry
        if not self.lines and not known and not kpi_has_snapshots(kpi=key):
            raise Http404
        self.target_line = self._target_line(key) if request.GET.get("targets") else None
        self.thresholds = (
            chart_alert_thresholds(
                key=key,
                granularity=self.granularity,
                dimension=self.dimension,
                value=self.value or "",
            )
            if request.GET.get("targets") and self.axis
            else []
        )
        if _wants_csv(request):
            context = self.get_context_data()
            return self.chart_csv(
                f"{key}-{self.granularity}", context["labels"], context["datasets"]
            )
        return super().get(request, *args, **kwargs)

    def _target_line(self, key: str) -> list[Decimal | None] | None:
        if not self.axis:
            return None
        progress = target_progress_list(
            kpis=[key],
            granularity=self.granularity,
            dimension=self.dimension,
            dimension_value=self.value or "",
            period_starts=self.axis,
        )
        if not progress:
            return None
        goals = {p.target.period_start: p.resolved_value for p in progress}
        unit = self.presentation.unit
        return [charts.display_value(goals.get(start), unit) for start in self.axis]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Built explicitly: TemplateView's context also holds the view and URL kwargs.
        unit = self.presentation.unit
        datasets = self.get_datasets()
        if self.target_line is not None:
            datasets.append(
                {
                    "type": "line",
                    "label": str(_("Target")),
                    "data": self.target_line,
                    "borderColor": "rgba(33, 37, 41, 0.9)",
                    "backgroundColor": "rgba(33, 37, 41, 0.9)",
                    "borderDash": [6, 4],
                    "borderWidth": 2,
                    "pointRadius": 3,
                    # Targets are set for some periods only: join them into one line.
                    "spanGaps": True,
                    "fill": False,
                }
            )
        for side, threshold in self.thresholds:
            label = _("Alert below %(value)s") if side == "below" else _("Alert above %(value)s")
            datasets.append(
                {
                    "type": "line",
                    "label": label % {"value": kpi_value(threshold, unit)},
                    "data": [charts.display_value(threshold, unit)] * len(self.axis),
                    "borderColor": "rgba(220, 53, 69, 0.9)",
                    "backgroundColor": "rgba(220, 53, 69, 0.9)",
                    "borderDash": [2, 3],
                    "borderWidth": 1.5,
                    "pointRadius": 0,
                    "fill": False,
                    "threshold": side,
                }
            )
        return {
            "labels": self.get_labels(),
            "datasets": datasets,
            "kpi": self.presentation.key,
            "name": self.presentation.name,
            "unit": unit,
            "currency": settings.CRM_CURRENCY,
            "granularity": self.granularity,
            "dimension": self.dimension,
            "chartType": "bar" if unit in (charts.UNIT_MONEY, charts.UNIT_COUNT) else "line",
            # Notes explaining periods of this window, marked on the chart by kpi-charts.js.
            "annotations": charts.chart_annotations(
                key=self.presentation.key, granularity=self.granularity, axis=self.axis
            ),
        }

    def get_labels(self) -> list[Any]:
        return list(self.axis)

    def get_providers(self) -> list[str]:
        if self.dimension == "all" and not self.value:
            return [self.presentation.name]
        return [label for label, _rows in self.lines]

    def get_data(self) -> list[list[Any]]:
        unit = self.presentation.unit
        return [
            [charts.display_value(row.value if row else None, unit) for row in rows]
            for _label, rows in self.lines
        ]

    def get_colors(self) -> Any:
        while True:
            yield from PALETTE

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rows = self.lines[index][1]
        rgb = ", ".join(str(part) for part in color)
        return {
            "backgroundColor": f"rgba({rgb}, 0.35)",
            "borderColor": f"rgba({rgb}, 1)",
            "pointBackgroundColor": f"rgba({rgb}, 1)",
            "borderWidth": 2,
            "tension": 0.2,
            # A NULL value is n/a (zero denominator): leave a gap rather than join across it.
            "spanGaps": False,
            "sampleSizes": [row.sample_size if row else None for row in rows],
            "lowSample": [bool(row and row.low_sample) for row in rows],
            "provisional": [bool(row and row.provisional) for row in rows],
        }

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return charts.chart_json(context)


@dataclass
class ChartPayload:
    """What a page chart shows: category labels and named series, in display units."""

    labels: list[Any]
    series: list[tuple[str, list[Any], dict[str, Any]]]
    unit: str = charts.UNIT_NUMBER
    chart_type: str = "line"
    granularity: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PayloadChartView(KpiAccessMixin, ChartCsvMixin, BaseLineChartView):
    """A django-chartjs view for the analytics pages; subclasses build a `ChartPayload`."""

    http_method_names = ["get", "head", "options"]
    chart_name = "chart"
    # Figures of the whole organisation only (the composite index): 404 for a scoped user.
    organisation_only = False
    # The KPIs the chart shows: 404 for a user whose scope covers none of them.
    kpis: tuple[str, ...] = ()

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.scope, filters = _chart_filters(request)
        except PeriodError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        if not self.scope.is_organisation and (
            self.organisation_only
            or (self.kpis and not any(self.scope.covers(key) for key in self.kpis))
        ):
            raise Http404
        self.payload = self.build(request, filters, **kwargs)
        if _wants_csv(request):
            context = self.get_context_data()
            return self.chart_csv(self.chart_name, context["labels"], context["datasets"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "labels": self.get_labels(),
            "datasets": self.get_datasets(),
            "unit": self.payload.unit,
            "currency": settings.CRM_CURRENCY,
            "granularity": self.payload.granularity,
            "chartType": self.payload.chart_type,
            **self.payload.extra,
        }

    def get_labels(self) -> list[Any]:
        return self.payload.labels

    def get_providers(self) -> list[str]:
        return [label for label, _data, _options in self.payload.series]

    def get_data(self) -> list[list[Any]]:
        return [data for _label, data, _options in self.payload.series]

    def get_colors(self) -> Any:
        while True:
            yield from PALETTE

    def get_dataset_options(self, index: int, color: tuple[int, int, int]) -> dict[str, Any]:
        rgb = ", ".join(str(part) for part in color)
        options = {
            "backgroundColor": f"rgba({rgb}, 0.55)",
            "borderColor": f"rgba({rgb}, 1)",
            "borderWidth": 2,
            "spanGaps": False,
        }
        options.update(self.payload.series[index][2])
        return options

    def convert_context_to_json(self, context: dict[str, Any]) -> str:
        return charts.chart_json(context)


class KpiBreakdownChartView(PayloadChartView):
    """One period of a KPI split by a dimension (a bar per value), from stored snapshots."""

    chart_name = "breakdown"

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        key = kwargs["key"]
        definition = _definition(key)
        by = request.GET.get("by", "")
        if by not in definition.dimensions or by == "all" or filters.period is None:
            raise Http404
        scope = self.scope
        if not scope.covers(key) or not (scope.is_organisation or by in scope.dimensions):
            raise Http404
        self.chart_name = f"{key}-{by}-{filters.period.isoformat()}"
        presentation = charts.kpi_presentation(key)
        rows = page_queries.breakdown_rows(
            kpi=key, granularity=filters.granularity, period_start=filters.period, dimension=by
        )
        if not scope.is_organisation:
            # A bar per team or person of the scope; other teams' bars are not the user's.
            allowed = set(scope.values(by) or ())
            rows = [row for row in rows if row.dimension_value in allowed]
        return ChartPayload(
            labels=[row.dimension_label or row.dimension_value or "—" for row in rows],
            series=[
                (
                    str(presentation.name),
                    [charts.display_value(row.value, presentation.unit) for row in rows],
                    {
                        "sampleSizes": [row.sample_size for row in rows],
                        "lowSample": [row.low_sample for row in rows],
                    },
                )
            ],
            unit=presentation.unit,
            chart_type="bar",
            extra={"categorical": True, "indexAxis": "y"},
        )


class IndexChartView(PayloadChartView):
    """The composite index over time with its coverage (C2's IndexSnapshot)."""

    chart_name = "index"
    organisation_only = True

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        # One line per weight version, never mixed; each version change is marked.
        history = index_history(granularity=filters.granularity, first=filters.first_period)
        series, markers = index_chart_datasets(history, filters.granularity)
        return ChartPayload(
            labels=history.labels,
            series=series,
            unit=charts.UNIT_SCORE,
            granularity=filters.granularity,
            extra={"annotations": markers},
        )


class WaterfallChartView(PayloadChartView):
    """Why the index moved: previous value, each indicator's change of contribution, latest."""

    chart_name = "index-waterfall"
    organisation_only = True

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        latest, previous, steps = _waterfall(filters.granularity, filters.period)
        labels: list[Any] = []
        bars: list[Any] = []
        colours: list[str] = []
        if latest is not None and latest.value is not None:
            running = previous.value if previous is not None and previous.value is not None else 0
            labels.append(str(_("Previous")))
            bars.append([0, running])
            colours.append("rgba(108, 117, 125, 0.7)")
            for name, delta in steps:
                labels.append(name)
                bars.append([running, running + delta])
                colours.append("rgba(25, 135, 84, 0.7)" if delta >= 0 else "rgba(220, 53, 69, 0.7)")
                running += delta
            labels.append(str(_("Latest")))
            bars.append([0, latest.value])
            colours.append("rgba(13, 110, 253, 0.7)")
        return ChartPayload(
            labels=labels,
            series=[(str(_("Index points")), bars, {"backgroundColor": colours})],
            unit=charts.UNIT_SCORE,
            chart_type="bar",
            extra={"categorical": True, "floating": True},
        )


def _waterfall(
    granularity: str, requested: dt.date | None
) -> tuple[Any, Any, list[tuple[str, Decimal]]]:
    """The shown period's index (the one asked for, else the last closed one), the previous
    period's under the same version and each indicator's change in points between them."""
    from kpis.models import IndexContribution

    shown_start, _shown_end = shown_period(granularity=granularity, requested=requested)
    latest, previous = _index_at(granularity, shown_start)
    if latest is None:
        return None, None, []
    ids = [row.pk for row in (latest, previous) if row is not None]
    contributions = IndexContribution.objects.filter(snapshot_id__in=ids)
    by_kpi: dict[str, dict[int, Decimal]] = {}
    for row in contributions:
        by_kpi.setdefault(row.kpi, {})[row.snapshot_id] = (
            row.contribution if row.present else Decimal(0)
        )
    steps = []
    # Indicators by priority (kpis.priorities), alphabetical among equals.
    for kpi, values in priority_ranks().order_kpis(sorted(by_kpi.items()), key=lambda i: i[0]):
        delta = values.get(latest.pk, Decimal(0)) - (
            values.get(previous.pk, Decimal(0)) if previous is not None else Decimal(0)
        )
        steps.append((str(charts.kpi_presentation(kpi).name), delta))
    if latest.value is not None:
        # Rescaling after a missing indicator moves every share: show the rest as its own bar.
        start = (
            previous.value if previous is not None and previous.value is not None else Decimal(0)
        )
        rest = latest.value - start - sum((delta for _n, delta in steps), Decimal(0))
        if abs(rest) >= Decimal("0.01"):
            steps.append((str(_("Reweighting and rounding")), rest))
    return latest, previous, steps


# --- analytics pages --------------------------------------------------------------------------


def _cell_params(filters: KpiFilters) -> dict[str, str]:
    return filters.params()


@kpi_access_required
def cohorts(request: HttpRequest) -> HttpResponse:
    """Cohort retention heat-map: share of month-c customers active in month c + k."""
    from kpis.activity import ActivityRules, cohort_retention_matrix

    form, filters, choices = _filters(request)
    if not kpi_scope_for(request.user).is_organisation:
        # The matrix is computed for the whole organisation only.
        return _unavailable(
            request, title=_("Cohort retention"), filters=filters, form=form, choices=choices
        )
    months = min(filters.periods, 12)
    # Cohorts are months whatever the page's granularity: the month of the period asked for.
    last = Period.containing(Granularity.MONTH, filters.period or local_today())
    first = last.shift(-(months - 1)).start
    matrix = cohort_retention_matrix(first, months, ActivityRules.load())
    table = Table(
        slug="cohorts",
        title=_("Cohort retention"),
        columns=[_("Cohort"), _("Customers")] + [f"+{k}" for k in range(months)],
        note=_(
            "Share of the customers acquired in a month who are active k months later; "
            "blank cells are months not yet over."
        ),
    )
    for row in matrix:
        cells = [cell(row.cohort.strftime("%Y-%m")), cell(row.size)]
        for share in row.cells:
            if share is None:
                cells.append(Cell(text="", csv="", css="heat-na"))
            else:
                bucket = min(int(share * 10), 9)
                cells.append(
                    Cell(text=f"{share * 100:.0f} %", csv=f"{share:.4f}", css=f"heat heat-{bucket}")
                )
        cells.extend(Cell(text="", csv="", css="heat-na") for _k in range(months - len(row.cells)))
        table.rows.append(cells)
    return _page(
        request,
        "kpis/analytics.html",
        title=_("Cohort retention"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[table],
        notes=[
            _(
                "All customers: the cohort matrix is computed for the whole organisation, "
                "not per filter."
            )
        ],
    )


NPS_GROUPS = (
    ("promoters", gettext_lazy("Promoters")),
    ("passives", gettext_lazy("Passives")),
    ("detractors", gettext_lazy("Detractors")),
)


def _nps_rows(filters: KpiFilters) -> list[KpiSnapshot]:
    dimension, value = filters.dimension, filters.value
    if dimension not in registry.get("nps").dimensions:
        dimension, value = "all", ""
    return page_queries.series_rows(
        kpis=["nps"],
        granularity=filters.granularity,
        dimension=dimension,
        value=value,
        first=filters.first_period,
    ).get("nps", [])


class NpsChartView(PayloadChartView):
    chart_name = "nps-distribution"
    kpis = ("nps",)

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        rows = _nps_rows(filters)
        series = []
        colours = {
            "promoters": {
                "backgroundColor": "rgba(25, 135, 84, 0.75)",
                "borderColor": "rgba(25, 135, 84, 1)",
            },
            "passives": {
                "backgroundColor": "rgba(255, 193, 7, 0.75)",
                "borderColor": "rgba(255, 193, 7, 1)",
            },
            "detractors": {
                "backgroundColor": "rgba(220, 53, 69, 0.75)",
                "borderColor": "rgba(220, 53, 69, 1)",
            },
        }
        for name, label in NPS_GROUPS:
            series.append(
                (
                    str(label),
                    [(row.details or {}).get(name) for row in rows],
                    {**colours[name], "stack": "nps"},
                )
            )
        return ChartPayload(
            labels=[row.period_start for row in rows],
            series=series,
            unit=charts.UNIT_COUNT,
            chart_type="bar",
            granularity=filters.granularity,
            extra={"stacked": True},
        )


@kpi_access_required
def nps(request: HttpRequest) -> HttpResponse:
    form, filters, choices = _filters(request)
    if not kpi_scope_for(request.user).covers("nps"):
        return _unavailable(
            request, title=_("NPS distribution"), filters=filters, form=form, choices=choices
        )
    rows = _nps_rows(filters)
    table = Table(
        slug="nps",
        title=_("NPS by period"),
        columns=[
            _("Period start"),
            _("NPS"),
            _("Promoters"),
            _("Passives"),
            _("Detractors"),
            _("Responses"),
            _("Margin of error"),
            _("Low sample"),
        ],
    )
    for row in reversed(rows):
        details = row.details or {}
        table.rows.append(
            [
                cell(row.period_start.isoformat()),
                value_cell(row.value, charts.UNIT_SCORE),
                cell(details.get("promoters", "")),
                cell(details.get("passives", "")),
                cell(details.get("detractors", "")),
                cell(row.sample_size),
                cell(details.get("margin_of_error", "")),
                cell(_("low sample") if row.low_sample else "", row.low_sample),
            ]
        )
    return _page(
        request,
        "kpis/analytics.html",
        title=_("NPS distribution"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[table],
        chart_blocks=[
            {
                "slug": "nps",
                "title": _("Promoters, passives and detractors"),
                "url": _url("kpis:nps_chart", filters.params()),
                "stacked": "1",
            }
        ],
    )


SUPPORT_KPIS = (
    "first_response_time",
    "resolution_time",
    "sla_first_response_attainment",
    "sla_resolution_attainment",
)


def _support_cell(filters: KpiFilters) -> tuple[str, str]:
    if filters.dimension in ("team", "owner", "segment"):
        return filters.dimension, filters.value
    return "all", ""


class SupportChartView(PayloadChartView):
    chart_name = "support-durations"
    kpis = SUPPORT_KPIS[:2]

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        dimension, value = _support_cell(filters)
        grouped = page_queries.series_rows(
            kpis=SUPPORT_KPIS[:2],
            granularity=filters.granularity,
            dimension=dimension,
            value=value,
            first=filters.first_period,
        )
        starts = sorted({row.period_start for rows in grouped.values() for row in rows})
        series = []
        stat_names = {"median": _("median"), "p90": _("p90")}
        for key in SUPPORT_KPIS[:2]:
            by_start = {row.period_start: row.details or {} for row in grouped.get(key, [])}
            name = charts.kpi_presentation(key).name
            for stat, dash in (("median", []), ("p90", [5, 4])):
                series.append(
                    (
                        f"{name} — {stat_names[stat]}",
                        [by_start.get(start, {}).get(stat) for start in starts],
                        {"borderDash": dash, "fill": False},
                    )
                )
        return ChartPayload(
            labels=starts, series=series, unit=charts.UNIT_MINUTES, granularity=filters.granularity
        )


@kpi_access_required
def support_analytics(request: HttpRequest) -> HttpResponse:
    from support.models import Ticket
    from support.selectors import tickets_visible_to

    form, filters, choices = _filters(request)
    scope = kpi_scope_for(request.user)
    if not any(scope.covers(key) for key in SUPPORT_KPIS):
        return _unavailable(
            request, title=_("Support analytics"), filters=filters, form=form, choices=choices
        )
    dimension, value = _support_cell(filters)
    grouped = page_queries.series_rows(
        kpis=SUPPORT_KPIS,
        granularity=filters.granularity,
        dimension=dimension,
        value=value,
        first=filters.first_period,
    )
    starts, cells = page_queries.period_cells(grouped)
    periods = Table(
        slug="periods",
        title=_("Response, resolution and SLA by period"),
        columns=[
            _("Period start"),
            _("First response median"),
            _("First response p90"),
            _("Resolution median"),
            _("Resolution p90"),
            _("SLA first response"),
            _("SLA resolution"),
            _("Tickets solved"),
        ],
    )
    for start in starts:
        first, resolution = (
            cells.get(("first_response_time", start)),
            cells.get(("resolution_time", start)),
        )
        sla_first = cells.get(("sla_first_response_attainment", start))
        sla_res = cells.get(("sla_resolution_attainment", start))

        def stat(row: KpiSnapshot | None, name: str) -> Cell:
            figure = (row.details or {}).get(name) if row else None
            return value_cell(None if figure is None else Decimal(str(figure)), charts.UNIT_MINUTES)

        periods.rows.append(
            [
                cell(start.isoformat()),
                stat(first, "median"),
                stat(first, "p90"),
                stat(resolution, "median"),
                stat(resolution, "p90"),
                value_cell(sla_first.value if sla_first else None, charts.UNIT_RATE),
                value_cell(sla_res.value if sla_res else None, charts.UNIT_RATE),
                cell(resolution.sample_size if resolution else ""),
            ]
        )
    # Per agent: the owner-dimension snapshots of the latest period (1 query).
    agent_kpis = (*SUPPORT_KPIS, "csat", "one_touch_rate", "reopen_rate")
    latest = filters.period or (starts[0] if starts else None)
    agents = Table(
        slug="agents",
        title=_("Per agent"),
        columns=[
            _("Agent"),
            _("Tickets answered"),
            _("First response median"),
            _("Resolution median"),
            _("SLA first response"),
            _("SLA resolution"),
            _("CSAT"),
            _("One-touch rate"),
            _("Reopen rate"),
        ],
        note=_(
            "CSAT appears per agent once the KPI run stores CSAT by owner; until then it is n/a."
        ),
    )
    if latest is not None:
        by_cell = page_queries.latest_cells(
            kpis=agent_kpis, granularity=filters.granularity, dimension="owner", period_start=latest
        )
        # A scoped user's table holds the people of their scope only (a rep: themselves).
        allowed = None if scope.is_organisation else set(scope.values("owner") or ())
        owners = sorted(
            {owner for _k, owner in by_cell if allowed is None or owner in allowed},
            key=lambda o: str(
                next((r.dimension_label for (k, v), r in by_cell.items() if v == o), o)
            ),
        )
        for owner in owners:
            label = next(r.dimension_label for (k, v), r in by_cell.items() if v == owner) or owner
            frt, res = (
                by_cell.get(("first_response_time", owner)),
                by_cell.get(("resolution_time", owner)),
            )
            agents.rows.append(
                [
                    cell(label or _("(unassigned)"), owner),
                    cell(frt.sample_size if frt else ""),
                    value_cell(frt.value if frt else None, charts.UNIT_MINUTES),
                    value_cell(res.value if res else None, charts.UNIT_MINUTES),
                    *[
                        value_cell(
                            getattr(by_cell.get((k, owner)), "value", None), charts.UNIT_RATE
                        )
                        for k in (
                            "sla_first_response_attainment",
                            "sla_resolution_attainment",
                            "csat",
                            "one_touch_rate",
                            "reopen_rate",
                        )
                    ],
                ]
            )
    backlog = page_queries.ticket_backlog(tickets_visible_to(request.user))
    status_names = dict(Ticket.Status.choices)
    backlog_table = Table(
        slug="backlog",
        title=_("Backlog now"),
        columns=[_("Status"), _("Open tickets")],
        note=_("Tickets not solved or closed, now, among the tickets visible to you."),
        rows=[[cell(status_names.get(s, s), s), cell(n)] for s, n in sorted(backlog.items())],
    )
    return _page(
        request,
        "kpis/analytics.html",
        title=_("Support analytics"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[periods, agents, backlog_table],
        chart_blocks=[
            {
                "slug": "support",
                "title": _("First response and resolution (business minutes)"),
                "url": _url("kpis:support_chart", filters.params()),
            }
        ],
    )


PIPELINE_KPIS = ("win_rate", "pipeline_value", "sales_cycle_days")


def _funnel(request: HttpRequest, filters: KpiFilters) -> page_queries.Funnel:
    from sales.selectors import opportunities_visible_to

    first = filters.first_period
    since = dt.datetime.combine(first, dt.time.min, tzinfo=timezone.get_current_timezone())
    opportunities = opportunities_visible_to(request.user)
    if filters.dimension in ("team", "owner") and filters.value:
        opportunities = opportunities.filter(**{f"{filters.dimension}_id": filters.value})
    return page_queries.pipeline_funnel(since=since, opportunities=opportunities)


class FunnelChartView(PayloadChartView):
    chart_name = "pipeline-funnel"
    kpis = PIPELINE_KPIS

    def build(self, request: HttpRequest, filters: KpiFilters, **kwargs: Any) -> ChartPayload:
        funnel = _funnel(request, filters)
        return ChartPayload(
            labels=[stage.name for stage in funnel.stages],
            series=[
                (str(_("Deals that reached the stage")), [s.reached for s in funnel.stages], {})
            ],
            unit=charts.UNIT_COUNT,
            chart_type="bar",
            extra={"categorical": True, "indexAxis": "y"},
        )


@kpi_access_required
def pipeline_analytics(request: HttpRequest) -> HttpResponse:
    form, filters, choices = _filters(request)
    if not any(kpi_scope_for(request.user).covers(key) for key in PIPELINE_KPIS):
        return _unavailable(
            request, title=_("Pipeline analytics"), filters=filters, form=form, choices=choices
        )
    funnel = _funnel(request, filters)
    stages = Table(
        slug="funnel",
        title=_("Funnel from stage history"),
        columns=[
            _("Stage"),
            _("Probability"),
            _("Deals reached"),
            _("Conversion to next stage"),
            _("Mean days in stage"),
        ],
        note=_(
            "Deals created in the shown window and visible to you; "
            "conversion follows the stage order."
        ),
    )
    for stage in funnel.stages:
        stages.rows.append(
            [
                cell(stage.name, stage.code),
                value_cell(stage.probability, charts.UNIT_RATE),
                cell(stage.reached),
                value_cell(stage.conversion, charts.UNIT_RATE),
                cell(
                    stage.mean_days if stage.mean_days is not None else _("n/a"),
                    stage.mean_days or "",
                ),
            ]
        )
    dimension, value = (
        (filters.dimension, filters.value)
        if filters.dimension in ("team", "owner")
        else ("all", "")
    )
    grouped = page_queries.series_rows(
        kpis=["win_rate", "pipeline_value", "sales_cycle_days"],
        granularity=filters.granularity,
        dimension=dimension,
        value=value,
        first=filters.first_period,
    )
    starts, cells = page_queries.period_cells(grouped)
    periods = Table(
        slug="periods",
        title=_("Win rate and forecast by period"),
        columns=[
            _("Period start"),
            _("Win rate"),
            _("Deals closed"),
            _("Open pipeline"),
            _("Forecast (weighted pipeline)"),
            _("Sales cycle (median days)"),
        ],
    )
    for start in starts:
        win, pipe, cycle = (
            cells.get((k, start)) for k in ("win_rate", "pipeline_value", "sales_cycle_days")
        )
        weighted = (pipe.details or {}).get("weighted") if pipe else None
        periods.rows.append(
            [
                cell(start.isoformat()),
                value_cell(win.value if win else None, charts.UNIT_RATE),
                number_cell(win.denominator if win else None),
                value_cell(pipe.value if pipe else None, charts.UNIT_MONEY),
                value_cell(Decimal(weighted) if weighted is not None else None, charts.UNIT_MONEY),
                value_cell(cycle.value if cycle else None, charts.UNIT_DAYS),
            ]
        )
    return _page(
        request,
        "kpis/analytics.html",
        title=_("Pipeline analytics"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[stages, periods],
        chart_blocks=[
            {
                "slug": "funnel",
                "title": _("Funnel"),
                "url": _url("kpis:funnel_chart", filters.params()),
            }
        ],
    )


LEADERBOARD_KPIS = ("revenue", "customers_new", "win_rate", "churn_rate", "csat")


@kpi_access_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Teams (or reps with ?by=owner) side by side on the latest period, with target progress.

    A scoped user's board holds the teams or people of their scope only."""
    form, filters, choices = _filters(request)
    scope = kpi_scope_for(request.user)
    if not any(scope.covers(key) for key in LEADERBOARD_KPIS):
        return _unavailable(
            request, title=_("Team leaderboard"), filters=filters, form=form, choices=choices
        )
    by = "owner" if request.GET.get("by") == "owner" else "team"
    if not scope.is_organisation and by not in scope.dimensions:
        by = "owner"
    allowed = None if scope.is_organisation else set(scope.values(by) or ())
    latest = (
        filters.period
        or page_queries.latest_period(
            kpi="revenue", granularity=filters.granularity, dimension=by, value=None
        )
        or page_queries.latest_period(
            kpi=None, granularity=filters.granularity, dimension="all", value=""
        )
    )
    table = Table(
        slug="leaderboard",
        title=_("Leaderboard against targets"),
        columns=[_("Rep") if by == "owner" else _("Team")]
        + [str(charts.kpi_presentation(k).name) for k in LEADERBOARD_KPIS],
        note=_(
            "Latest period; a target's resolved value and progress follow each figure "
            "where one is set."
        ),
    )
    if latest is not None:
        by_cell = page_queries.latest_cells(
            kpis=LEADERBOARD_KPIS,
            granularity=filters.granularity,
            dimension=by,
            period_start=latest,
        )
        progress = {
            (p.target.kpi, p.target.dimension_value): p
            for p in target_progress_list(
                granularity=filters.granularity,
                dimension=by,
                period_starts=[latest],
                kpis=LEADERBOARD_KPIS,
            )
        }
        by_cell = {
            (k, v): r
            for (k, v), r in by_cell.items()
            if (allowed is None or v in allowed) and scope.covers(k)
        }
        labels = {v: r.dimension_label or v for (k, v), r in by_cell.items()}
        revenue = {v: r.value or Decimal(0) for (k, v), r in by_cell.items() if k == "revenue"}
        for member in sorted(labels, key=lambda v: (-revenue.get(v, Decimal(0)), labels[v])):
            row = [cell(labels[member], member)]
            for key in LEADERBOARD_KPIS:
                snap = by_cell.get((key, member))
                unit = charts.kpi_presentation(key).unit
                shown = value_cell(snap.value if snap else None, unit)
                goal = progress.get((key, member))
                if goal is not None and goal.resolved_value is not None:
                    pct = f" ({goal.progress * 100:.0f} %)" if goal.progress is not None else ""
                    shown.text += " / " + kpi_value(goal.resolved_value, unit) + pct
                    shown.css = "table-success" if goal.achieved else ""
                row.append(shown)
            table.rows.append(row)
    return _page(
        request,
        "kpis/analytics.html",
        title=_("Team leaderboard"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[table],
        extra_query=f"by={by}",
        intro=_("Switch to reps with ?by=owner.") if by == "team" else "",
    )


# --- index, alerts and targets (C2's models) ------------------------------------------------------


@kpi_access_required
def index_page(request: HttpRequest) -> HttpResponse:
    from kpis.models import IndexContribution

    form, filters, choices = _filters(request)
    if not kpi_scope_for(request.user).is_organisation:
        # The composite index is computed for the whole organisation only.
        return _unavailable(
            request, title=_("CRM quality index"), filters=filters, form=form, choices=choices
        )
    # Opens on the last closed period, like the overview: an open period's index is partial.
    latest, previous, steps = _waterfall(filters.granularity, filters.period)
    contributions = Table(
        slug="contributions",
        title=_("Contributions to the latest value"),
        columns=[
            _("Group"),
            _("Indicator"),
            _("Raw value"),
            _("Score (0–100)"),
            _("Weight"),
            _("Effective share"),
            _("Contribution (points)"),
            _("Change since previous"),
            _("Missing"),
        ],
    )
    if latest is not None:
        deltas = dict(steps)
        ranks = priority_ranks()
        rows = ranks.order_groups(
            ranks.order_kpis(
                IndexContribution.objects.filter(snapshot=latest).order_by("-contribution"),
                key=lambda row: row.kpi,
            ),
            key=lambda row: row.group,
        )
        for row in rows:
            presentation = charts.kpi_presentation(row.kpi)
            contributions.rows.append(
                [
                    cell(row.get_group_display(), row.group),
                    cell(
                        presentation.name,
                        row.kpi,
                        url=_url("kpis:kpi_detail", filters.params(), key=row.kpi)
                        if row.kpi in registry
                        else None,
                    ),
                    value_cell(row.raw_value, presentation.unit),
                    number_cell(row.normalised_score),
                    number_cell(row.weight),
                    value_cell(row.effective_share, charts.UNIT_RATE),
                    number_cell(row.contribution),
                    number_cell(deltas.get(str(presentation.name))),
                    cell(row.missing_reason or "", row.missing_reason),
                ]
            )
    groups = Table(
        slug="groups",
        title=_("Lifecycle groups"),
        columns=[_("Group"), _("Weight"), _("Score (0–100)"), _("Effective share"), _("Coverage")],
    )
    if latest is not None:
        from kpis.models import GroupScore

        for group in priority_ranks().order_groups(
            GroupScore.objects.filter(snapshot=latest).order_by("group"), key=lambda g: g.group
        ):
            groups.rows.append(
                [
                    cell(group.get_group_display(), group.group),
                    number_cell(group.weight),
                    number_cell(group.score),
                    value_cell(group.effective_share, charts.UNIT_RATE),
                    value_cell(group.coverage, charts.UNIT_RATE),
                ]
            )
    return _page(
        request,
        "kpis/index.html",
        title=_("CRM quality index"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[groups, contributions],
        latest=latest,
        previous=previous,
        index_period=period_label(
            filters.granularity,
            shown_period(granularity=filters.granularity, requested=filters.period)[0],
        ),
        chart_blocks=[
            {
                "slug": "index",
                "title": _("Index over time"),
                "url": _url("kpis:index_chart", filters.params()),
                # Weight version changes are marked on the chart and listed under it.
                "annotations_list": "index-version-changes",
            },
            {
                "slug": "waterfall",
                "title": _("Why the index moved since the previous period"),
                "url": _url("kpis:waterfall_chart", filters.params()),
            },
        ],
    )


@kpi_access_required
def alerts_inbox(request: HttpRequest) -> HttpResponse:
    from kpis.models import Alert

    form, filters, choices = _filters(request)
    scope = kpi_scope_for(request.user)
    state = request.GET.get("state", "open")
    alerts = cells_in_scope(
        Alert.objects.select_related("rule", "acknowledged_by", "resolved_by"), scope, via="rule__"
    )
    if state == "open":
        alerts = alerts.filter(state__in=[Alert.State.FIRING, Alert.State.ACKNOWLEDGED])
    elif state in Alert.State.values:
        alerts = alerts.filter(state=state)
    # A high-priority KPI's alert first (kpis.priorities), newest first among equals.
    alert_list = priority_ranks().order_kpis(
        alerts.order_by("-fired_at")[:200], key=lambda alert: alert.rule.kpi
    )
    table = Table(
        slug="alerts",
        title=_("Alerts"),
        columns=[
            _("Rule"),
            _("KPI"),
            _("Period"),
            _("Value"),
            _("State"),
            _("Fired at"),
            _("Acknowledged by"),
            _("Message"),
        ],
    )
    items: list[dict[str, Any]] = []
    for alert in alert_list:
        presentation = charts.kpi_presentation(alert.rule.kpi)
        params = {"granularity": alert.granularity, "period": alert.period_start.isoformat()}
        if alert.rule.dimension != "all":
            params[alert.rule.dimension] = alert.rule.dimension_value
        kpi_url = (
            _url("kpis:kpi_detail", params, key=alert.rule.kpi)
            if alert.rule.kpi in registry
            else None
        )
        items.append({"alert": alert, "kpi_url": kpi_url, "presentation": presentation})
        table.rows.append(
            [
                cell(alert.rule.name),
                cell(presentation.name, alert.rule.kpi, url=kpi_url),
                cell(alert.period_start.isoformat()),
                value_cell(alert.value, presentation.unit),
                cell(alert.get_state_display(), alert.state),
                cell(
                    timezone.localtime(alert.fired_at).strftime("%Y-%m-%d %H:%M"),
                    alert.fired_at.isoformat(),
                ),
                cell(alert.acknowledged_by or "", alert.acknowledged_by_id or ""),
                cell(alert.message),
            ]
        )
    return _page(
        request,
        "kpis/alerts.html",
        title=_("Alerts inbox"),
        filters=filters,
        form=form,
        choices=choices,
        tables=[table],
        alerts=items,
        state=state,
        states=[("open", _("Open"))] + list(Alert.State.choices),
        extra_query=f"state={state}",
    )


@require_POST
@manager_required
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    from kpis.models import Alert
    from kpis.services import alert_acknowledge, alert_resolve

    # A manager of a team acts on their team's alerts only.
    alert = get_object_or_404(
        cells_in_scope(Alert.objects.all(), kpi_scope_for(request.user), via="rule__"), pk=pk
    )
    services: dict[str, Callable[..., Any]] = {
        "acknowledge": alert_acknowledge,
        "resolve": alert_resolve,
    }
    if action not in services:
        raise Http404
    try:
        services[action](alert=alert, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = _("Alert acknowledged.") if action == "acknowledge" else _("Alert resolved.")
        messages.success(request, done)
    return redirect(reverse("kpis:alerts") + "?" + request.POST.get("next_query", ""))

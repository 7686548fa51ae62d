"""The KPI overview (cards by lifecycle stage, the index card) and its freshness: "recompute
now", the recompute's progress and the newest run the pages poll."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.views import manager_required
from kpis import charts, page_queries
from kpis.definitions import UnknownKpiError, registry
from kpis.models import Granularity
from kpis.periods import PeriodError, current_period, parse_granularity, period_label
from kpis.priorities import priority_ranks
from kpis.recompute import kpi_recompute_start, kpi_recompute_status
from kpis.selectors import (
    STAGE_TITLES,
    KpiScope,
    cell_figures,
    dimension_not_broken_down,
    kpi_freshness,
    kpi_scope_for,
    series_figure,
    series_snapshots,
    shown_period,
)
from kpis.views.common import (
    Table,
    cell,
    freshness_context,
    kpi_access_required,
    number_cell,
    page_filters,
    render_page,
    url_with_query,
    value_cell,
)


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


@kpi_access_required
def overview(request: HttpRequest) -> HttpResponse:
    form, filters, choices = page_filters(request)
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
                "chart_url": url_with_query("kpis:kpi_chart", chart_params, key=item.key),
                "page_url": url_with_query("kpis:kpi_detail", filters.params(), key=item.key)
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
        page_queries.index_at(granularity=filters.granularity, period_start=shown_start)
        if scope.is_organisation
        else (None, None)
    )
    return render_page(
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
        index_chart_url=url_with_query("kpis:index_chart", {"granularity": filters.granularity}),
        index_period=period_label(filters.granularity, shown_start),
        # The index is the company's: the card says so, and under a filter that it ignores it.
        index_filter_label=page_queries.FILTER_LABELS.get(filters.dimension, "")
        if filters.is_filtered
        else "",
        shown_start=shown_start,
        **freshness_context(request, filters.granularity),
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

"""Analytics pages and their charts: cohort retention, NPS, support, pipeline and the team
leaderboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.templatetags.pulse import kpi_value
from kpis import charts, page_queries
from kpis.activity import ActivityRules, cohort_retention_matrix
from kpis.definitions import registry
from kpis.forms import KpiFilters
from kpis.models import Granularity, KpiSnapshot
from kpis.periods import Period, local_today
from kpis.selectors import kpi_scope_for, target_progress_list
from kpis.views.charts import ChartPayload, PayloadChartView
from kpis.views.common import (
    Cell,
    Table,
    cell,
    kpi_access_required,
    number_cell,
    page_filters,
    render_page,
    unavailable_page,
    url_with_query,
    value_cell,
)
from support.models import Ticket
from support.selectors import tickets_visible_to


@kpi_access_required
def cohorts(request: HttpRequest) -> HttpResponse:
    """Cohort retention heat-map: share of month-c customers active in month c + k."""
    form, filters, choices = page_filters(request)
    if not kpi_scope_for(request.user).is_organisation:
        # The matrix is computed for the whole organisation only.
        return unavailable_page(
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
    return render_page(
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
    form, filters, choices = page_filters(request)
    if not kpi_scope_for(request.user).covers("nps"):
        return unavailable_page(
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
    return render_page(
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
                "url": url_with_query("kpis:nps_chart", filters.params()),
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
    form, filters, choices = page_filters(request)
    scope = kpi_scope_for(request.user)
    if not any(scope.covers(key) for key in SUPPORT_KPIS):
        return unavailable_page(
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
    return render_page(
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
                "url": url_with_query("kpis:support_chart", filters.params()),
            }
        ],
    )


PIPELINE_KPIS = ("win_rate", "pipeline_value", "sales_cycle_days")


def _funnel(request: HttpRequest, filters: KpiFilters) -> page_queries.Funnel:
    """The funnel of the deals created since the window's first period."""
    first = filters.first_period
    since = dt.datetime.combine(first, dt.time.min, tzinfo=timezone.get_current_timezone())
    return page_queries.visible_pipeline_funnel(
        user=request.user, since=since, dimension=filters.dimension, value=filters.value
    )


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
    form, filters, choices = page_filters(request)
    if not any(kpi_scope_for(request.user).covers(key) for key in PIPELINE_KPIS):
        return unavailable_page(
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
    return render_page(
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
                "url": url_with_query("kpis:funnel_chart", filters.params()),
            }
        ],
    )


LEADERBOARD_KPIS = ("revenue", "customers_new", "win_rate", "churn_rate", "csat")


@kpi_access_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Teams (or reps with ?by=owner) side by side on the latest period, with target progress.

    A scoped user's board holds the teams or people of their scope only."""
    form, filters, choices = page_filters(request)
    scope = kpi_scope_for(request.user)
    if not any(scope.covers(key) for key in LEADERBOARD_KPIS):
        return unavailable_page(
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
    return render_page(
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

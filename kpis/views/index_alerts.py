"""The composite index page and the alerts inbox with its acknowledge and resolve actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.views import manager_required
from kpis import charts, page_queries
from kpis.definitions import registry
from kpis.models import Alert
from kpis.periods import period_label
from kpis.priorities import priority_ranks
from kpis.selectors import alerts_in_scope, kpi_scope_for, shown_period
from kpis.services import alert_acknowledge, alert_resolve
from kpis.views.common import (
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


@kpi_access_required
def index_page(request: HttpRequest) -> HttpResponse:
    form, filters, choices = page_filters(request)
    if not kpi_scope_for(request.user).is_organisation:
        # The composite index is computed for the whole organisation only.
        return unavailable_page(
            request, title=_("CRM quality index"), filters=filters, form=form, choices=choices
        )
    # Opens on the last closed period, like the overview: an open period's index is partial.
    latest, previous, steps = page_queries.index_waterfall(
        granularity=filters.granularity, requested=filters.period
    )
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
            ranks.order_kpis(page_queries.index_contributions(latest), key=lambda row: row.kpi),
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
                        url=url_with_query("kpis:kpi_detail", filters.params(), key=row.kpi)
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
        for group in priority_ranks().order_groups(
            page_queries.index_group_scores(latest), key=lambda g: g.group
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
    return render_page(
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
                "url": url_with_query("kpis:index_chart", filters.params()),
                # Weight version changes are marked on the chart and listed under it.
                "annotations_list": "index-version-changes",
            },
            {
                "slug": "waterfall",
                "title": _("Why the index moved since the previous period"),
                "url": url_with_query("kpis:waterfall_chart", filters.params()),
            },
        ],
    )


@kpi_access_required
def alerts_inbox(request: HttpRequest) -> HttpResponse:
    form, filters, choices = page_filters(request)
    scope = kpi_scope_for(request.user)
    state = request.GET.get("state", "open")
    alert_list = page_queries.alerts_inbox_list(scope=scope, state=state)
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
            url_with_query("kpis:kpi_detail", params, key=alert.rule.kpi)
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
    return render_page(
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
    # A manager of a team acts on their team's alerts only.
    alert = get_object_or_404(alerts_in_scope(kpi_scope_for(request.user)), pk=pk)
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

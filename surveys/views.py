"""Survey results for staff: the responses list (filters, verbatim comments, CSV/XLSX export)
and NPS / CSAT by team, agent (customer owner), segment and channel with the response rate,
read from the KPI snapshots.

Access (documented in the final report and in the page texts):
- Admins and Managers: every response they may see (`responses_visible_to`) and every results
  row, as on the KPI pages (organisation figures are a manager's tool).
- Support agents: the responses of their customers (`responses_visible_to`) and, on the results
  page, only the rows of the teams they belong to or manage — no company-wide, segment,
  channel or owner rows.
- Sales reps: 403 on both pages (survey results are a support and management tool; a rep sees a
  customer's answers on the customer page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case, F, Q, When
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing.export import (
    ExportColumn,
    choice_labels,
    export_format,
    export_response,
    export_rows,
)
from crm.roles import MANAGER, SUPPORT_AGENT, is_manager
from crm.views import role_required
from customers.models import Team
from kpis.models import Granularity, KpiSnapshot
from kpis.selectors import snapshot_list, snapshot_period_starts
from surveys.filters import SurveyResponseFilter
from surveys.models import SurveyKind, SurveyResponse
from surveys.selectors import responses_visible_to

RESPONSES_PAGE_SIZE = 25
RESULT_KPIS = ("nps", "csat", "survey_response_rate")
# Breakdowns shown on the results page, in order. "owner" is the agent: for CSAT the ticket's
# assignee, for NPS the customer's owner (kpis/definitions/maintenance.py).
BREAKDOWNS: tuple[tuple[str, Any], ...] = (
    ("team", gettext_lazy("By team")),
    ("owner", gettext_lazy("By agent")),
    ("segment", gettext_lazy("By segment")),
    ("channel", gettext_lazy("By acquisition channel")),
)
PERIOD_CHOICES_LIMIT = 36
RESULT_GRANULARITIES = (Granularity.MONTH, Granularity.QUARTER, Granularity.YEAR, Granularity.WEEK)


# --- responses list --------------------------------------------------------------------------


def _filtered_responses(request: HttpRequest) -> tuple[SurveyResponseFilter, Any]:
    responses = (
        responses_visible_to(request.user)
        .select_related("survey", "customer", "customer__team", "ticket", "ticket__team")
        .order_by("-responded_at", "-id")
    )
    response_filter = SurveyResponseFilter(request.GET or None, queryset=responses)
    return response_filter, response_filter.qs


def _response_team(response: SurveyResponse) -> Team | None:
    """The team the answer is about: the ticket's for a ticket survey, else the customer's."""
    if response.ticket is not None:
        return response.ticket.team
    return response.customer.team


# The same rule as _response_team, in the export's single query.
RESPONSE_TEAM_NAME = Case(
    When(ticket__isnull=False, then=F("ticket__team__name")),
    default=F("customer__team__name"),
)
EXPORT_COLUMNS = (
    ExportColumn(gettext_lazy("Responded"), "responded_at"),
    ExportColumn(gettext_lazy("Survey"), "survey__name"),
    ExportColumn(gettext_lazy("Kind"), "kind", choice_labels(SurveyKind.choices)),
    ExportColumn(gettext_lazy("Score"), "score"),
    ExportColumn(gettext_lazy("Customer"), "customer__name"),
    ExportColumn(gettext_lazy("Team"), "export_team"),
    ExportColumn(gettext_lazy("Ticket"), "ticket_id"),
    ExportColumn(gettext_lazy("Comment"), "comment"),
    ExportColumn(gettext_lazy("External id"), "external_id"),
)


@role_required(MANAGER, SUPPORT_AGENT)
def response_list(request: HttpRequest) -> HttpResponseBase:
    """Visible responses, filtered; `?format=csv` or `?format=xlsx` exports the filtered list."""
    response_filter, responses = _filtered_responses(request)
    file_format = export_format(request)
    if file_format is not None:
        return export_response(
            rows=export_rows(responses.annotate(export_team=RESPONSE_TEAM_NAME), EXPORT_COLUMNS),
            columns=EXPORT_COLUMNS,
            filename="survey-responses",
            file_format=file_format,
        )
    page = Paginator(responses, RESPONSES_PAGE_SIZE).get_page(request.GET.get("page"))
    for response in page.object_list:
        response.team = _response_team(response)  # type: ignore[attr-defined]
    active_filters = bool(request.GET and any(v for k, v in request.GET.items() if k != "page"))
    return render(
        request,
        "surveys/results/responses.html",
        {
            "filter_form": response_filter.form,
            "page_obj": page,
            "responses": page.object_list,
            "active_filters": active_filters,
        },
    )


# --- results (from the KPI snapshots) ----------------------------------------------------------


@dataclass
class ResultRow:
    """One dimension value's NPS, CSAT and response rate for the chosen period."""

    value: str
    label: str
    nps: KpiSnapshot | None = None
    csat: KpiSnapshot | None = None
    response_rate: KpiSnapshot | None = None

    @property
    def nps_value(self) -> Any:
        return self.nps.value if self.nps is not None else None

    @property
    def csat_value(self) -> Any:
        return self.csat.value if self.csat is not None else None

    @property
    def response_rate_value(self) -> Any:
        return self.response_rate.value if self.response_rate is not None else None

    @property
    def nps_details(self) -> dict[str, Any]:
        return self.nps.details if self.nps is not None else {}

    @property
    def csat_mean(self) -> Any:
        return self.csat.details.get("mean") if self.csat is not None else None

    @property
    def low_sample(self) -> bool:
        return any(s is not None and s.low_sample for s in (self.nps, self.csat))


@dataclass
class ResultTable:
    dimension: str
    title: Any
    rows: list[ResultRow] = field(default_factory=list)


def _granularity(request: HttpRequest) -> str:
    raw = request.GET.get("granularity", Granularity.MONTH)
    return raw if raw in RESULT_GRANULARITIES else Granularity.MONTH


def _period_choices(granularity: str) -> list[dt.date]:
    return snapshot_period_starts(
        granularity=granularity,
        kpis=RESULT_KPIS,
        dimension="all",
        newest_first=True,
        limit=PERIOD_CHOICES_LIMIT,
    )


def _visible_team_values(request: HttpRequest) -> set[str] | None:
    """Team ids (as stored in snapshots) whose rows the user may see; None means all rows."""
    if is_manager(request.user):
        return None
    teams = Team.objects.filter(Q(members=request.user) | Q(manager=request.user))
    return {str(pk) for pk in teams.values_list("pk", flat=True).distinct()}


def _result_tables(
    snapshots: Iterable[KpiSnapshot], visible_teams: set[str] | None
) -> tuple[ResultRow | None, list[ResultTable], list[KpiSnapshot]]:
    """The company row, one table per breakdown and the response rate by survey kind."""
    rows: dict[tuple[str, str], ResultRow] = {}
    by_kind: list[KpiSnapshot] = []
    for snapshot in snapshots:
        if visible_teams is not None and (
            snapshot.dimension != "team" or snapshot.dimension_value not in visible_teams
        ):
            continue
        if snapshot.dimension == "survey_kind":
            by_kind.append(snapshot)
            continue
        key = (snapshot.dimension, snapshot.dimension_value)
        row = rows.get(key)
        if row is None:
            label = snapshot.dimension_label or snapshot.dimension_value or str(_("(none)"))
            row = rows[key] = ResultRow(value=snapshot.dimension_value, label=label)
        attribute = "response_rate" if snapshot.kpi == "survey_response_rate" else snapshot.kpi
        setattr(row, attribute, snapshot)
    overall = rows.get(("all", ""))
    tables = []
    for dimension, title in BREAKDOWNS:
        dimension_rows = sorted(
            (row for (dim, _value), row in rows.items() if dim == dimension),
            key=lambda row: row.label.lower(),
        )
        if visible_teams is None or dimension == "team":
            tables.append(ResultTable(dimension=dimension, title=title, rows=dimension_rows))
    return overall, tables, by_kind


@role_required(MANAGER, SUPPORT_AGENT)
def results(request: HttpRequest) -> HttpResponse:
    """NPS, CSAT and response rate of one period by team, agent, segment and channel."""
    granularity = _granularity(request)
    periods = _period_choices(granularity)
    chosen = parse_date(request.GET.get("period") or "") if request.GET.get("period") else None
    period = chosen if chosen in periods else (periods[0] if periods else None)
    overall: ResultRow | None = None
    tables: list[ResultTable] = []
    by_kind: list[KpiSnapshot] = []
    period_end: dt.date | None = None
    if period is not None:
        snapshots = list(
            snapshot_list(granularity=granularity, kpi_keys=list(RESULT_KPIS)).filter(
                period_start=period
            )
        )
        period_end = snapshots[0].period_end if snapshots else None
        overall, tables, by_kind = _result_tables(snapshots, _visible_team_values(request))
    return render(
        request,
        "surveys/results/results.html",
        {
            "granularity": granularity,
            "granularities": [(g, Granularity(g).label) for g in RESULT_GRANULARITIES],
            "periods": periods,
            "period": period,
            "period_end": period_end,
            "overall": overall,
            "tables": tables,
            "by_kind": by_kind,
            "team_only": not is_manager(request.user),
        },
    )

"""Period figures read from stored snapshots, their trend charts, and the printable period report.

Everything here reads `KpiSnapshot`, `IndexSnapshot`, `Target`, `Alert` and `Annotation` rows:
a digest or a report states what the dashboard showed, never a fresh query of raw data. The
figures of one scope cell (company `all`, one team, one owner) are read in a fixed number of
queries whatever the number of KPIs.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Image,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from crm.templatetags.pulse import kpi_change, kpi_value
from kpis import charts
from kpis.definitions import registry
from kpis.definitions.base import STAGES, KpiDefinition
from kpis.forms import KpiFilters
from kpis.models import Alert, IndexSnapshot
from kpis.periods import (
    Period,
    PeriodError,
    organisation_tz,
    period_bounds,
    period_label,
    to_datetime_range,
)
from kpis.selectors import (
    KpiFigure,
    cell_figures,
    cell_snapshots,
    kpi_scope_for,
    stage_title,
)
from kpis.targets import TargetProgress, period_shift
from reports.annotations import annotation_applies, annotation_covers, annotations_for
from reports.models import Annotation

TREND_PERIODS = 12


# --- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeCell:
    """The snapshot cell a scope reads: company = `all`, team = one team, own = one owner."""

    scope: str  # own | team | company
    dimension: str
    value: str
    label: str = ""
    # The KPI keys the user's KPI scope covers (an agent reads service KPIs only); None = all.
    kpis: frozenset[str] | None = None

    @classmethod
    def of(cls, *, scope: str, user: Any = None, team: Any = None) -> ScopeCell:
        kpis = kpi_scope_for(user).kpis if user is not None else None
        if scope == "company":
            return cls(scope, "all", "", _("Company"), kpis)
        if scope == "team":
            return cls(scope, "team", str(team.pk), str(team), kpis)
        name = user.get_full_name() or user.get_username()
        return cls(scope, "owner", str(user.pk), name, kpis)


def scopes_allowed(user: Any) -> set[str]:
    """The digest and report scopes of `user`, read off the KPI scope of the KPI pages
    (kpis.selectors.kpi_scope_for) so a digest never states a figure the pages would refuse:
    company for the organisation scope, team where the scope holds team cells, own where it
    holds the user's own cell."""
    if not getattr(user, "is_authenticated", False):
        return set()
    scope = kpi_scope_for(user)
    if scope.is_organisation:
        return {"own", "team", "company"}
    allowed = set()
    if scope.values("team"):
        allowed.add("team")
    if scope.allows("owner", str(user.pk)):
        allowed.add("own")
    return allowed


def user_may_use_team(user: Any, team: Any) -> bool:
    return kpi_scope_for(user).allows("team", str(team.pk))


def definitions_for_scope(
    definitions: Sequence[KpiDefinition], cell: ScopeCell
) -> list[KpiDefinition]:
    """The KPIs that have figures at this scope (stored per the scope's dimension) and that the
    user's KPI scope covers."""
    return [
        d
        for d in definitions
        if cell.dimension in d.dimensions and (cell.kpis is None or d.key in cell.kpis)
    ]


# --- periods -------------------------------------------------------------------------------


def year_earlier(granularity: str, period_start: dt.date) -> dt.date:
    """The start of the same period one year earlier (29 February falls back to the 28th)."""
    try:
        day = period_start.replace(year=period_start.year - 1)
    except ValueError:
        day = period_start.replace(year=period_start.year - 1, day=28)
    return period_bounds(granularity, day)[0]


def closed_period(granularity: str, raw: str | dt.date) -> tuple[dt.date, dt.date]:
    """The closed period starting at `raw`, read by `Period.parse` (whose messages the pages and
    charts show too); a report names a period by its exact start. No period at all means the
    last closed one, which a report opens on."""
    if not raw:
        return Period.last_closed(granularity).bounds()
    period = (
        Period(granularity, raw)
        if isinstance(raw, dt.date)
        else Period.parse(granularity, raw, exact=True)
    )
    if not period.is_closed():
        raise PeriodError(
            _("The %(g)s starting %(day)s has not closed yet.")
            % {"g": period.granularity, "day": period.start}
        )
    return period.bounds()


# --- links ---------------------------------------------------------------------------------


def site_url() -> str:
    return str(getattr(settings, "SITE_URL", "http://localhost:8000")).rstrip("/")


def kpi_page_url(
    *, key: str, granularity: str, period_start: dt.date, dimension: str, value: str
) -> str:
    """The absolute link that opens the KPI page at exactly this period and scope.

    Built by the KPI page's own filters (kpis.forms.KpiFilters.params, read back by
    parse_filters), so the link and the page cannot drift apart: `period=<start>` and the scope's
    dimension as its own parameter (`owner=<id>`, `team=<id>`; none for the company).
    """
    filters = KpiFilters(
        granularity=granularity,
        period=period_start,
        dimension=dimension,
        value=value if dimension != "all" else "",
    )
    path = reverse("kpis:kpi_detail", kwargs={"key": key})
    return f"{site_url()}{path}?{filters.querystring}"


# --- figures -------------------------------------------------------------------------------


@dataclass
class ReportFigure:
    """One KPI's line in a digest or the period report: the figure the overview's card shows
    (kpis.selectors.cell_figures) with the year-earlier value, the trend and the links."""

    key: str
    name: str
    unit: str  # display unit of kpis.charts
    stage: str
    formula: str
    higher_is_better: bool
    figure: KpiFigure
    year_ago: Decimal | None
    series: list[tuple[dt.date, Decimal | None]]
    annotations: list[Annotation]
    link: str
    stored: bool = False
    chart_png: bytes = b""
    content_id: str = ""

    @property
    def value(self) -> Decimal | None:
        return self.figure.value

    @property
    def previous(self) -> Decimal | None:
        return self.figure.previous.value if self.figure.previous is not None else None

    @property
    def low_sample(self) -> bool:
        return bool(self.figure.snapshot and self.figure.snapshot.low_sample)

    @property
    def provisional(self) -> bool:
        return bool(self.figure.snapshot and self.figure.snapshot.provisional)

    @property
    def target(self) -> TargetProgress | None:
        return self.figure.target

    @property
    def change_previous(self) -> Decimal | None:
        return self.figure.change

    @property
    def change_year(self) -> Decimal | None:
        return _difference(self.value, self.year_ago)

    @property
    def chart_data_uri(self) -> str:
        """The chart for an HTML page (no extra request; prints with the page)."""
        if not self.chart_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(self.chart_png).decode("ascii")

    @property
    def target_progress_pct(self) -> Decimal | None:
        if self.target is None or self.target.progress is None:
            return None
        return (self.target.progress * 100).quantize(Decimal(1))


def _difference(current: Decimal | None, other: Decimal | None) -> Decimal | None:
    if current is None or other is None:
        return None
    return current - other


def kpi_figures(
    *,
    definitions: Sequence[KpiDefinition],
    granularity: str,
    period_start: dt.date,
    cell: ScopeCell,
    trend_periods: int = TREND_PERIODS,
    with_charts: bool = True,
) -> list[ReportFigure]:
    """Each KPI's figures of one period and scope cell, from stored rows only (5 queries)."""
    if not definitions:
        return []
    keys = [d.key for d in definitions]
    year_start = year_earlier(granularity, period_start)
    first = period_shift(granularity, period_start, -(trend_periods - 1))
    trend = [period_shift(granularity, first, step) for step in range(trend_periods)]
    _start, period_end = period_bounds(granularity, period_start)
    rows = {
        (row.kpi, row.period_start): row
        for row in cell_snapshots(
            kpis=keys,
            granularity=granularity,
            dimension=cell.dimension,
            value=cell.value,
            first=first,
            last=period_start,
            also=[year_start],
        )
    }
    # The digest lists the period's alerts on their own (period_alerts), not per figure.
    shown = cell_figures(
        keys=keys,
        granularity=granularity,
        period_start=period_start,
        dimension=cell.dimension,
        value=cell.value,
        snapshots=rows,
        with_alerts=False,
    )
    annotations = list(annotations_for(None, granularity, first, period_end))
    figures = []
    for definition in definitions:
        presentation = charts.kpi_presentation(definition.key)
        year_ago = rows.get((definition.key, year_start))
        series = [
            (day, row.value if (row := rows.get((definition.key, day))) else None) for day in trend
        ]
        figure = ReportFigure(
            key=definition.key,
            name=str(definition.name),
            unit=presentation.unit,
            stage=definition.stage,
            formula=str(definition.formula),
            higher_is_better=definition.direction != "lower",
            figure=shown[definition.key],
            year_ago=year_ago.value if year_ago else None,
            series=series,
            annotations=[
                a for a in annotations if annotation_applies(a, definition.key, granularity)
            ],
            link=kpi_page_url(
                key=definition.key,
                granularity=granularity,
                period_start=period_start,
                dimension=cell.dimension,
                value=cell.value,
            ),
            stored=shown[definition.key].snapshot is not None,
            content_id=f"kpi-{definition.key}-{period_start.isoformat()}",
        )
        if with_charts:
            figure.chart_png = trend_chart_png(figure, granularity=granularity)
        figures.append(figure)
    return figures


def index_snapshot(*, granularity: str, period_start: dt.date) -> IndexSnapshot | None:
    """The company index of the period under the active weights (else the newest computed)."""
    snapshots = IndexSnapshot.objects.filter(granularity=granularity, period_start=period_start)
    return (
        snapshots.filter(version__status="active").first()
        or snapshots.order_by("-computed_at").first()
    )


def period_alerts(
    *,
    granularity: str,
    period_start: dt.date,
    cell: ScopeCell,
    kpi_keys: Sequence[str] | None,
) -> list[Alert]:
    """Alerts that fired during the period, or about this very period, in the scope's cell."""
    period_end = period_bounds(granularity, period_start)[1]
    start, end = to_datetime_range(period_start, period_end)
    alerts = Alert.objects.filter(
        Q(fired_at__gte=start, fired_at__lt=end)
        | Q(granularity=granularity, period_start=period_start)
    ).select_related("rule")
    if kpi_keys is not None:
        alerts = alerts.filter(rule__kpi__in=list(kpi_keys))
    if cell.scope != "company":
        alerts = alerts.filter(rule__dimension=cell.dimension, rule__dimension_value=cell.value)
    return list(alerts.order_by("fired_at", "id"))


# --- charts --------------------------------------------------------------------------------


def trend_chart_png(
    figure: ReportFigure, *, granularity: str, width: float = 3.2, height: float = 1.2
) -> bytes:
    """A small trend line (PNG) of the figure's series; annotated periods shaded, the reported
    period marked. Rendered with matplotlib's Agg canvas: no display and no pyplot state."""
    values = [
        math.nan if value is None else float(charts.display_value(value, figure.unit) or 0)
        for _day, value in figure.series
    ]
    chart = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(chart)
    axes = chart.add_axes((0.12, 0.2, 0.86, 0.72))
    positions = list(range(len(values)))
    axes.plot(positions, values, color="#0d6efd", linewidth=1.6, marker="o", markersize=2.5)
    if values and not math.isnan(values[-1]):
        axes.plot([positions[-1]], [values[-1]], marker="o", markersize=5, color="#dc3545")
    days = [day for day, _value in figure.series]
    for annotation in figure.annotations:
        covered = [
            index
            for index, day in enumerate(days)
            if annotation_covers(annotation, granularity, day)
        ]
        if covered:
            axes.axvspan(covered[0] - 0.4, covered[-1] + 0.4, color="#ffc107", alpha=0.3)
    axes.tick_params(labelsize=6)
    if days:
        axes.set_xticks([0, len(days) - 1])
        labels = axes.set_xticklabels([days[0].isoformat(), days[-1].isoformat()])
        # Inner alignment keeps both dates inside the small image.
        labels[0].set_horizontalalignment("left")
        labels[-1].set_horizontalalignment("right")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    buffer = io.BytesIO()
    chart.savefig(buffer, format="png")
    return buffer.getvalue()


# --- the period report ---------------------------------------------------------------------


@dataclass
class StageSection:
    stage: str
    title: str
    figures: list[ReportFigure] = field(default_factory=list)


@dataclass
class PeriodReport:
    granularity: str
    period_start: dt.date
    period_end: dt.date
    period_label: str
    cell: ScopeCell
    sections: list[StageSection]
    index: IndexSnapshot | None
    alerts: list[Alert]
    annotations: list[Annotation]
    generated_at: dt.datetime


def report_scope_clean(*, user: Any, scope: str, team: Any = None) -> ScopeCell:
    """The cell a user may report on: the scopes of `scopes_allowed`, a team only if its
    figures are the user's to see."""
    if scope not in ("own", "team", "company"):
        raise ValidationError({"scope": _("Unknown scope %(s)s.") % {"s": scope}})
    if scope not in scopes_allowed(user):
        raise ValidationError(
            {"scope": _("Your role does not allow %(scope)s figures.") % {"scope": scope}}
        )
    if scope == "team":
        if team is None:
            raise ValidationError({"team": _("Choose the team to report on.")})
        if not user_may_use_team(user, team):
            raise ValidationError({"team": _("You may not see this team's figures.")})
    return ScopeCell.of(scope=scope, user=user, team=team)


def period_report_build(
    *, granularity: str, period_start: dt.date, cell: ScopeCell, with_charts: bool = True
) -> PeriodReport:
    """One section per stage (every stage, so the page count is fixed), from snapshots."""
    start, end = period_bounds(granularity, period_start)
    definitions = definitions_for_scope(registry.all(), cell)
    figures = kpi_figures(
        definitions=definitions,
        granularity=granularity,
        period_start=start,
        cell=cell,
        with_charts=with_charts,
    )
    sections = [StageSection(stage=stage, title=stage_title(stage)) for stage in STAGES]
    by_stage = {section.stage: section for section in sections}
    for figure in figures:
        by_stage[figure.stage].figures.append(figure)
    return PeriodReport(
        granularity=granularity,
        period_start=start,
        period_end=end,
        period_label=period_label(granularity, start),
        cell=cell,
        sections=sections,
        index=index_snapshot(granularity=granularity, period_start=start)
        if cell.scope == "company"
        else None,
        alerts=period_alerts(granularity=granularity, period_start=start, cell=cell, kpi_keys=None),
        annotations=list(annotations_for(None, granularity, start, end)),
        generated_at=timezone.now(),
    )


# --- PDF -----------------------------------------------------------------------------------


def _pdf_font() -> str:
    """Helvetica, or reportlab's built-in CID font for Chinese (no font file needed)."""
    if (get_language() or "").startswith("zh"):
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"
    return "Helvetica"


def period_report_pdf(report: PeriodReport) -> bytes:
    """The report as PDF: a cover page, then exactly one page per stage (a stage's content is
    shrunk to fit its page, so the page count is fixed: stages + 1)."""
    font = _pdf_font()
    base = getSampleStyleSheet()
    styles = {
        name: ParagraphStyle(name, parent=base[parent], fontName=font)
        for name, parent in (
            ("title", "Title"),
            ("h2", "Heading2"),
            ("body", "BodyText"),
            ("small", "BodyText"),
        )
    }
    styles["small"].fontSize = 7
    styles["small"].leading = 8.5
    buffer = io.BytesIO()
    margin = 14 * mm
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=f"Pulse CRM {report.period_label}",
        author="Pulse CRM",
    )
    frame_width = A4[0] - 2 * margin
    frame_height = A4[1] - 2 * margin - 6  # the frame's own padding

    def paragraph(text: Any, style: str = "body") -> Paragraph:
        return Paragraph(escape(str(text)), styles[style])

    generated = timezone.localtime(report.generated_at, organisation_tz())
    cover: list[Any] = [
        paragraph(_("Pulse CRM — period report"), "title"),
        paragraph(f"{report.period_label} · {report.cell.label}", "h2"),
        paragraph(
            f"{report.period_start.isoformat()} – {report.period_end.isoformat()} "
            f"({_('end exclusive')}) · {_('generated')} "
            f"{date_filter(generated, 'Y-m-d H:i')}"
        ),
        Spacer(1, 6 * mm),
    ]
    if report.index is not None:
        shown = report.index.value if report.index.published else _("n/a")
        band = f" ({report.index.band})" if report.index.band else ""
        cover.append(paragraph(f"{_('CRM quality index')}: {shown}{band}", "h2"))
    contents = [
        [paragraph(section.title), paragraph(len(section.figures))] for section in report.sections
    ]
    cover.append(Table([[paragraph(_("Stage")), paragraph(_("KPIs"))], *contents]))
    if report.annotations:
        cover.append(paragraph(_("Annotations"), "h2"))
        cover.extend(
            paragraph(
                f"{note.get_kind_display()}{' (' + note.kpi + ')' if note.kpi else ''}: "
                f"{note.text} — {note.starts_on.isoformat()} – {note.ends_on.isoformat()}"
            )
            for note in report.annotations
        )
    if report.alerts:
        cover.append(paragraph(_("Alerts"), "h2"))
        cover.extend(paragraph(f"{alert.rule.name}: {alert.message}") for alert in report.alerts)
    story: list[Any] = [KeepInFrame(frame_width, frame_height, cover, mode="shrink")]

    for section in report.sections:
        page: list[Any] = [paragraph(section.title, "title")]
        if not section.figures:
            page.append(paragraph(_("No KPI of this stage has figures at this scope.")))
        else:
            header = [
                paragraph(text, "small")
                for text in (
                    _("KPI"),
                    _("Value"),
                    _("vs previous"),
                    _("vs a year earlier"),
                    _("Target"),
                    _("Trend"),
                )
            ]
            rows: list[list[Any]] = [header]
            for figure in section.figures:
                notes = "".join(
                    f" — {note.text}" for note in figure.annotations if note.kpi == figure.key
                )
                target = (
                    f"{kpi_value(figure.target.resolved_value, figure.unit)}"
                    f" ({figure.target_progress_pct} %)"
                    if figure.target is not None and figure.target_progress_pct is not None
                    else "—"
                )
                rows.append(
                    [
                        paragraph(figure.name + notes, "small"),
                        paragraph(kpi_value(figure.value, figure.unit), "small"),
                        paragraph(kpi_change(figure.change_previous, figure.unit), "small"),
                        paragraph(kpi_change(figure.change_year, figure.unit), "small"),
                        paragraph(target, "small"),
                        Image(io.BytesIO(figure.chart_png), width=48 * mm, height=18 * mm)
                        if figure.chart_png
                        else paragraph("", "small"),
                    ]
                )
            table = Table(
                rows,
                colWidths=[44 * mm, 24 * mm, 22 * mm, 22 * mm, 22 * mm, 50 * mm],
                repeatRows=1,
            )
            table.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey),
                        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                    ]
                )
            )
            page.append(table)
            page.append(Spacer(1, 4 * mm))
            page.append(paragraph(_("Formulas"), "h2"))
            page.extend(
                paragraph(f"{figure.name}: {figure.formula}", "small") for figure in section.figures
            )
        story.append(PageBreak())
        story.append(KeepInFrame(frame_width, frame_height, page, mode="shrink"))
    document.build(story)
    return buffer.getvalue()

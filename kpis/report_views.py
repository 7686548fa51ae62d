"""Thin views of the reports: the period report (printable HTML and PDF) and the unsubscribe page.

The period report: managers and admins for any scope, sales reps for their own figures.
Query: ?granularity=month&period=YYYY-MM-DD&scope=company|team|own&team=<id>.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.roles import SALES_REP, is_manager, user_roles
from kpis.digests import digest_unsubscribe
from kpis.models import DigestSubscription
from kpis.periods import PeriodError
from kpis.reports import PeriodReport, closed_period, period_report_build, report_scope_clean


def _report_or_error(request: HttpRequest) -> tuple[PeriodReport | None, str]:
    """The report the query asks for, or a clear message saying what is wrong with it."""
    from customers.models import Team

    if not (is_manager(request.user) or SALES_REP in user_roles(request.user)):
        raise PermissionDenied
    default_scope = "company" if is_manager(request.user) else "own"
    scope = request.GET.get("scope") or default_scope
    team = None
    if request.GET.get("team"):
        team = (
            Team.objects.filter(pk=request.GET["team"]).first()
            if request.GET["team"].isdigit()
            else None
        )
        if team is None:
            return None, _("Unknown team.")
    try:
        cell = report_scope_clean(user=request.user, scope=scope, team=team)
    except ValidationError as exc:
        if exc.error_dict.get("scope") and scope != "own" and not is_manager(request.user):
            raise PermissionDenied from None
        return None, " ".join(exc.messages)
    granularity = request.GET.get("granularity") or "month"
    try:
        start, _end = closed_period(granularity, request.GET.get("period", ""))
    except PeriodError as exc:
        return None, str(exc)
    return period_report_build(granularity=granularity, period_start=start, cell=cell), ""


@login_required
def period_report(request: HttpRequest) -> HttpResponse:
    report, error = _report_or_error(request)
    if report is None:
        return render(
            request,
            "reports/period_report.html",
            {"error": error, "query": request.GET},
            status=400,
        )
    context: dict[str, Any] = {"report": report, "pdf_query": request.GET.urlencode()}
    return render(request, "reports/period_report.html", context)


@login_required
def period_report_pdf(request: HttpRequest) -> HttpResponse:
    from kpis.reports import period_report_pdf as render_pdf

    report, error = _report_or_error(request)
    if report is None:
        return render(
            request,
            "reports/period_report.html",
            {"error": error, "query": request.GET},
            status=400,
        )
    response = HttpResponse(render_pdf(report), content_type="application/pdf")
    filename = f"pulse-report-{report.granularity}-{report.period_start.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """No login: GET shows what the link unsubscribes from, POST (CSRF-checked) does it."""
    subscription = (
        DigestSubscription.objects.select_related("user", "team")
        .filter(unsubscribe_token=token)
        .first()
    )
    if subscription is None:
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        try:
            subscription = digest_unsubscribe(token=token)
        except ValidationError:
            return render(request, "reports/unsubscribe.html", {"invalid": True}, status=404)
        return render(
            request, "reports/unsubscribe.html", {"subscription": subscription, "done": True}
        )
    return render(request, "reports/unsubscribe.html", {"subscription": subscription})

"""Thin views of the reports: the period report (printable HTML and PDF), the unsubscribe page,
the annotations page (managers) and each user's digest subscriptions page.

The period report: managers and admins for any scope, sales reps for their own figures.
Query: ?granularity=month&period=YYYY-MM-DD&scope=company|team|own&team=<id>.
The forms here only parse input; the rules (future periods, empty texts, what a role may
receive) are reports.services' and reports.digests' services, whose messages the forms show.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.roles import SALES_REP, is_manager, user_roles
from crm.views import manager_required
from crm.widgets import IsoDateInput
from customers.models import Team
from kpis.definitions import registry
from kpis.definitions.base import STAGES
from kpis.models import Granularity
from kpis.periods import PeriodError
from kpis.selectors import stage_title
from reports.annotations import annotation_list
from reports.digests import (
    digest_kpis_offered,
    digest_send_test,
    digest_subscription_create,
    digest_subscription_delete,
    digest_subscription_list,
    digest_subscriptions_default,
    digest_teams_offered,
    digest_unsubscribe,
)
from reports.models import Annotation, DigestSubscription
from reports.period_report import (
    PeriodReport,
    closed_period,
    period_report_build,
    report_scope_clean,
    scopes_allowed,
)
from reports.period_report import period_report_pdf as render_pdf
from reports.services import annotation_create, annotation_delete

ANNOTATIONS_PAGE_SIZE = 25


def _report_or_error(request: HttpRequest) -> tuple[PeriodReport | None, str]:
    """The report the query asks for, or a clear message saying what is wrong with it."""
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


# --- annotations (managers) ----------------------------------------------------------------


def _kpi_name(key: str) -> str:
    return str(registry.get(key).name) if key in registry else key


def _safe_next(request: HttpRequest) -> str:
    """The page to return to after a POST, if it is one of ours (no open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's field-keyed messages on the form's fields (the rest above the form)."""
    for field, messages_of_field in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_of_field)


def _styled(form: forms.Form) -> None:
    """Bootstrap classes on the widgets (radio and checkbox lists are laid out by the template)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs["class"] = "form-check-input"
        elif isinstance(widget, forms.Select):
            widget.attrs["class"] = "form-select"
        else:
            widget.attrs["class"] = "form-control"


class AnnotationForm(forms.Form):
    """Parses the page's input; annotation_create decides what is a valid annotation."""

    target = forms.ChoiceField(
        label=gettext_lazy("Annotate"),
        choices=[
            ("period", gettext_lazy("One KPI, one period")),
            ("range", gettext_lazy("A date range (one KPI or all KPIs)")),
        ],
        initial="period",
        widget=forms.RadioSelect,
    )
    kpi = forms.ChoiceField(label=gettext_lazy("KPI"), required=False)
    granularity = forms.ChoiceField(
        label=gettext_lazy("Granularity"),
        choices=Granularity.choices,
        initial=Granularity.MONTH,
        required=False,
    )
    period_start = forms.DateField(
        label=gettext_lazy("Period start"),
        required=False,
        widget=IsoDateInput(),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("First day"),
        required=False,
        widget=IsoDateInput(),
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Last day"),
        required=False,
        widget=IsoDateInput(),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=Annotation.Kind.choices, initial=Annotation.Kind.NOTE
    )
    # Not required here: the service's own message ("An annotation needs a text.") is clearer.
    text = forms.CharField(label=gettext_lazy("Text"), required=False, widget=forms.Textarea)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kpi"]).choices = [
            ("", _("All KPIs (date ranges only)"))
        ] + [(d.key, str(d.name)) for d in registry.all()]
        self.fields["text"].widget.attrs.update(rows=3, maxlength=2000)
        _styled(self)

    def service_arguments(self) -> dict[str, Any]:
        """annotation_create's arguments: a KPI period, or a date range."""
        data = self.cleaned_data
        common = {"text": data["text"], "kind": data["kind"], "kpi": data["kpi"]}
        if data["target"] == "period":
            return {
                **common,
                "granularity": data["granularity"],
                "period_start": data["period_start"],
            }
        return {**common, "starts_on": data["starts_on"], "ends_on": data["ends_on"]}


def _annotation_initial(query: Any) -> dict[str, Any]:
    """The form as "Annotate this period" on a KPI page opens it: that KPI, period and way back."""
    initial: dict[str, Any] = {}
    if query.get("kpi") in registry:
        initial.update(kpi=query["kpi"], target="period")
    if query.get("granularity") in Granularity.values:
        initial["granularity"] = query["granularity"]
    if query.get("period"):
        initial["period_start"] = query["period"]
    if query.get("next"):
        initial["next"] = query["next"]
    return initial


@manager_required
@require_http_methods(["GET", "POST"])
def annotation_page(request: HttpRequest) -> HttpResponse:
    """Managers add notes explaining a KPI period or a date range, and delete them."""
    form = AnnotationForm(
        request.POST if request.method == "POST" else None,
        initial=_annotation_initial(request.GET),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                note = annotation_create(actor=request.user, **form.service_arguments())
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Annotation added: %(kind)s, %(first)s – %(last)s.")
                    % {
                        "kind": note.get_kind_display(),
                        "first": note.starts_on.isoformat(),
                        "last": note.ends_on.isoformat(),
                    },
                )
                return redirect(_safe_next(request) or reverse("reports:annotations"))
        status = 400
    page = Paginator(annotation_list(), ANNOTATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(note, _kpi_name(note.kpi) if note.kpi else "") for note in page.object_list]
    return render(
        request,
        "reports/annotations.html",
        {"form": form, "page": page, "rows": rows, "next": _safe_next(request)},
        status=status,
    )


@manager_required
@require_POST
def annotation_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        annotation_delete(annotation_id=pk, actor=request.user)
    except Annotation.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Annotation deleted."))
    return redirect(_safe_next(request) or reverse("reports:annotations"))


# --- digest subscriptions (every user, their own) ------------------------------------------


class DigestSubscriptionForm(forms.Form):
    """Parses the page's input; digest_subscription_create decides what the user may receive.

    The lists offer only what the user's role allows; a value outside them (a crafted request)
    still reaches the service, which refuses it with its own message.
    """

    frequency = forms.ChoiceField(
        label=gettext_lazy("Frequency"),
        choices=DigestSubscription.Frequency.choices,
        initial=DigestSubscription.Frequency.WEEKLY,
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Figures of"), choices=DigestSubscription.Scope.choices
    )
    # Any team parses; digest_subscription_clean refuses one the user is not part of.
    team: forms.ModelChoiceField = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=None, required=False, empty_label="—"
    )
    kpi_keys = forms.MultipleChoiceField(
        label=gettext_lazy("KPIs"),
        required=False,
        help_text=gettext_lazy("Hold Ctrl (⌘ on a Mac) to choose several."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    stages = forms.MultipleChoiceField(
        label=gettext_lazy("Lifecycle stages"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    include_alerts = forms.BooleanField(
        label=gettext_lazy("Include the alerts of the period"), required=False, initial=True
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = scopes_allowed(user)
        scope_field = cast(forms.ChoiceField, self.fields["scope"])
        scope_field.widget.choices = [  # type: ignore[attr-defined]
            choice for choice in DigestSubscription.Scope.choices if choice[0] in allowed
        ]
        team_field = cast(forms.ModelChoiceField, self.fields["team"])
        team_field.queryset = Team.objects.all()
        team_field.widget.choices = [("", "—")] + [  # type: ignore[attr-defined]
            (team.pk, str(team)) for team in digest_teams_offered(user)
        ]
        # Every KPI parses; the list shows those with figures at a scope the role allows.
        kpi_field = cast(forms.MultipleChoiceField, self.fields["kpi_keys"])
        kpi_field.choices = [(d.key, str(d.name)) for d in registry.all()]
        kpi_field.widget.choices = [  # type: ignore[attr-defined]
            (d.key, str(d.name)) for d in digest_kpis_offered(user)
        ]
        stage_field = cast(forms.MultipleChoiceField, self.fields["stages"])
        stage_field.choices = [(stage, stage_title(stage)) for stage in STAGES]
        self.fields["language"].initial = get_language() or settings.LANGUAGE_CODE
        _styled(self)


@login_required
@require_http_methods(["GET", "POST"])
def digest_subscriptions(request: HttpRequest) -> HttpResponse:
    """Each user's own digests: add one (within what their role may receive), delete one."""
    form = DigestSubscriptionForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                digest_subscription_create(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, _("Digest subscription added."))
                return redirect("reports:digests")
        status = 400
    subscriptions = [
        (
            subscription,
            [_kpi_name(key) for key in subscription.kpi_keys],
            [stage_title(stage) for stage in subscription.stages],
        )
        for subscription in digest_subscription_list(request.user)
    ]
    return render(
        request,
        "reports/digest_subscriptions.html",
        {"form": form, "subscriptions": subscriptions},
        status=status,
    )


@login_required
@require_POST
def digest_subscription_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        digest_subscription_delete(subscription_id=pk, user=request.user)
    except DigestSubscription.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Digest subscription deleted."))
    return redirect("reports:digests")


@login_required
@require_POST
def digest_subscriptions_reset(request: HttpRequest) -> HttpResponse:
    """Subscribe a user without subscriptions to their role's defaults (kept if they have any)."""
    if digest_subscription_list(request.user).exists():
        messages.info(request, _("You have digest subscriptions already; nothing was added."))
        return redirect("reports:digests")
    created = digest_subscriptions_default(request.user)
    messages.success(
        request,
        ngettext(
            "Subscribed to %(n)d digest for your role.",
            "Subscribed to %(n)d digests for your role.",
            len(created),
        )
        % {"n": len(created)},
    )
    return redirect("reports:digests")


@login_required
@require_POST
def digest_test_send(request: HttpRequest) -> HttpResponse:
    """Send the user's active digests of the last closed periods to them now (no send log)."""
    subscriptions = digest_subscription_list(request.user).filter(is_active=True)
    if not subscriptions.exists():
        messages.error(request, _("You have no active digest subscription to test."))
        return redirect("reports:digests")
    try:
        sent = digest_send_test(subscriptions=subscriptions, to_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("reports:digests")
    messages.success(
        request,
        ngettext(
            "%(n)d test digest sent to %(email)s.", "%(n)d test digests sent to %(email)s.", sent
        )
        % {"n": sent, "email": request.user.email},  # type: ignore[union-attr]
    )
    return redirect("reports:digests")

"""Configuration pages for managers and admins: KPI targets and alert rules.

Each page lists what the user's KPI scope may read (kpis.selectors.targets_in_scope and
alert_rules_in_scope; a row outside it is a 404), offers the form of kpis.config_forms and
writes through the services of kpis.targets and kpis.alerts, showing their messages next to the
fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.views import manager_required
from kpis import charts
from kpis.alerts import alert_threshold_text
from kpis.config_forms import (
    CONFIG_GRANULARITIES,
    ROLE_LABELS,
    AlertRuleForm,
    TargetForm,
    kpi_units,
    period_shortcuts,
    unit_hints,
)
from kpis.definitions import registry
from kpis.definitions.base import dimension_labels
from kpis.models import AlertRule, Granularity, Target
from kpis.page_queries import (
    FILTER_LABELS,
    alert_rule_list,
    alert_rule_recipients,
    open_alert_states,
    targets_granularity,
    targets_page_list,
)
from kpis.periods import local_today, period_label
from kpis.selectors import (
    alert_rules_in_scope,
    kpi_scope_for,
    snapshot_cell,
    targets_in_scope,
    targets_progress,
)
from kpis.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
    target_create,
    target_delete,
    target_update,
)
from kpis.targets import period_shift, target_sentence, target_status


def _service_errors(form: Form, error: ValidationError) -> None:
    """A service's refusal next to the field it names (else above the form)."""
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


# --- targets ---------------------------------------------------------------------------------


def _target_rows(targets: list[Target]) -> list[dict[str, Any]]:
    """Each target with its sentence and honest status (3 queries for the snapshots and
    directions, one per filter dimension for the scope labels)."""
    today = local_today()
    labels = _scope_labels([(t.dimension, t.dimension_value) for t in targets])
    rows = []
    for item in targets_progress(targets=targets):
        target = item.target
        rows.append(
            {
                "target": target,
                "name": charts.kpi_presentation(target.kpi).name,
                "scope": labels[(target.dimension, target.dimension_value)],
                "period": period_label(target.granularity, target.period_start),
                "sentence": target_sentence(
                    kpi=target.kpi,
                    granularity=target.granularity,
                    period_start=target.period_start,
                    kind=target.kind,
                    amount=target.amount,
                    baseline=item.baseline,
                    baseline_period_start=target.baseline_period_start,
                ),
                "status": target_status(item, today=today),
                "kpi_url": _kpi_url(target.kpi, target.granularity, target.period_start, target),
            }
        )
    return rows


def _scope_labels(cells: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    by_dimension: dict[str, set[str]] = {}
    for dimension, value in cells:
        by_dimension.setdefault(dimension, set()).add(value)
    labels: dict[tuple[str, str], str] = {}
    for dimension, values in by_dimension.items():
        if dimension == "all":
            labels[("all", "")] = _("the company")
            continue
        names = dimension_labels(dimension, values)
        for value in values:
            labels[(dimension, value)] = (
                f"{FILTER_LABELS.get(dimension, dimension)}: {names.get(value, value)}"
            )
    return labels


def _kpi_url(key: str, granularity: str, period_start: dt.date, cell: Any) -> str | None:
    if key not in registry:
        return None
    params = f"granularity={granularity}&period={period_start.isoformat()}"
    if cell.dimension != "all":
        params += f"&{cell.dimension}={cell.dimension_value}"
    return reverse("kpis:kpi_detail", kwargs={"key": key}) + "?" + params


def _targets_context(
    request: HttpRequest, form: TargetForm, editing: Target | None = None
) -> dict[str, Any]:
    scope = kpi_scope_for(request.user)
    visible = targets_in_scope(scope)
    granularity, counts = targets_granularity(visible, asked=request.GET.get("granularity", ""))
    targets = targets_page_list(visible, granularity=granularity)
    return {
        "title": _("Targets"),
        "form": form.style(),
        "editing": editing,
        "rows": _target_rows(targets),
        "granularity": granularity,
        "granularities": [
            (value, label, counts.get(value, 0)) for value, label in CONFIG_GRANULARITIES
        ],
        "shortcuts": period_shortcuts(),
        "sentence": _form_sentence(form),
        "scope": scope,
        "kpi_units": kpi_units(),
    }


def _form_sentence(form: TargetForm) -> str:
    """The sentence of a bound, valid form (a refused POST shows what was asked), else ""."""
    if not form.is_bound or not form.is_valid():
        return ""
    fields = form.service_fields()
    return _sentence(fields)


def _sentence(fields: dict[str, Any]) -> str:
    baseline_start = period_shift(fields["granularity"], fields["period_start"], -1)
    stored = snapshot_cell(
        kpi=fields["kpi"],
        granularity=fields["granularity"],
        period_start=baseline_start,
        dimension=fields["dimension"],
        dimension_value=fields["dimension_value"],
    )
    baseline = stored.value if stored is not None else None
    return target_sentence(
        kpi=fields["kpi"],
        granularity=fields["granularity"],
        period_start=fields["period_start"],
        kind=fields["kind"],
        amount=fields["amount"],
        baseline=baseline,
        baseline_period_start=baseline_start,
    )


@manager_required
def targets_page(request: HttpRequest) -> HttpResponse:
    """The targets of the user's scope with their progress, and the form for a new one."""
    scope = kpi_scope_for(request.user)
    if request.method == "POST":
        form = TargetForm(request.POST, kpi_scope=scope)
        if form.is_valid():
            try:
                target = target_create(
                    actor=request.user, baseline_period_start=None, **form.service_fields()
                )
            except ValidationError as error:
                _service_errors(form, error)
            else:
                saved = _sentence(form.service_fields())
                messages.success(request, _("Target saved: %(sentence)s") % {"sentence": saved})
                return redirect(reverse("kpis:targets") + f"?granularity={target.granularity}")
    else:
        initial = {"scope": "all:" if scope.is_organisation else "", "kind": "relative_change_pct"}
        form = TargetForm(kpi_scope=scope, initial=initial)
    return render(request, "kpis/targets/list.html", _targets_context(request, form))


@manager_required
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = kpi_scope_for(request.user)
    target = get_object_or_404(targets_in_scope(scope), pk=pk)
    if request.method == "POST":
        form = TargetForm(request.POST, kpi_scope=scope)
        if form.is_valid():
            try:
                target_update(target=target, baseline_period_start=None, **form.service_fields())
            except ValidationError as error:
                _service_errors(form, error)
            else:
                messages.success(request, _("Target updated."))
                return redirect(reverse("kpis:targets") + f"?granularity={target.granularity}")
    else:
        form = TargetForm(kpi_scope=scope, target=target)
    return render(request, "kpis/targets/list.html", _targets_context(request, form, target))


@manager_required
@require_POST
def target_remove(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(targets_in_scope(kpi_scope_for(request.user)), pk=pk)
    granularity = target.granularity
    target_delete(target=target)
    messages.success(request, _("Target deleted."))
    return redirect(reverse("kpis:targets") + f"?granularity={granularity}")


@manager_required
@require_GET
def target_sentence_preview(request: HttpRequest) -> JsonResponse:
    """The sentence of the form as typed so far (kpi-config.js asks on every change)."""
    form = TargetForm(request.GET, kpi_scope=kpi_scope_for(request.user))
    if not form.is_valid():
        return JsonResponse({"sentence": "", "errors": form.errors.get_json_data()})
    return JsonResponse({"sentence": _sentence(form.service_fields())})


# --- alert rules -----------------------------------------------------------------------------


def _rules_context(
    request: HttpRequest, form: AlertRuleForm, editing: AlertRule | None = None
) -> dict[str, Any]:
    scope = kpi_scope_for(request.user)
    rules = alert_rule_list(scope)
    open_alerts = open_alert_states(rules)
    labels = _scope_labels([(rule.dimension, rule.dimension_value) for rule in rules])
    rows = []
    for rule in rules:
        who = [str(ROLE_LABELS.get(role, role)) for role in rule.recipient_roles]
        who += [team.name for team in rule.recipient_teams.all()]
        who += [user.get_full_name() or user.get_username() for user in rule.recipients.all()]
        channels = [_("in the app")] if rule.notify_in_app else []
        channels += [_("e-mail")] if rule.notify_email else []
        rows.append(
            {
                "rule": rule,
                "name": charts.kpi_presentation(rule.kpi).name,
                "scope": labels[(rule.dimension, rule.dimension_value)],
                "condition": alert_threshold_text(rule, None),
                "recipients": ", ".join(who) or _("its author"),
                "channels": ", ".join(str(c) for c in channels),
                "open_state": open_alerts.get(rule.pk, ""),
            }
        )
    return {
        "title": _("Alert rules"),
        "form": form.style(),
        "editing": editing,
        "rows": rows,
        "scope": scope,
        "kpi_units": kpi_units(),
        "unit_hints": unit_hints(),
    }


def _save_rule(request: HttpRequest, form: AlertRuleForm, rule: AlertRule | None) -> bool:
    people_ids, team_ids = form.recipient_ids()
    people, teams = alert_rule_recipients(people_ids=people_ids, team_ids=team_ids)
    try:
        if rule is None:
            alert_rule_create(
                actor=request.user,
                recipients=people,
                recipient_teams=teams,
                **form.service_fields(),
            )
        else:
            alert_rule_update(
                rule=rule, recipients=people, recipient_teams=teams, **form.service_fields()
            )
    except ValidationError as error:
        _service_errors(form, error)
        return False
    return True


@manager_required
def alert_rules_page(request: HttpRequest) -> HttpResponse:
    scope = kpi_scope_for(request.user)
    if request.method == "POST":
        form = AlertRuleForm(request.POST, kpi_scope=scope)
        if form.is_valid() and _save_rule(request, form, None):
            messages.success(request, _("Alert rule saved."))
            return redirect("kpis:alert_rules")
    else:
        initial: dict[str, Any] = {
            "scope": "all:" if scope.is_organisation else "",
            "granularity": Granularity.MONTH,
            "recipient_roles": [],
        }
        form = AlertRuleForm(kpi_scope=scope, initial=initial)
    return render(request, "kpis/alerts/rules.html", _rules_context(request, form))


@manager_required
def alert_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = kpi_scope_for(request.user)
    rule = get_object_or_404(alert_rules_in_scope(scope), pk=pk)
    if request.method == "POST":
        form = AlertRuleForm(request.POST, kpi_scope=scope)
        if form.is_valid() and _save_rule(request, form, rule):
            messages.success(request, _("Alert rule updated."))
            return redirect("kpis:alert_rules")
    else:
        form = AlertRuleForm(kpi_scope=scope, rule=rule)
    return render(request, "kpis/alerts/rules.html", _rules_context(request, form, rule))


@manager_required
@require_POST
def alert_rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(alert_rules_in_scope(kpi_scope_for(request.user)), pk=pk)
    alert_rule_delete(rule=rule)
    messages.success(request, _("Alert rule deleted."))
    return redirect("kpis:alert_rules")

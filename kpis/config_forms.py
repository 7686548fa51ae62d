"""Forms of the target and alert-rule pages: a KPI picker from the registry, the scopes a user may
manage, and numbers typed in display units (a rate in %, NPS in points) that the services store
in the KPI's unit. The rules themselves live in kpis.services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.roles import ADMIN, MANAGER, ROLES, SALES_REP, SUPPORT_AGENT
from customers.models import Channel, Segment, Team
from kpis import charts
from kpis.definitions import registry
from kpis.definitions.base import STAGES
from kpis.models import AlertRule, Granularity, Target
from kpis.page_queries import FILTER_LABELS
from kpis.periods import local_today, period_bounds
from kpis.selectors import KpiScope
from kpis.targets import display_to_stored, period_shift, stored_to_display

STAGE_LABELS = {
    "acquisition": _("Acquisition"),
    "maintenance": _("Maintenance"),
    "enhancement": _("Enhancement"),
    "retention": _("Retention"),
    "service": _("Service"),
    "pipeline": _("Pipeline"),
    "quality": _("Data quality"),
}
# Targets and rules are set per month, quarter or year (weeks and days are too noisy to steer).
CONFIG_GRANULARITIES = [
    (Granularity.MONTH, Granularity.MONTH.label),
    (Granularity.QUARTER, Granularity.QUARTER.label),
    (Granularity.YEAR, Granularity.YEAR.label),
    (Granularity.WEEK, Granularity.WEEK.label),
]
ROLE_LABELS = {
    SALES_REP: _("Sales reps"),
    SUPPORT_AGENT: _("Support agents"),
    MANAGER: _("Managers"),
    ADMIN: _("Admins"),
}


def kpi_choices(scope: KpiScope) -> list[tuple[Any, Any]]:
    """The registry's KPIs the scope covers, grouped by lifecycle stage (name, not key)."""
    groups: list[tuple[Any, Any]] = []
    for stage in STAGES:
        keys = [
            (definition.key, str(definition.name))
            for definition in registry.by_stage(stage)
            if scope.covers(definition.key)
        ]
        if keys:
            groups.append((STAGE_LABELS.get(stage, stage), keys))
    return groups


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def scope_choices(scope: KpiScope) -> list[tuple[Any, Any]]:
    """The KPI cells a user may set targets and rules for, as "dimension:value" choices: the
    organisation picks the company, any team, rep, segment or channel; a team manager their
    teams and their teams' people."""
    if not scope.is_organisation:
        return [
            (FILTER_LABELS[dimension], [(f"{dimension}:{v}", label) for v, label in values])
            for dimension, values in scope.cells.items()
            if values and dimension in ("team", "owner")
        ]
    people = (
        get_user_model()
        ._default_manager.filter(is_active=True, groups__name__in=[SALES_REP, MANAGER])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return [
        ("", [("all:", _("The whole company"))]),
        (
            FILTER_LABELS["team"],
            [(f"team:{team.pk}", team.name) for team in Team.objects.order_by("name")],
        ),
        (FILTER_LABELS["owner"], [(f"owner:{user.pk}", _user_label(user)) for user in people]),
        (
            FILTER_LABELS["segment"],
            [(f"segment:{s.pk}", s.name) for s in Segment.objects.order_by("name")],
        ),
        (
            FILTER_LABELS["channel"],
            [(f"channel:{c.pk}", c.name) for c in Channel.objects.order_by("name")],
        ),
    ]


def split_scope(raw: str) -> tuple[str, str]:
    dimension, _sep, value = raw.partition(":")
    return dimension, value


def period_shortcuts(today: dt.date | None = None) -> list[dict[str, str]]:
    """One-click periods: this and next month, quarter and year."""
    today = today or local_today()
    shortcuts = []
    for granularity, this_label, next_label in (
        (Granularity.MONTH, _("This month"), _("Next month")),
        (Granularity.QUARTER, _("This quarter"), _("Next quarter")),
        (Granularity.YEAR, _("This year"), _("Next year")),
    ):
        start = period_bounds(granularity, today)[0]
        for label, day, slug in (
            (this_label, start, f"this-{granularity}"),
            (next_label, period_shift(granularity, start, 1), f"next-{granularity}"),
        ):
            shortcuts.append(
                {
                    "label": str(label),
                    "granularity": str(granularity),
                    "period_start": day.isoformat(),
                    "slug": slug,
                }
            )
    return shortcuts


class ScopedConfigForm(forms.Form):
    """KPI and scope pickers limited to what `scope` may manage."""

    kpi = forms.ChoiceField(label=_("KPI"))
    scope = forms.ChoiceField(label=_("Scope"))
    granularity = forms.ChoiceField(label=_("Granularity"), choices=CONFIG_GRANULARITIES)

    def __init__(self, *args: Any, kpi_scope: KpiScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kpi_scope = kpi_scope
        self._choices("kpi", [("", "—")] + kpi_choices(kpi_scope))
        self._choices("scope", scope_choices(kpi_scope))

    def _choices(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def style(self) -> ScopedConfigForm:
        """Bootstrap classes on the widgets (checkbox lists are laid out by the template)."""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select"
            else:
                widget.attrs["class"] = "form-control"
        return self

    def cleaned_cell(self) -> tuple[str, str]:
        return split_scope(self.cleaned_data["scope"])


def _number_field(label: Any, help_text: Any = "", required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        required=required,
        max_digits=18,
        decimal_places=6,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class TargetForm(ScopedConfigForm):
    period_start = forms.DateField(
        label=_("Period"),
        help_text=_("Any day of the period; it is taken as the period's start."),
        # ISO in every language: the browser's date input reads nothing else.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    kind = forms.ChoiceField(label=_("Kind of target"), choices=Target.Kind.choices)
    amount = _number_field(
        _("Value or change"),
        _(
            "Absolute: the value in the KPI's unit (a rate in %). Relative: the change in % of "
            "the previous period (−5 = 5 % lower). Percentage points: the change in points."
        ),
    )
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args: Any, target: Target | None = None, **kwargs: Any) -> None:
        if target is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kpi": target.kpi,
                "scope": f"{target.dimension}:{target.dimension_value}",
                "granularity": target.granularity,
                "period_start": target.period_start,
                "kind": target.kind,
                "amount": (
                    stored_to_display(target.kpi, target.amount).normalize()
                    if target.kind == Target.Kind.ABSOLUTE
                    else target.amount.normalize()
                ),
                "notes": target.notes,
            }
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        granularity, day = cleaned.get("granularity"), cleaned.get("period_start")
        if granularity and day:
            cleaned["period_start"] = period_bounds(granularity, day)[0]
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The arguments of target_create / target_update, the amount in the stored unit."""
        data = self.cleaned_data
        dimension, value = self.cleaned_cell()
        amount: Decimal = data["amount"]
        if data["kind"] == Target.Kind.ABSOLUTE:
            amount = display_to_stored(data["kpi"], amount)
        return {
            "kpi": data["kpi"],
            "granularity": data["granularity"],
            "period_start": data["period_start"],
            "kind": data["kind"],
            "amount": amount,
            "dimension": dimension,
            "dimension_value": value,
            "notes": data.get("notes", ""),
        }


class Condition:
    ABOVE = "above"
    BELOW = "below"
    CHANGE_PCT = "change_pct"
    CHANGE_ABS = "change_abs"
    MISSES_TARGET = "misses_target"
    UNUSUAL = "unusual"
    CHOICES = [
        (ABOVE, _("is above a threshold")),
        (BELOW, _("is below a threshold")),
        (CHANGE_PCT, _("changes by a % against the previous period")),
        (CHANGE_ABS, _("changes by an amount (points, pp, units) against the previous period")),
        (MISSES_TARGET, _("misses its target")),
        (UNUSUAL, _("is unusual (outside the band of the trailing 12 periods)")),
    ]
    NEEDS_NUMBER = {ABOVE, BELOW, CHANGE_PCT, CHANGE_ABS}


def rule_condition(rule: AlertRule) -> tuple[str, Decimal | None]:
    """The form's condition and number (display units) of a stored rule (its first condition)."""
    kpi = rule.kpi
    if rule.upper_threshold is not None:
        return Condition.ABOVE, stored_to_display(kpi, rule.upper_threshold)
    if rule.lower_threshold is not None:
        return Condition.BELOW, stored_to_display(kpi, rule.lower_threshold)
    if rule.change_pct is not None:
        return Condition.CHANGE_PCT, rule.change_pct
    if rule.change_abs is not None:
        return Condition.CHANGE_ABS, stored_to_display(kpi, rule.change_abs)
    if rule.misses_target:
        return Condition.MISSES_TARGET, None
    return Condition.UNUSUAL, None


def rule_default(name: str) -> Any:
    """A new alert rule's value of `name`: the model's default, which alert_rule_create keeps."""
    field = AlertRule._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.get_default()


class AlertRuleForm(ScopedConfigForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    condition = forms.ChoiceField(label=_("Alert when the KPI"), choices=Condition.CHOICES)
    threshold = _number_field(
        _("Threshold or change"),
        _(
            "In the KPI's display unit: a rate in % (90 = 90 %), NPS in points, durations in "
            "minutes. A change: negative for a fall (−10), positive for a rise."
        ),
        required=False,
    )
    min_sample = forms.IntegerField(
        label=_("Minimum sample"),
        min_value=0,
        initial=rule_default("min_sample"),
        help_text=_("Periods with fewer records behind the figure are skipped."),
    )
    fire_after = forms.IntegerField(
        label=_("Consecutive periods before it fires"),
        min_value=1,
        initial=rule_default("fire_after"),
    )
    resolve_after = forms.IntegerField(
        label=_("Consecutive OK periods before it resolves"),
        min_value=1,
        initial=rule_default("resolve_after"),
    )
    hysteresis = _number_field(
        _("Hysteresis"),
        _(
            "In display units: the value must be this far back on the good side of the "
            "threshold or target to count as OK, so a figure at the edge does not flap."
        ),
        required=False,
    )
    recipient_roles = forms.MultipleChoiceField(
        label=_("Notify roles"),
        choices=[(role, ROLE_LABELS[role]) for role in ROLES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipient_teams = forms.MultipleChoiceField(
        label=_("Notify teams"), required=False, widget=forms.CheckboxSelectMultiple
    )
    recipients = forms.MultipleChoiceField(
        label=_("Notify people"), required=False, widget=forms.SelectMultiple(attrs={"size": 5})
    )
    notify_in_app = forms.BooleanField(
        label=_("In the app"), required=False, initial=rule_default("notify_in_app")
    )
    notify_email = forms.BooleanField(
        label=_("By e-mail"), required=False, initial=rule_default("notify_email")
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False, initial=rule_default("is_active")
    )

    def __init__(self, *args: Any, rule: AlertRule | None = None, **kwargs: Any) -> None:
        if rule is not None and "initial" not in kwargs:
            condition, number = rule_condition(rule)
            kwargs["initial"] = {
                "name": rule.name,
                "kpi": rule.kpi,
                "scope": f"{rule.dimension}:{rule.dimension_value}",
                "granularity": rule.granularity,
                "condition": condition,
                "threshold": None if number is None else number.normalize(),
                "min_sample": rule.min_sample,
                "fire_after": rule.fire_after,
                "resolve_after": rule.resolve_after,
                "hysteresis": stored_to_display(rule.kpi, rule.hysteresis).normalize(),
                "recipient_roles": rule.recipient_roles,
                "recipient_teams": [str(team.pk) for team in rule.recipient_teams.all()],
                "recipients": [str(user.pk) for user in rule.recipients.all()],
                "notify_in_app": rule.notify_in_app,
                "notify_email": rule.notify_email,
                "is_active": rule.is_active,
            }
        super().__init__(*args, **kwargs)
        scope = self.kpi_scope
        teams = Team.objects.order_by("name")
        people = get_user_model()._default_manager.filter(is_active=True, groups__name__in=ROLES)
        if not scope.is_organisation:
            team_ids = scope.values("team") or []
            teams = teams.filter(pk__in=team_ids)
            people = people.filter(
                Q(pk__in=scope.values("owner") or [])
                | Q(teams__in=team_ids)
                | Q(managed_teams__in=team_ids)
            )
        self._choices("recipient_teams", [(str(team.pk), team.name) for team in teams])
        self._choices(
            "recipients",
            [
                (str(user.pk), _user_label(user))
                for user in people.distinct().order_by("first_name", "last_name", "username")
            ],
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("condition") in Condition.NEEDS_NUMBER and cleaned.get("threshold") is None:
            self.add_error("threshold", _("This condition needs a number."))
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """Arguments of alert_rule_create / alert_rule_update, numbers in the stored unit."""
        data = self.cleaned_data
        kpi, condition, number = data["kpi"], data["condition"], data.get("threshold")
        dimension, value = self.cleaned_cell()
        fields: dict[str, Any] = {
            "name": data["name"],
            "kpi": kpi,
            "granularity": data["granularity"],
            "dimension": dimension,
            "dimension_value": value,
            "lower_threshold": None,
            "upper_threshold": None,
            "change_pct": None,
            "change_abs": None,
            "misses_target": condition == Condition.MISSES_TARGET,
            "unusual": condition == Condition.UNUSUAL,
            "min_sample": data["min_sample"],
            "fire_after": data["fire_after"],
            "resolve_after": data["resolve_after"],
            "hysteresis": display_to_stored(kpi, data.get("hysteresis") or Decimal(0)),
            "recipient_roles": list(data.get("recipient_roles") or []),
            "notify_in_app": data.get("notify_in_app", False),
            "notify_email": data.get("notify_email", False),
            "is_active": data.get("is_active", False),
        }
        if number is not None:
            if condition == Condition.ABOVE:
                fields["upper_threshold"] = display_to_stored(kpi, number)
            elif condition == Condition.BELOW:
                fields["lower_threshold"] = display_to_stored(kpi, number)
            elif condition == Condition.CHANGE_PCT:
                fields["change_pct"] = number
            elif condition == Condition.CHANGE_ABS:
                fields["change_abs"] = display_to_stored(kpi, number)
        return fields

    def recipient_ids(self) -> tuple[list[str], list[str]]:
        return (
            list(self.cleaned_data.get("recipients") or []),
            list(self.cleaned_data.get("recipient_teams") or []),
        )


def kpi_units() -> dict[str, dict[str, str]]:
    """Each KPI's display unit and direction, for the form's live hints (kpi-config.js)."""
    return {
        definition.key: {
            "unit": charts.kpi_presentation(definition.key).unit,
            "direction": str(definition.direction),
        }
        for definition in registry.all()
    }


def unit_hints() -> dict[str, Any]:
    """The threshold field's hint per display unit and condition (kpi-config.js shows it)."""
    return {
        "change_pct": str(_("in % of the previous period (−20 = a fall of 20 %)")),
        "level": {
            charts.UNIT_RATE: str(_("in % (90 = 90 %)")),
            charts.UNIT_SCORE: str(_("in points")),
            charts.UNIT_MINUTES: str(_("in minutes")),
            charts.UNIT_DAYS: str(_("in days")),
            charts.UNIT_MONEY: str(_("in the organisation currency")),
            charts.UNIT_COUNT: str(_("as a count")),
            charts.UNIT_NUMBER: str(_("as a number")),
        },
        "change": {
            charts.UNIT_RATE: str(_("in percentage points (−2 = 2 pp lower)")),
            charts.UNIT_SCORE: str(_("in points (−10 = 10 points lower)")),
            charts.UNIT_MINUTES: str(_("in minutes")),
            charts.UNIT_DAYS: str(_("in days")),
            charts.UNIT_MONEY: str(_("in the organisation currency")),
            charts.UNIT_COUNT: str(_("as a count")),
            charts.UNIT_NUMBER: str(_("as a number")),
        },
    }

"""Writes of the KPI configuration: targets, alert rules (and an alert's acknowledge and
resolve) and index weight versions (drafts, edits, activation and the weights editor's jobs).
The admin, the pages (kpis.views.config, kpis.views.weights) and the API (kpis.api) call these;
each validates before it writes and runs under the acting user's audit context, so the trail
names who did what. The annotations' writes are reports.services'.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.outbox import task_send_on_commit
from crm.roles import MANAGER, ROLES
from kpis.alerts import DEFAULT_ALERT_RULES, OPEN_STATES
from kpis.index import (
    active_weight_version,
    compute_index,
    validate_bands,
    validate_groups,
    validate_health_config,
    validate_indicators,
)
from kpis.models import (
    Alert,
    AlertEvaluation,
    AlertRule,
    Granularity,
    GroupWeight,
    IndicatorWeight,
    Target,
    WeightVersion,
)
from kpis.periods import current_period
from kpis.selectors import snapshot_periods_of
from kpis.targets import (
    kpi_is_known,
    kpi_points_scale,
    period_is_aligned,
    period_shift,
)
from kpis.weight_selectors import missing_snapshot_periods
from kpis.weight_tasks import JOB_COMPUTE, JOB_RESTATE, weights_job_run, weights_job_save

# --- targets -----------------------------------------------------------------------------------


def target_clean(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    kind: str,
    baseline_period_start: dt.date | None = None,
) -> None:
    """Refuse a target that cannot be resolved; target_create and target_update call it."""
    errors: dict[str, str] = {}
    if not kpi_is_known(kpi):
        errors["kpi"] = _("Unknown KPI key %(kpi)s.") % {"kpi": kpi}
    if granularity not in Granularity.values:
        errors["granularity"] = _("Unknown granularity %(g)s.") % {"g": granularity}
    elif not period_is_aligned(granularity, period_start):
        errors["period_start"] = _("%(d)s is not the start of a %(g)s.") % {
            "d": period_start,
            "g": granularity,
        }
    if kind not in Target.Kind.values:
        errors["kind"] = _("Unknown target kind %(k)s.") % {"k": kind}
    elif kind == Target.Kind.PP_CHANGE and kpi_points_scale(kpi) is None:
        errors["kind"] = _(
            "A percentage-point change applies to rates and NPS only; use a relative change."
        )
    if baseline_period_start is not None and baseline_period_start >= period_start:
        errors["baseline_period_start"] = _("The baseline must be an earlier period.")
    if kind == Target.Kind.ABSOLUTE and baseline_period_start is not None:
        errors["baseline_period_start"] = _("An absolute target has no baseline.")
    if errors:
        raise ValidationError(errors)


@actor_context
@transaction.atomic
def target_create(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    kind: str,
    amount: Decimal | int | str,
    dimension: str = "all",
    dimension_value: str = "",
    baseline_period_start: dt.date | None = None,
    notes: str = "",
    actor: Any = None,
) -> Target:
    target_clean(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        kind=kind,
        baseline_period_start=baseline_period_start,
    )
    try:
        amount = Decimal(str(amount))
    except ArithmeticError:
        raise ValidationError({"amount": _("The amount must be a number.")}) from None
    if not amount.is_finite():
        raise ValidationError({"amount": _("The amount must be a number.")})
    if kind != Target.Kind.ABSOLUTE and baseline_period_start is None:
        baseline_period_start = period_shift(granularity, period_start, -1)
    _refuse_duplicate(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        dimension=dimension,
        dimension_value=dimension_value,
    )
    return Target.objects.create(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        kind=kind,
        amount=amount,
        dimension=dimension,
        dimension_value=dimension_value,
        baseline_period_start=baseline_period_start,
        notes=notes,
        created_by=actor,
    )


TARGET_EDITABLE = frozenset(
    {
        "kpi",
        "granularity",
        "period_start",
        "kind",
        "amount",
        "dimension",
        "dimension_value",
        "baseline_period_start",
        "notes",
    }
)


@transaction.atomic
def target_update(*, target: Target, **fields: Any) -> Target:
    """Change a target under the rules of target_create, checked on the merged values."""
    unknown = set(fields) - TARGET_EDITABLE
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed on a target.") for name in sorted(unknown)}
        )
    locked = Target.objects.select_for_update().get(pk=target.pk)
    merged = {name: fields.get(name, getattr(locked, name)) for name in TARGET_EDITABLE}
    target_clean(
        kpi=merged["kpi"],
        granularity=merged["granularity"],
        period_start=merged["period_start"],
        kind=merged["kind"],
        baseline_period_start=merged["baseline_period_start"],
    )
    try:
        merged["amount"] = Decimal(str(merged["amount"]))
    except ArithmeticError:
        raise ValidationError({"amount": _("The amount must be a number.")}) from None
    if not merged["amount"].is_finite():
        raise ValidationError({"amount": _("The amount must be a number.")})
    if merged["kind"] != Target.Kind.ABSOLUTE and merged["baseline_period_start"] is None:
        merged["baseline_period_start"] = period_shift(
            merged["granularity"], merged["period_start"], -1
        )
    if merged["kind"] == Target.Kind.ABSOLUTE:
        merged["baseline_period_start"] = None
    _refuse_duplicate(
        kpi=merged["kpi"],
        granularity=merged["granularity"],
        period_start=merged["period_start"],
        dimension=merged["dimension"],
        dimension_value=merged["dimension_value"],
        exclude_pk=locked.pk,
    )
    for name, value in merged.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    return locked


def _refuse_duplicate(
    *,
    kpi: str,
    granularity: str,
    period_start: dt.date,
    dimension: str,
    dimension_value: str,
    exclude_pk: int | None = None,
) -> None:
    """One target per KPI cell and period (also a constraint): say so next to the period."""
    clash = Target.objects.filter(
        kpi=kpi,
        granularity=granularity,
        period_start=period_start,
        dimension=dimension,
        dimension_value=dimension_value,
    )
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {
                "period_start": _(
                    "This KPI already has a target for this scope and period; edit that one."
                )
            }
        )


@transaction.atomic
def target_delete(*, target: Target) -> None:
    Target.objects.filter(pk=target.pk).delete()


# --- alerts and alert rules --------------------------------------------------------------------


@actor_context
@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor: Any) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state != Alert.State.FIRING:
        raise ValidationError(_("Only a firing alert can be acknowledged."))
    alert.state = Alert.State.ACKNOWLEDGED
    alert.acknowledged_by = actor
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
    return alert


@actor_context
@transaction.atomic
def alert_resolve(*, alert: Alert, actor: Any) -> Alert:
    """Close an episode by hand; the rule fires again only on breaches in later periods."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state not in OPEN_STATES:
        raise ValidationError(_("Only a firing or acknowledged alert can be resolved."))
    newest = AlertEvaluation.objects.filter(rule_id=alert.rule_id).aggregate(
        newest=Max("period_start")
    )["newest"]
    alert.state = Alert.State.RESOLVED
    alert.resolved_by = actor
    alert.resolved_at = timezone.now()
    alert.resolved_period_start = max(filter(None, [newest, alert.period_start]))
    alert.save(update_fields=["state", "resolved_by", "resolved_at", "resolved_period_start"])
    return alert


def alert_rule_clean(
    *,
    kpi: str,
    granularity: str,
    lower_threshold: Decimal | int | str | None,
    upper_threshold: Decimal | int | str | None,
    change_pct: Decimal | int | str | None,
    fire_after: int,
    resolve_after: int,
    change_abs: Decimal | int | str | None = None,
    misses_target: bool = False,
    unusual: bool = False,
    hysteresis: Decimal | int | str | None = 0,
    recipient_roles: Sequence[str] = (),
    notify_in_app: bool = True,
    notify_email: bool = True,
) -> dict[str, Any]:
    """Refuse a rule that cannot work, naming the field at fault; return the numbers as
    Decimals (the rules of alert_rule_create and alert_rule_update)."""
    errors: dict[str, str] = {}
    numbers: dict[str, Any] = {}
    for field_name, raw in (
        ("lower_threshold", lower_threshold),
        ("upper_threshold", upper_threshold),
        ("change_pct", change_pct),
        ("change_abs", change_abs),
        ("hysteresis", hysteresis),
    ):
        try:
            number = None if raw is None or raw == "" else Decimal(str(raw))
        except ArithmeticError:
            errors[field_name] = _("Enter a number.")
            number = None
        if number is not None and not number.is_finite():
            errors[field_name] = _("Enter a number.")
            number = None
        numbers[field_name] = number
    numbers["hysteresis"] = numbers["hysteresis"] or Decimal(0)
    lower, upper = numbers["lower_threshold"], numbers["upper_threshold"]
    change, change_abs_number = numbers["change_pct"], numbers["change_abs"]
    if not kpi_is_known(kpi):
        errors["kpi"] = _("Unknown KPI key %(kpi)s.") % {"kpi": kpi}
    if granularity not in Granularity.values:
        errors["granularity"] = _("Unknown granularity %(g)s.") % {"g": granularity}
    if (
        lower is None
        and upper is None
        and change is None
        and change_abs_number is None
        and not misses_target
        and not unusual
    ):
        errors["lower_threshold"] = _(
            "Choose a condition: a threshold, a change, missing the target or unusual."
        )
    if lower is not None and upper is not None and lower >= upper:
        errors["upper_threshold"] = _("The upper threshold must be above the lower one.")
    if change is not None and change == 0:
        errors["change_pct"] = _("A change of 0 % would always breach; use a non-zero value.")
    if change_abs_number is not None and change_abs_number == 0:
        errors["change_abs"] = _("A change of 0 would always breach; use a non-zero value.")
    if numbers["hysteresis"] < 0:
        errors["hysteresis"] = _("The hysteresis cannot be negative.")
    if fire_after < 1:
        errors["fire_after"] = _("Fire after at least 1 snapshot.")
    if resolve_after < 1:
        errors["resolve_after"] = _("Resolve after at least 1 snapshot.")
    unknown_roles = sorted(set(recipient_roles) - set(ROLES))
    if unknown_roles:
        errors["recipient_roles"] = _("Unknown role %(role)s.") % {"role": unknown_roles[0]}
    if not notify_in_app and not notify_email:
        errors["notify_in_app"] = _("Choose in-app, e-mail or both.")
    if errors:
        raise ValidationError(errors)
    return numbers


@actor_context
@transaction.atomic
def alert_rule_create(
    *,
    name: str,
    kpi: str,
    granularity: str,
    dimension: str = "all",
    dimension_value: str = "",
    lower_threshold: Decimal | int | str | None = None,
    upper_threshold: Decimal | int | str | None = None,
    change_pct: Decimal | int | str | None = None,
    change_abs: Decimal | int | str | None = None,
    misses_target: bool = False,
    unusual: bool = False,
    min_sample: int = 0,
    hysteresis: Decimal | int | str | None = 0,
    fire_after: int = 1,
    resolve_after: int = 1,
    is_active: bool = True,
    recipients: Sequence[Any] = (),
    recipient_roles: Sequence[str] = (),
    recipient_teams: Sequence[Any] = (),
    notify_in_app: bool = True,
    notify_email: bool = True,
    actor: Any = None,
) -> AlertRule:
    numbers = alert_rule_clean(
        kpi=kpi,
        granularity=granularity,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        change_pct=change_pct,
        change_abs=change_abs,
        misses_target=misses_target,
        unusual=unusual,
        hysteresis=hysteresis,
        fire_after=fire_after,
        resolve_after=resolve_after,
        recipient_roles=recipient_roles,
        notify_in_app=notify_in_app,
        notify_email=notify_email,
    )
    rule = AlertRule.objects.create(
        name=name,
        kpi=kpi,
        granularity=granularity,
        dimension=dimension,
        dimension_value=dimension_value,
        misses_target=misses_target,
        unusual=unusual,
        min_sample=min_sample,
        fire_after=fire_after,
        resolve_after=resolve_after,
        is_active=is_active,
        recipient_roles=sorted(set(recipient_roles)),
        notify_in_app=notify_in_app,
        notify_email=notify_email,
        created_by=actor,
        **numbers,
    )
    if recipients:
        rule.recipients.set(recipients)
    if recipient_teams:
        rule.recipient_teams.set(recipient_teams)
    return rule


# What an edit may change; who created the rule stays.
ALERT_RULE_EDITABLE = frozenset(
    {
        "name",
        "kpi",
        "granularity",
        "dimension",
        "dimension_value",
        "lower_threshold",
        "upper_threshold",
        "change_pct",
        "change_abs",
        "misses_target",
        "unusual",
        "min_sample",
        "hysteresis",
        "fire_after",
        "resolve_after",
        "is_active",
        "recipient_roles",
        "notify_in_app",
        "notify_email",
    }
)


@transaction.atomic
def alert_rule_update(
    *,
    rule: AlertRule,
    recipients: Sequence[Any] | None = None,
    recipient_teams: Sequence[Any] | None = None,
    **fields: Any,
) -> AlertRule:
    """Change a rule under the same rules as a new one (checked on the merged values)."""
    unknown = set(fields) - ALERT_RULE_EDITABLE
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed on a rule.") for name in sorted(unknown)}
        )
    locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
    merged = {name: fields.get(name, getattr(locked, name)) for name in ALERT_RULE_EDITABLE}
    numbers = alert_rule_clean(
        kpi=merged["kpi"],
        granularity=merged["granularity"],
        lower_threshold=merged["lower_threshold"],
        upper_threshold=merged["upper_threshold"],
        change_pct=merged["change_pct"],
        change_abs=merged["change_abs"],
        misses_target=merged["misses_target"],
        unusual=merged["unusual"],
        hysteresis=merged["hysteresis"],
        fire_after=merged["fire_after"],
        resolve_after=merged["resolve_after"],
        recipient_roles=merged["recipient_roles"],
        notify_in_app=merged["notify_in_app"],
        notify_email=merged["notify_email"],
    )
    merged["recipient_roles"] = sorted(set(merged["recipient_roles"]))
    for name, value in (merged | numbers).items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if recipients is not None:
        locked.recipients.set(recipients)
    if recipient_teams is not None:
        locked.recipient_teams.set(recipient_teams)
    return locked


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule) -> None:
    """Delete a rule with its evaluation log and alerts (deactivate it to keep them)."""
    AlertRule.objects.filter(pk=rule.pk).delete()


def alert_rules_default_install() -> list[AlertRule]:
    """The default monthly rules, notifying managers in the app and by e-mail; a rule of the
    same name is left as it is, so running it twice (or after the migration) adds nothing."""
    existing = set(AlertRule.objects.values_list("name", flat=True))
    return [
        alert_rule_create(
            name=name,
            kpi=kpi,
            granularity=Granularity.MONTH,
            recipient_roles=[MANAGER],
            **fields,
        )
        for name, kpi, fields in DEFAULT_ALERT_RULES
        if name not in existing
    ]


# --- index weight versions --------------------------------------------------------------------


def weight_version_require_draft(version: WeightVersion) -> None:
    if version.status != WeightVersion.Status.DRAFT:
        raise ValidationError(
            _("Version %(name)s is %(status)s and cannot be changed; create a draft from it.")
            % {"name": version.name, "status": version.get_status_display()}
        )


@actor_context
@transaction.atomic
def weight_version_create_draft(
    *, actor: Any = None, source: WeightVersion | None = None, name: str = ""
) -> WeightVersion:
    """A new draft copying every weight, band and setting of `source` (default: the active one)."""
    source = source or active_weight_version()
    if source is None:
        draft = WeightVersion.objects.create(name=name or _("New weights"), created_by=actor)
        return draft
    draft = WeightVersion.objects.create(
        name=name or _("Draft from %(name)s") % {"name": source.name},
        based_on=source,
        min_coverage=source.min_coverage,
        bands=source.bands,
        health_config=source.health_config,
        health_bands=source.health_bands,
        created_by=actor,
    )
    IndicatorWeight.objects.bulk_create(
        IndicatorWeight(
            version=draft,
            kpi=row.kpi,
            group=row.group,
            weight=row.weight,
            priority=row.priority,
            direction=row.direction,
            normalisation=row.normalisation,
            best=row.best,
            worst=row.worst,
            target=row.target,
        )
        for row in IndicatorWeight.objects.filter(version=source)
    )
    GroupWeight.objects.bulk_create(
        GroupWeight(version=draft, group=row.group, weight=row.weight, priority=row.priority)
        for row in GroupWeight.objects.filter(version=source)
    )
    return draft


@actor_context
@transaction.atomic
def weight_version_update(
    *,
    version: WeightVersion,
    actor: Any = None,
    name: str | None = None,
    notes: str | None = None,
    min_coverage: Decimal | None = None,
    bands: list[dict[str, Any]] | None = None,
    health_config: list[dict[str, Any]] | None = None,
    health_bands: list[dict[str, Any]] | None = None,
    indicators: Sequence[Mapping[str, Any]] | None = None,
    groups: Sequence[Mapping[str, Any]] | None = None,
) -> WeightVersion:
    """Edit a draft. `indicators` / `groups`, when given, replace all of the draft's rows.

    Everything is validated before anything is written; a refusal leaves the draft unchanged.
    """
    version = WeightVersion.objects.select_for_update().get(pk=version.pk)
    weight_version_require_draft(version)
    errors: dict[str, list[str]] = {}

    def collect(check: Any) -> Any:
        try:
            return check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
            return None

    new_bands = collect(lambda: validate_bands(bands)) if bands is not None else None
    new_health_bands = (
        collect(lambda: validate_bands(health_bands, field_name="health_bands"))
        if health_bands is not None
        else None
    )
    new_health = (
        collect(lambda: validate_health_config(health_config))
        if health_config is not None
        else None
    )
    new_indicators = (
        collect(lambda: validate_indicators(indicators)) if indicators is not None else None
    )
    new_groups = collect(lambda: validate_groups(groups)) if groups is not None else None
    if min_coverage is not None and not (0 <= min_coverage <= 1):
        errors.setdefault("min_coverage", []).append(
            _("The minimum coverage is a fraction between 0 and 1.")
        )
    if not errors and (new_indicators is not None or new_groups is not None):
        group_names = (
            set(new_groups)
            if new_groups is not None
            else set(GroupWeight.objects.filter(version=version).values_list("group", flat=True))
        )
        indicator_groups = (
            {i.group for i in new_indicators}
            if new_indicators is not None
            else set(
                IndicatorWeight.objects.filter(version=version).values_list("group", flat=True)
            )
        )
        if indicator_groups - group_names:
            errors.setdefault("groups", []).append(
                _("Groups without a group weight: %(groups)s.")
                % {"groups": ", ".join(sorted(indicator_groups - group_names))}
            )
    if errors:
        raise ValidationError(errors)

    if name is not None:
        version.name = name
    if notes is not None:
        version.notes = notes
    if min_coverage is not None:
        version.min_coverage = min_coverage
    if new_bands is not None:
        version.bands = new_bands
    if new_health_bands is not None:
        version.health_bands = new_health_bands
    if new_health is not None:
        version.health_config = new_health
    version.save()
    if new_indicators is not None:
        IndicatorWeight.objects.filter(version=version).delete()
        IndicatorWeight.objects.bulk_create(
            IndicatorWeight(
                version=version,
                kpi=i.kpi,
                group=i.group,
                weight=i.weight,
                priority=i.priority,
                direction=i.direction,
                normalisation=i.normalisation,
                best=i.best,
                worst=i.worst,
                target=i.target,
            )
            for i in new_indicators
        )
    if new_groups is not None:
        GroupWeight.objects.filter(version=version).delete()
        GroupWeight.objects.bulk_create(
            GroupWeight(version=version, group=group, weight=weight, priority=priority)
            for group, (weight, priority) in new_groups.items()
        )
    return version


def weight_version_validate(*, version: WeightVersion) -> None:
    """Check a version's stored rows (the admin inlines write them directly) as the services do."""
    indicators = [
        {
            "kpi": row.kpi,
            "group": row.group,
            "weight": row.weight,
            "priority": row.priority,
            "direction": row.direction,
            "normalisation": row.normalisation,
            "best": row.best,
            "worst": row.worst,
            "target": row.target,
        }
        for row in IndicatorWeight.objects.filter(version=version)
    ]
    groups = list(GroupWeight.objects.filter(version=version).values("group", "weight"))
    errors: dict[str, list[str]] = {}
    for check in (
        lambda: validate_indicators(indicators),
        lambda: validate_groups(groups),
        lambda: validate_bands(version.bands),
        lambda: validate_bands(version.health_bands, field_name="health_bands"),
        lambda: validate_health_config(version.health_config),
    ):
        try:
            check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if not indicators:
        errors.setdefault("indicators", []).append(_("A version needs at least one indicator."))
    missing = {str(row["group"]) for row in indicators} - {str(row["group"]) for row in groups}
    if missing:
        errors.setdefault("groups", []).append(
            _("Groups without a group weight: %(groups)s.") % {"groups": ", ".join(sorted(missing))}
        )
    if errors:
        raise ValidationError(errors)


@actor_context
@transaction.atomic
def weight_version_activate(*, version: WeightVersion, actor: Any = None) -> WeightVersion:
    """Make a draft the active version; the previously active one is retired (who and when)."""
    version = WeightVersion.objects.select_for_update().get(pk=version.pk)
    weight_version_require_draft(version)
    weight_version_validate(version=version)
    now = timezone.now()
    # Lock the current active row so two activations cannot both succeed.
    WeightVersion.objects.select_for_update().filter(status=WeightVersion.Status.ACTIVE).update(
        status=WeightVersion.Status.RETIRED, retired_at=now
    )
    version.status = WeightVersion.Status.ACTIVE
    version.activated_at = now
    version.activated_by = actor
    version.save(update_fields=["status", "activated_at", "activated_by"])
    return version


# --- the weights editor: draft delete, activation, background jobs ---------------------------


MODE_FROM_NOW = "from_now"
MODE_RESTATE = "restate"
ACTIVATION_MODES = (MODE_FROM_NOW, MODE_RESTATE)
# Granularities the index is computed for from now on, right at activation (cheap: one each).
OPEN_GRANULARITIES = ("week", "month", "quarter", "year")


def _job_start(
    *, kind: str, periods: Sequence[tuple[str, dt.date]], version_id: int | None = None
) -> str:
    """Queue the job after commit; its state says "queued" until a worker picks it up."""
    token = secrets.token_urlsafe(16)
    weights_job_save(token, kind=kind, state="queued", done=0, total=len(periods), error="")
    task_send_on_commit(
        weights_job_run,
        token,
        kind,
        [[granularity, start.isoformat()] for granularity, start in periods],
        version_id,
    )
    return token


@actor_context
@transaction.atomic
def weight_draft_delete(*, version: WeightVersion, actor: Any = None) -> None:
    """Delete a draft with its rows; active and retired versions are history and stay."""
    version = WeightVersion.objects.select_for_update().get(pk=version.pk)
    weight_version_require_draft(version)
    version.delete()


@actor_context
def weight_preview_snapshots_compute(
    *, version: WeightVersion, granularity: str, period_starts: Sequence[dt.date], actor: Any = None
) -> str | None:
    """Queue the KPI runs of the preview's periods that have no snapshots; the job's token, or
    None when nothing is missing."""
    missing = missing_snapshot_periods(
        version=version, granularity=granularity, period_starts=period_starts
    )
    if not missing:
        return None
    return _job_start(kind=JOB_COMPUTE, periods=[(granularity, s) for s in missing])


def stored_index_periods(version: WeightVersion) -> list[tuple[str, dt.date]]:
    """Every (granularity, period) with stored KPIs of the version: what a restatement rescores."""
    kpis = IndicatorWeight.objects.filter(version=version).values_list("kpi", flat=True)
    return snapshot_periods_of(kpis=kpis)


@actor_context
@transaction.atomic
def weight_version_activate_with(
    *, version: WeightVersion, mode: str, actor: Any = None
) -> tuple[WeightVersion, str | None]:
    """Activate a draft. "from_now": the open periods are scored under it at once and every later
    KPI run uses it; earlier periods keep the old version's index. "restate": additionally every
    stored period is rescored under it by a background job (its token is returned); the old
    version's snapshots stay, readable by version."""
    if mode not in ACTIVATION_MODES:
        raise ValidationError({"mode": _("Choose “from now on” or “restate history”.")})
    version = weight_version_activate(version=version, actor=actor)
    if mode == MODE_RESTATE:
        periods = stored_index_periods(version)
        return version, _job_start(kind=JOB_RESTATE, periods=periods, version_id=version.pk)
    stored = set(stored_index_periods(version))
    for granularity in OPEN_GRANULARITIES:
        start, end = current_period(granularity)
        if (granularity, start) in stored:
            compute_index(
                granularity=granularity, period_start=start, period_end=end, version=version
            )
    return version, None

"""Alert rules on KPI snapshots: evaluation, firing, resolution and notification (catalogue §4).

Evaluating a (granularity, period) checks every active rule of that granularity against the
KPI snapshot of its (kpi, dimension, dimension value) and logs one AlertEvaluation per rule:

- ``skipped`` when there is no snapshot, the value is n/a (NULL) or flagged ``low_sample``; a
  skipped period neither breaks nor extends a streak;
- ``breach`` when the value is below ``lower_threshold``, above ``upper_threshold``, or its change
  vs the previous period — (v − prev) ÷ |prev| · 100 — is at most ``change_pct`` (a negative
  setting: a drop) or at least it (a positive setting: a rise). The change condition needs a
  previous value that is present, not low-sample and not 0; without one it is not evaluated, and a
  rule with only that condition is skipped;
- ``ok`` otherwise.

A period re-evaluated (the open period is recomputed on every run) counts once, with its latest
outcome. A rule **fires** when its latest N evaluated periods (N = ``fire_after``) are breaches and
no episode is open: an Alert row is created and, only then, its recipients get an in-app
notification and an e-mail (after commit). An open alert **resolves** after M (``resolve_after``)
consecutive OK periods. A new episode after a resolution needs breaches in periods after the one
it was resolved in, so a manual resolve is not undone by re-evaluating the same period. State
changes happen only when the evaluated period is the rule's newest: a backfill of old periods is
logged but does not fire alerts about the past.
"""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.context import actor_context
from crm.models import Notification
from crm.notifications import NotificationDraft, notifications_send
from kpis.charts import kpi_presentation
from kpis.models import Alert, AlertEvaluation, AlertRule, Granularity, KpiSnapshot
from kpis.targets import kpi_is_known, period_end_of, period_shift

OPEN_STATES = (Alert.State.FIRING, Alert.State.ACKNOWLEDGED)


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    value: Decimal | None
    previous_value: Decimal | None


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def rule_verdict(
    rule: AlertRule, current: KpiSnapshot | None, previous: KpiSnapshot | None
) -> Verdict:
    """Pure check of one rule against the current and previous snapshots."""
    skipped = AlertEvaluation.Outcome.SKIPPED
    if current is None:
        return Verdict(skipped, "no snapshot", None, None)
    value = current.value
    previous_value = previous.value if previous is not None and not previous.low_sample else None
    if value is None:
        return Verdict(skipped, "n/a", None, previous_value)
    if current.low_sample:
        return Verdict(skipped, "low sample", value, previous_value)
    reasons: list[str] = []
    evaluated = False
    if rule.lower_threshold is not None:
        evaluated = True
        if value < rule.lower_threshold:
            reasons.append(f"below {_fmt(rule.lower_threshold)}")
    if rule.upper_threshold is not None:
        evaluated = True
        if value > rule.upper_threshold:
            reasons.append(f"above {_fmt(rule.upper_threshold)}")
    if rule.change_pct is not None and previous_value:
        evaluated = True
        change = (value - previous_value) / abs(previous_value) * 100
        if (rule.change_pct < 0 and change <= rule.change_pct) or (
            rule.change_pct > 0 and change >= rule.change_pct
        ):
            reasons.append(f"changed {change:+.1f}% vs previous period")
    if not evaluated:
        return Verdict(skipped, "no previous value", value, previous_value)
    if reasons:
        return Verdict(AlertEvaluation.Outcome.BREACH, "; ".join(reasons), value, previous_value)
    return Verdict(AlertEvaluation.Outcome.OK, "", value, previous_value)


# The stored reasons are English and machine-made (rule_verdict above); pages show them in the
# reader's language through `reason_text`, which knows each part rule_verdict can write.
_REASON_PARTS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"^below (?P<value>-?[\d.]+)$"), gettext_lazy("below %(value)s")),
    (re.compile(r"^above (?P<value>-?[\d.]+)$"), gettext_lazy("above %(value)s")),
    (
        re.compile(r"^changed (?P<change>[+-][\d.]+)% vs previous period$"),
        gettext_lazy("changed %(change)s %% against the previous period"),
    ),
    (re.compile(r"^no snapshot$"), gettext_lazy("no figure for the period")),
    (re.compile(r"^n/a$"), gettext_lazy("no value for the period")),
    (re.compile(r"^low sample$"), gettext_lazy("too few records to judge")),
    (re.compile(r"^no previous value$"), gettext_lazy("no previous value to compare with")),
)


def reason_text(reason: str) -> str:
    """A stored reason ("below 0.5; changed -12.0% vs previous period") in the active language;
    an alert message's "<kpi key>: " prefix is left out (pages name the KPI already)."""
    kpi_key, separator, rest = reason.partition(": ")
    if separator and kpi_key and " " not in kpi_key:
        reason = rest
    shown = []
    for part in reason.split("; "):
        for pattern, template in _REASON_PARTS:
            match = pattern.match(part)
            if match:
                shown.append(str(template) % match.groupdict())
                break
        else:
            shown.append(part)
    return "; ".join(shown)


def _streak(outcomes: Sequence[tuple[dt.date, str]], wanted: str, after: dt.date | None) -> int:
    """Leading run of `wanted` in newest-first (period, outcome) pairs, skipped ones ignored."""
    count = 0
    for period_start, outcome in outcomes:
        if outcome == AlertEvaluation.Outcome.SKIPPED:
            continue
        if outcome != wanted or (after is not None and period_start <= after):
            break
        count += 1
    return count


@transaction.atomic
def alerts_evaluate(
    *, granularity: str, period_start: dt.date, period_end: dt.date | None = None
) -> list[AlertEvaluation]:
    """Evaluate every active rule of `granularity` for one period; fire and resolve alerts."""
    period_end = period_end or period_end_of(granularity, period_start)
    rules = list(
        AlertRule.objects.filter(is_active=True, granularity=granularity)
        .select_related("created_by")
        .prefetch_related("recipients")
        .order_by("id")
    )
    if not rules:
        return []
    previous_start = period_shift(granularity, period_start, -1)
    snapshots = {
        (s.kpi, s.period_start, s.dimension, s.dimension_value): s
        for s in KpiSnapshot.objects.filter(
            granularity=granularity,
            period_start__in=[period_start, previous_start],
            kpi__in={rule.kpi for rule in rules},
            dimension__in={rule.dimension for rule in rules},
        )
    }
    now = timezone.now()
    evaluations = []
    for rule in rules:
        cell = (rule.dimension, rule.dimension_value)
        verdict = rule_verdict(
            rule,
            snapshots.get((rule.kpi, period_start, *cell)),
            snapshots.get((rule.kpi, previous_start, *cell)),
        )
        evaluations.append(
            AlertEvaluation(
                rule=rule,
                period_start=period_start,
                period_end=period_end,
                value=verdict.value,
                previous_value=verdict.previous_value,
                outcome=verdict.outcome,
                reason=verdict.reason[:200],
                evaluated_at=now,
            )
        )
    AlertEvaluation.objects.bulk_create(evaluations)

    # Newest-first outcome per period for each rule, over a window wide enough for N and M.
    longest = max(max(rule.fire_after, rule.resolve_after) for rule in rules)
    since = period_shift(granularity, period_start, -(3 * longest + 12))
    history: dict[int, list[tuple[dt.date, str]]] = {rule.pk: [] for rule in rules}
    seen: set[tuple[int, dt.date]] = set()
    for rule_id, start, outcome in (
        AlertEvaluation.objects.filter(rule__in=rules, period_start__gte=since)
        .order_by("rule_id", "-period_start", "-evaluated_at", "-id")
        .values_list("rule_id", "period_start", "outcome")
    ):
        if (rule_id, start) not in seen:
            seen.add((rule_id, start))
            history[rule_id].append((start, outcome))
    open_alerts = {
        alert.rule_id: alert
        for alert in Alert.objects.filter(rule__in=rules, state__in=OPEN_STATES)
    }
    last_resolved = dict(
        Alert.objects.filter(rule__in=rules, state=Alert.State.RESOLVED)
        .values("rule_id")
        .annotate(last=Max("resolved_period_start"))
        .values_list("rule_id", "last")
    )

    fired: list[Alert] = []
    resolved_ids: list[int] = []
    by_rule = {evaluation.rule.pk: evaluation for evaluation in evaluations}
    for rule in rules:
        outcomes = history[rule.pk]
        if not outcomes or outcomes[0][0] != period_start:
            continue  # a newer period was evaluated already: log only
        open_alert = open_alerts.get(rule.pk)
        if open_alert is None:
            breaches = _streak(outcomes, AlertEvaluation.Outcome.BREACH, last_resolved.get(rule.pk))
            if breaches >= rule.fire_after:
                evaluation = by_rule[rule.pk]
                fired.append(
                    Alert(
                        rule=rule,
                        state=Alert.State.FIRING,
                        granularity=granularity,
                        period_start=period_start,
                        period_end=period_end,
                        value=evaluation.value,
                        message=f"{rule.kpi}: {evaluation.reason}"[:300],
                        fired_at=now,
                    )
                )
        elif _streak(outcomes, AlertEvaluation.Outcome.OK, None) >= rule.resolve_after:
            resolved_ids.append(open_alert.pk)
    if resolved_ids:
        Alert.objects.filter(pk__in=resolved_ids).update(
            state=Alert.State.RESOLVED, resolved_at=now, resolved_period_start=period_start
        )
    if fired:
        Alert.objects.bulk_create(fired)
        _notify_fired(fired)
    return evaluations


def _notify_fired(alerts: Sequence[Alert]) -> None:
    """In-app notification and e-mail to each rule's recipients (or its author) on firing."""
    drafts: list[NotificationDraft] = []
    for alert in alerts:
        rule = alert.rule
        recipients = list(rule.recipients.all()) or ([rule.created_by] if rule.created_by else [])
        title = _("KPI alert: %(rule)s") % {"rule": rule.name}
        # Read by people: the KPI by name, the reason, period and date in the active language.
        body = _("%(message)s in the %(granularity)s starting %(start)s (value %(value)s).") % {
            "message": f"{kpi_presentation(rule.kpi).name}: {reason_text(alert.message)}",
            "granularity": Granularity(alert.granularity).label.lower(),
            "start": date_format(alert.period_start, "DATE_FORMAT"),
            "value": _("n/a") if alert.value is None else _fmt(alert.value),
        }
        link = reverse("admin:kpis_alert_change", args=[alert.pk]) if alert.pk else ""
        drafts.extend(
            NotificationDraft(
                user=user, kind=Notification.Kind.ALERT, title=title, body=body, link=link
            )
            for user in {user.pk: user for user in recipients}.values()
        )
    if drafts:
        notifications_send(drafts=drafts)


# --- services -------------------------------------------------------------------------------


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
) -> dict[str, Decimal | None]:
    """Refuse a rule that cannot work, naming the field at fault; return the thresholds as
    Decimals (the rules of alert_rule_create and alert_rule_update)."""
    errors: dict[str, str] = {}
    numbers: dict[str, Decimal | None] = {}
    for field_name, raw in (
        ("lower_threshold", lower_threshold),
        ("upper_threshold", upper_threshold),
        ("change_pct", change_pct),
    ):
        try:
            numbers[field_name] = None if raw is None or raw == "" else Decimal(str(raw))
        except ArithmeticError:
            errors[field_name] = _("Enter a number.")
            numbers[field_name] = None
    lower, upper, change = (
        numbers["lower_threshold"],
        numbers["upper_threshold"],
        numbers["change_pct"],
    )
    if not kpi_is_known(kpi):
        errors["kpi"] = _("Unknown KPI key %(kpi)s.") % {"kpi": kpi}
    if granularity not in Granularity.values:
        errors["granularity"] = _("Unknown granularity %(g)s.") % {"g": granularity}
    if lower is None and upper is None and change is None:
        errors["lower_threshold"] = _("Set a threshold or a % change.")
    if lower is not None and upper is not None and lower >= upper:
        errors["upper_threshold"] = _("The upper threshold must be above the lower one.")
    if change is not None and change == 0:
        errors["change_pct"] = _("A change of 0 % would always breach; use a non-zero value.")
    if fire_after < 1:
        errors["fire_after"] = _("Fire after at least 1 snapshot.")
    if resolve_after < 1:
        errors["resolve_after"] = _("Resolve after at least 1 snapshot.")
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
    fire_after: int = 1,
    resolve_after: int = 1,
    is_active: bool = True,
    recipients: Sequence[Any] = (),
    actor: Any = None,
) -> AlertRule:
    numbers = alert_rule_clean(
        kpi=kpi,
        granularity=granularity,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        change_pct=change_pct,
        fire_after=fire_after,
        resolve_after=resolve_after,
    )
    rule = AlertRule.objects.create(
        name=name,
        kpi=kpi,
        granularity=granularity,
        dimension=dimension,
        dimension_value=dimension_value,
        fire_after=fire_after,
        resolve_after=resolve_after,
        is_active=is_active,
        created_by=actor,
        **numbers,
    )
    if recipients:
        rule.recipients.set(recipients)
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
        "fire_after",
        "resolve_after",
        "is_active",
    }
)


@transaction.atomic
def alert_rule_update(
    *, rule: AlertRule, recipients: Sequence[Any] | None = None, **fields: Any
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
        fire_after=merged["fire_after"],
        resolve_after=merged["resolve_after"],
    )
    for name, value in (merged | numbers).items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if recipients is not None:
        locked.recipients.set(recipients)
    return locked

"""Alert rules on KPI snapshots: evaluation, firing, resolution and notification (catalogue §4).

Evaluating a (granularity, period) checks every active rule of that granularity against the
KPI snapshot of its (kpi, dimension, dimension value) and logs one AlertEvaluation per rule:

- ``skipped`` when there is no snapshot, the value is n/a (NULL), flagged ``low_sample`` or its
  sample is under the rule's ``min_sample``; a skipped period neither breaks nor extends a streak;
- ``breach`` when any condition of the rule holds:
  - the value is below ``lower_threshold`` or above ``upper_threshold`` (strictly);
  - its change vs the previous period — relative, (v − prev) ÷ |prev| · 100, against
    ``change_pct``, or in the KPI's unit, v − prev, against ``change_abs`` — is at most the
    setting (a negative setting: a fall) or at least it (a positive one: a rise). A change needs
    a previous value that is present and not low-sample (and not 0 for the relative kind);
  - ``misses_target``: the period is closed (not provisional) and the value is worse than the
    target set for the rule's cell and period (kpis.targets resolves relative targets);
  - ``unusual``: the value is outside mean ± 2 standard deviations of the trailing 12 periods
    (at least 6 of them with a value);
- ``ok`` otherwise. With ``hysteresis`` set, a value on the good side of a threshold or target
  but closer to it than the hysteresis is ``skipped`` ("within the hysteresis band"): it neither
  fires nor resolves, so a value hovering at the threshold does not flap.
A rule whose conditions all lack their inputs (no previous value, no target, short history) is
skipped.

A period re-evaluated (the open period is recomputed on every run) counts once, with its latest
outcome. An alert **fires** when the newest N (``fire_after``) counted periods breach and no
alert of the rule is open (at most one open episode per rule, also enforced by a constraint),
notifying the rule's recipients — users, members of its roles and of its teams, each only if the
rule's KPI cell is within their KPI scope — in the app and/or by e-mail (after commit). An open
alert **resolves** after M (``resolve_after``) consecutive OK periods. A new episode after a
resolution needs breaches in periods after the one it was resolved in, so a manual resolve is
not undone by re-evaluating the same period. State changes happen only when the evaluated period
is the rule's newest: a backfill of old periods is logged but does not fire alerts about the past.
"""

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Notification
from crm.notifications import NotificationDraft, notifications_send
from crm.templatetags.pulse import kpi_value
from kpis import charts
from kpis.definitions.base import dimension_labels
from kpis.models import (
    Alert,
    AlertEvaluation,
    AlertRule,
    Direction,
    KpiSnapshot,
    Target,
)
from kpis.page_queries import FILTER_LABELS
from kpis.periods import period_label
from kpis.priorities import priority_ranks
from kpis.selectors import kpi_scope_for, snapshot_value_history, snapshots_at, targets_progress
from kpis.targets import (
    kpi_direction,
    period_end_of,
    period_shift,
)

OPEN_STATES = (Alert.State.FIRING, Alert.State.ACKNOWLEDGED)
# "Unusual": outside mean ± BAND_WIDTH standard deviations of the trailing UNUSUAL_WINDOW periods.
UNUSUAL_WINDOW = 12
UNUSUAL_MIN_PERIODS = 6
BAND_WIDTH = 2


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    value: Decimal | None
    previous_value: Decimal | None


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _shown(kpi: str, value: Decimal) -> str:
    """A stored value in the KPI's display unit ("90.0 %", "12 min")."""
    return kpi_value(value, charts.kpi_presentation(kpi).unit)


def _shown_change(kpi: str, change: Decimal) -> str:
    """A change in the KPI's unit: percentage points for a rate, points for NPS."""
    unit = charts.kpi_presentation(kpi).unit
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    if unit == charts.UNIT_RATE:
        return _("%(sign)s%(value)s pp") % {"sign": sign, "value": f"{abs(change) * 100:.1f}"}
    return f"{sign}{kpi_value(abs(change), unit)}"


def unusual_band(history: Sequence[Decimal]) -> tuple[Decimal, Decimal] | None:
    """mean ± 2σ (population) of the trailing values, or None with fewer than 6 of them."""
    if len(history) < UNUSUAL_MIN_PERIODS:
        return None
    mean = statistics.fmean(float(value) for value in history)
    spread = statistics.pstdev(float(value) for value in history) * BAND_WIDTH
    return Decimal(str(round(mean - spread, 6))), Decimal(str(round(mean + spread, 6)))


def rule_verdict(
    rule: AlertRule,
    current: KpiSnapshot | None,
    previous: KpiSnapshot | None,
    *,
    target: Decimal | None = None,
    history: Sequence[Decimal] = (),
) -> Verdict:
    """Pure check of one rule against the current and previous snapshots, the resolved target
    of the rule's cell in this period (if any) and the trailing values (oldest first)."""
    skipped = AlertEvaluation.Outcome.SKIPPED
    if current is None:
        return Verdict(skipped, "no snapshot", None, None)
    value = current.value
    previous_value = previous.value if previous is not None and not previous.low_sample else None
    if value is None:
        return Verdict(skipped, "n/a", None, previous_value)
    if current.low_sample:
        return Verdict(skipped, "low sample", value, previous_value)
    if rule.min_sample and current.sample_size < rule.min_sample:
        reason = _("sample %(n)s below the minimum %(min)s") % {
            "n": current.sample_size,
            "min": rule.min_sample,
        }
        return Verdict(skipped, reason, value, previous_value)
    kpi = rule.kpi
    margin = rule.hysteresis or Decimal(0)
    reasons: list[str] = []
    held = False  # on the good side of a threshold, but within the hysteresis band
    evaluated = False
    if rule.lower_threshold is not None:
        evaluated = True
        if value < rule.lower_threshold:
            reasons.append(_("below %(t)s") % {"t": _shown(kpi, rule.lower_threshold)})
        elif value < rule.lower_threshold + margin:
            held = True
    if rule.upper_threshold is not None:
        evaluated = True
        if value > rule.upper_threshold:
            reasons.append(_("above %(t)s") % {"t": _shown(kpi, rule.upper_threshold)})
        elif value > rule.upper_threshold - margin:
            held = True
    if rule.change_pct is not None and previous_value:
        evaluated = True
        change = (value - previous_value) / abs(previous_value) * 100
        if (rule.change_pct < 0 and change <= rule.change_pct) or (
            rule.change_pct > 0 and change >= rule.change_pct
        ):
            reasons.append(
                _("changed %(change)s%% vs the previous period (%(previous)s)")
                % {"change": f"{change:+.1f}", "previous": _shown(kpi, previous_value)}
            )
    if rule.change_abs is not None and previous_value is not None:
        evaluated = True
        change = value - previous_value
        if (rule.change_abs < 0 and change <= rule.change_abs) or (
            rule.change_abs > 0 and change >= rule.change_abs
        ):
            reasons.append(
                _("changed %(change)s vs the previous period (%(previous)s)")
                % {"change": _shown_change(kpi, change), "previous": _shown(kpi, previous_value)}
            )
    if rule.misses_target and target is not None and not current.provisional:
        evaluated = True
        lower_is_better = kpi_direction(kpi) == Direction.LOWER
        missed = value > target if lower_is_better else value < target
        if missed:
            reasons.append(
                _("%(side)s its target of %(t)s")
                % {
                    "side": _("above") if lower_is_better else _("below"),
                    "t": _shown(kpi, target),
                }
            )
        elif (value > target - margin) if lower_is_better else (value < target + margin):
            held = True
    if rule.unusual:
        band = unusual_band(history)
        if band is not None:
            evaluated = True
            low, high = band
            if value < low or value > high:
                reasons.append(
                    _("outside the usual band %(low)s – %(high)s of the last %(n)s periods")
                    % {"low": _shown(kpi, low), "high": _shown(kpi, high), "n": len(history)}
                )
    if not evaluated:
        return Verdict(skipped, "no previous value", value, previous_value)
    if reasons:
        return Verdict(AlertEvaluation.Outcome.BREACH, "; ".join(reasons), value, previous_value)
    if held:
        return Verdict(skipped, _("within the hysteresis band"), value, previous_value)
    return Verdict(AlertEvaluation.Outcome.OK, "", value, previous_value)


# The stored reasons are English and machine-made (rule_verdict above); pages show them in the
# reader's language through `reason_text`, which knows each part rule_verdict can write.
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


def _rule_targets(
    rules: Sequence[AlertRule], granularity: str, period_start: dt.date
) -> dict[tuple[str, str, str], Decimal]:
    """The resolved target of each target-watching rule's cell in the period (3 queries)."""
    watching = [rule for rule in rules if rule.misses_target]
    if not watching:
        return {}
    cells = Q(pk__in=[])
    for rule in watching:
        cells |= Q(kpi=rule.kpi, dimension=rule.dimension, dimension_value=rule.dimension_value)
    targets = list(Target.objects.filter(cells, granularity=granularity, period_start=period_start))
    return {
        (p.target.kpi, p.target.dimension, p.target.dimension_value): p.resolved_value
        for p in targets_progress(targets=targets)
        if p.resolved_value is not None
    }


def _rule_histories(
    rules: Sequence[AlertRule], granularity: str, period_start: dt.date
) -> dict[tuple[str, str, str], list[Decimal]]:
    """Trailing values (oldest first, low-sample and n/a left out) of unusual-watching rules."""
    watching = [rule for rule in rules if rule.unusual]
    if not watching:
        return {}
    histories: dict[tuple[str, str, str], list[Decimal]] = {}
    for kpi, dimension, dimension_value, value in snapshot_value_history(
        granularity=granularity,
        kpis={rule.kpi for rule in watching},
        dimensions={rule.dimension for rule in watching},
        since=period_shift(granularity, period_start, -UNUSUAL_WINDOW),
        before=period_start,
    ):
        if value is not None:  # filtered above; the column is nullable
            histories.setdefault((kpi, dimension, dimension_value), []).append(value)
    return histories


@transaction.atomic
def alerts_evaluate(
    *, granularity: str, period_start: dt.date, period_end: dt.date | None = None
) -> list[AlertEvaluation]:
    """Evaluate every active rule of `granularity` for one period; fire and resolve alerts."""
    period_end = period_end or period_end_of(granularity, period_start)
    rules = list(
        AlertRule.objects.filter(is_active=True, granularity=granularity)
        .select_related("created_by")
        .prefetch_related("recipients", "recipient_teams")
        .order_by("id")
    )
    if not rules:
        return []
    previous_start = period_shift(granularity, period_start, -1)
    snapshots = {
        (s.kpi, s.period_start, s.dimension, s.dimension_value): s
        for s in snapshots_at(
            granularity=granularity,
            period_starts=[period_start, previous_start],
            kpis={rule.kpi for rule in rules},
            dimensions={rule.dimension for rule in rules},
        )
    }
    targets = _rule_targets(rules, granularity, period_start)
    histories = _rule_histories(rules, granularity, period_start)
    now = timezone.now()
    evaluations = []
    for rule in rules:
        cell = (rule.dimension, rule.dimension_value)
        verdict = rule_verdict(
            rule,
            snapshots.get((rule.kpi, period_start, *cell)),
            snapshots.get((rule.kpi, previous_start, *cell)),
            target=targets.get((rule.kpi, *cell)),
            history=histories.get((rule.kpi, *cell), ()),
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
                        message=evaluation.reason[:300],
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
        _notify_fired(fired, targets=targets)
    return evaluations


# --- notification ----------------------------------------------------------------------------


def alert_rule_recipients(rule: AlertRule, scopes: dict[int, Any] | None = None) -> list[Any]:
    """Who a firing rule notifies: its users, the active members of its roles and teams (the
    team's manager too), or its author when it names nobody — each only if the rule's KPI cell
    is within their KPI scope, so an alert never shows a figure its reader may not see.
    `scopes` caches each user's KPI scope across the rules of one evaluation."""
    scopes = {} if scopes is None else scopes
    user_model = get_user_model()
    people: dict[int, Any] = {user.pk: user for user in rule.recipients.all()}
    team_ids = [team.pk for team in rule.recipient_teams.all()]
    if rule.recipient_roles or team_ids:
        wider = user_model._default_manager.filter(is_active=True).filter(
            Q(groups__name__in=rule.recipient_roles)
            | Q(teams__in=team_ids)
            | Q(managed_teams__in=team_ids)
        )
        people.update({user.pk: user for user in wider.distinct()})
    if not people and rule.created_by is not None:
        people[rule.created_by.pk] = rule.created_by
    allowed = []
    for user in people.values():
        if user.pk not in scopes:
            scopes[user.pk] = kpi_scope_for(user)
        scope = scopes[user.pk]
        if scope.covers(rule.kpi) and scope.allows(rule.dimension, rule.dimension_value):
            allowed.append(user)
    return allowed


def scope_label(dimension: str, dimension_value: str) -> str:
    """ "the company" or "Team: North" for a KPI cell."""
    if dimension == "all":
        return _("the company")
    label = dimension_labels(dimension, [dimension_value]).get(dimension_value, dimension_value)
    return f"{FILTER_LABELS.get(dimension, dimension)}: {label}"


def alert_kpi_url(alert: Alert) -> str:
    """Absolute link (SITE_URL) to the KPI page with the alert's period and scope selected."""
    rule = alert.rule
    params = {"granularity": alert.granularity, "period": alert.period_start.isoformat()}
    if rule.dimension != "all":
        params[rule.dimension] = rule.dimension_value
    path = reverse("kpis:kpi_detail", kwargs={"key": rule.kpi})
    return f"{settings.SITE_URL.rstrip('/')}{path}?{urlencode(params)}"


def alert_threshold_text(rule: AlertRule, target: Decimal | None) -> str:
    """The rule's conditions in display units, for a person."""
    kpi = rule.kpi
    parts = []
    if rule.lower_threshold is not None:
        parts.append(_("below %(t)s") % {"t": _shown(kpi, rule.lower_threshold)})
    if rule.upper_threshold is not None:
        parts.append(_("above %(t)s") % {"t": _shown(kpi, rule.upper_threshold)})
    if rule.change_pct is not None:
        parts.append(
            _("a change of %(c)s%% or more vs the previous period")
            % {"c": f"{rule.change_pct.normalize():+f}"}
        )
    if rule.change_abs is not None:
        parts.append(
            _("a change of %(c)s or more vs the previous period")
            % {"c": _shown_change(kpi, rule.change_abs)}
        )
    if rule.misses_target:
        parts.append(
            _("missing its target (%(t)s)") % {"t": _shown(kpi, target)}
            if target is not None
            else _("missing its target")
        )
    if rule.unusual:
        parts.append(_("outside the band of the trailing 12 periods"))
    return "; ".join(parts)


def alert_email_text(alert: Alert, target: Decimal | None = None) -> tuple[str, str]:
    """Title and body of a fired alert: KPI name, value and threshold in units, period, scope,
    why it fired and the link to the KPI page."""
    rule = alert.rule
    name = charts.kpi_presentation(rule.kpi).name
    period = period_label(alert.granularity, alert.period_start)
    scope = scope_label(rule.dimension, rule.dimension_value)
    title = _("%(kpi)s alert: %(rule)s (%(period)s)") % {
        "kpi": name,
        "rule": rule.name,
        "period": period,
    }
    value = _("n/a") if alert.value is None else _shown(rule.kpi, alert.value)
    lines = [
        _("%(kpi)s was %(value)s in %(period)s for %(scope)s.")
        % {"kpi": name, "value": value, "period": period, "scope": scope},
        _("Rule: %(rule)s — alerts on %(threshold)s.")
        % {"rule": rule.name, "threshold": alert_threshold_text(rule, target)},
        _("Why it fired: %(reason)s.") % {"reason": alert.message},
    ]
    if rule.fire_after > 1:
        lines.append(_("The condition held for %(n)s periods in a row.") % {"n": rule.fire_after})
    return title, "\n".join(lines)


def _notify_fired(
    alerts: Sequence[Alert], *, targets: dict[tuple[str, str, str], Decimal] | None = None
) -> None:
    """Notify each rule's recipients on firing, in the app and/or by e-mail (after commit);
    the e-mail carries an absolute link to the KPI page (crm.notifications appends it)."""
    targets = targets or {}
    scopes: dict[int, Any] = {}
    ranks = priority_ranks()
    # One insert per channel choice: (e-mail, in-app) → drafts.
    by_channel: dict[tuple[bool, bool], list[NotificationDraft]] = {}
    for alert in alerts:
        rule = alert.rule
        # A low-priority KPI's alert is not e-mailed now: the digest carries it.
        email = rule.notify_email and ranks.notifies_at_once(rule.kpi)
        if not (rule.notify_in_app or email):
            continue
        target = targets.get((rule.kpi, rule.dimension, rule.dimension_value))
        title, body = alert_email_text(alert, target)
        link = alert_kpi_url(alert)
        by_channel.setdefault((email, rule.notify_in_app), []).extend(
            NotificationDraft(
                user=user, kind=Notification.Kind.ALERT, title=title, body=body, link=link
            )
            for user in alert_rule_recipients(rule, scopes)
        )
    for (email, in_app), drafts in by_channel.items():
        if not drafts:
            continue
        sent = notifications_send(drafts=drafts, send_email=email)
        if not in_app:
            # E-mail only: the notification is the e-mail's record, not an unread item.
            Notification.objects.filter(pk__in=[n.pk for n in sent]).update(read_at=timezone.now())


# Installed by the data migration on a fresh database and by seed_demo: (name, kpi, fields).
DEFAULT_ALERT_RULES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Churn rate above its target", "churn_rate", {"misses_target": True}),
    ("NPS down 10 points", "nps", {"change_abs": Decimal("-10")}),
    (
        "First-response SLA attainment below 90 %",
        "sla_first_response_attainment",
        {"lower_threshold": Decimal("0.9"), "hysteresis": Decimal("0.01")},
    ),
)

"""KPI digests by e-mail: subscriptions (services), building a digest from stored snapshots,
rendering it (HTML + text, inline chart PNGs) and sending each (subscription, period) once.

A subscription names KPI keys and/or whole stages (resolved at send time, so a KPI added to a
stage later is included), a scope (own, team, company — never more than the role allows) and a
frequency: daily digests report yesterday, weekly ones last ISO week (sent on Mondays), monthly
ones last month (sent on the 1st). `digests_send_due` is what the beat task calls at
DIGEST_SEND_HOUR (organisation time zone); `DigestSendLog` makes a re-run send nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.mime.image import MIMEImage
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.context import actor_context
from crm.roles import SALES_REP, SUPPORT_AGENT, is_manager, user_roles
from customers.models import Team
from customers.selectors import teams_of
from kpis.definitions import registry
from kpis.definitions.base import STAGES, KpiDefinition
from kpis.models import Alert, IndexSnapshot
from kpis.periods import local_today, period_bounds, period_label, previous_period
from kpis.priorities import priority_ranks
from kpis.selectors import kpi_scope_for
from reports.annotations import annotations_for
from reports.models import Annotation, DigestSendLog, DigestSubscription
from reports.period_report import (
    ReportFigure,
    ScopeCell,
    definitions_for_scope,
    index_snapshot,
    kpi_figures,
    period_alerts,
    scopes_allowed,
    site_url,
    user_may_use_team,
)

logger = logging.getLogger(__name__)

FREQUENCY_GRANULARITY: dict[str, str] = {
    DigestSubscription.Frequency.DAILY: "day",
    DigestSubscription.Frequency.WEEKLY: "week",
    DigestSubscription.Frequency.MONTHLY: "month",
}
SCOPE_DIMENSION = {"own": "owner", "team": "team", "company": "all"}


def digest_send_hour() -> int:
    return int(getattr(settings, "DIGEST_SEND_HOUR", 7))


def digest_from_email() -> str:
    return str(getattr(settings, "DIGEST_FROM_EMAIL", settings.DEFAULT_FROM_EMAIL))


# --- subscriptions (services) --------------------------------------------------------------


def digest_subscription_clean(
    *,
    user: Any,
    frequency: str,
    scope: str,
    kpi_keys: Sequence[str] = (),
    stages: Sequence[str] = (),
    team: Any = None,
    include_alerts: bool = True,
    language: str = "",
) -> None:
    """Refuse what the user may not receive, with a message naming the field at fault."""
    errors: dict[str, str] = {}
    if frequency not in DigestSubscription.Frequency.values:
        errors["frequency"] = _("Unknown frequency %(f)s: expected daily, weekly or monthly.") % {
            "f": frequency
        }
    allowed = scopes_allowed(user)
    if scope not in SCOPE_DIMENSION:
        errors["scope"] = _("Unknown scope %(s)s: expected own, team or company.") % {"s": scope}
    elif scope not in allowed:
        errors["scope"] = _(
            "Your role does not allow %(scope)s figures; choose your own or your team's."
        ) % {"scope": scope}
    elif scope == "team":
        if team is None:
            errors["team"] = _("Choose the team whose figures you want.")
        elif not user_may_use_team(user, team):
            errors["team"] = _("You are not a member or manager of the team %(team)s.") % {
                "team": team
            }
    if language and language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unknown language %(lang)s.") % {"lang": language}
    unknown = [key for key in kpi_keys if key not in registry]
    if unknown:
        errors["kpi_keys"] = _("Unknown KPI %(keys)s.") % {"keys": ", ".join(unknown)}
    elif scope in SCOPE_DIMENSION and "scope" not in errors:
        dimension = SCOPE_DIMENSION[scope]
        covered = kpi_scope_for(user)
        hidden = [
            key
            for key in kpi_keys
            if dimension not in registry.get(key).dimensions or not covered.covers(key)
        ]
        if hidden:
            errors["kpi_keys"] = _(
                "%(keys)s: no %(scope)s figures exist for this KPI (it is not broken down by "
                "%(dimension)s), and your role may not see the company figure."
            ) % {"keys": ", ".join(hidden), "scope": scope, "dimension": dimension}
    bad_stages = [stage for stage in stages if stage not in STAGES]
    if bad_stages:
        errors["stages"] = _("Unknown stage %(stages)s: expected one of %(all)s.") % {
            "stages": ", ".join(bad_stages),
            "all": ", ".join(STAGES),
        }
    elif scope in SCOPE_DIMENSION and "scope" not in errors:
        dimension = SCOPE_DIMENSION[scope]
        empty = [
            stage
            for stage in stages
            if not any(dimension in d.dimensions for d in registry.by_stage(stage))
        ]
        if empty:
            errors["stages"] = _("No KPI of %(stages)s has %(scope)s figures.") % {
                "stages": ", ".join(empty),
                "scope": scope,
            }
    if not kpi_keys and not stages and not include_alerts:
        errors["kpi_keys"] = _("Choose KPIs, stages or the alert summary.")
    if errors:
        raise ValidationError(errors)


@actor_context
@transaction.atomic
def digest_subscription_create(
    *,
    user: Any,
    frequency: str,
    scope: str,
    kpi_keys: Sequence[str] = (),
    stages: Sequence[str] = (),
    team: Any = None,
    include_alerts: bool = True,
    language: str = "",
    actor: Any = None,
) -> DigestSubscription:
    """Subscribe `user` (by themself, or by an admin as `actor`) after digest_subscription_clean."""
    kpi_keys = list(dict.fromkeys(kpi_keys))
    stages = list(dict.fromkeys(stages))
    digest_subscription_clean(
        user=user,
        frequency=frequency,
        scope=scope,
        kpi_keys=kpi_keys,
        stages=stages,
        team=team,
        include_alerts=include_alerts,
        language=language,
    )
    return DigestSubscription.objects.create(
        user=user,
        frequency=frequency,
        scope=scope,
        kpi_keys=kpi_keys,
        stages=stages,
        team=team if scope == "team" else None,
        include_alerts=include_alerts,
        language=language or settings.LANGUAGE_CODE,
    )


@transaction.atomic
def digest_subscriptions_default(user: Any) -> list[DigestSubscription]:
    """The role defaults, created once (a user who already has subscriptions keeps them).

    Reps: weekly, their own pipeline and activities. Support agents: weekly, their team's service
    figures (their own without a team). Managers and admins: the whole catalogue monthly and the
    alert summary daily, company-wide (a manager with a team: that team's).
    """
    existing = list(DigestSubscription.objects.filter(user=user))
    if existing:
        return existing
    wanted: list[dict[str, Any]] = []
    if is_manager(user):
        # A manager with a team reads that team's figures (kpi_scope_for); without one, the company.
        where: dict[str, Any] = {"scope": "company"}
        if "company" not in scopes_allowed(user):
            team_id = (kpi_scope_for(user).values("team") or [""])[0]
            where = {"scope": "team", "team": Team.objects.get(pk=team_id)}
        wanted.append({"frequency": "monthly", "stages": list(STAGES), **where})
        wanted.append({"frequency": "daily", "include_alerts": True, **where})
    else:
        roles = user_roles(user)
        if SALES_REP in roles:
            wanted.append({"frequency": "weekly", "scope": "own", "stages": ["pipeline"]})
        if SUPPORT_AGENT in roles:
            team = Team.objects.filter(pk__in=teams_of(user)).order_by("name").first()
            wanted.append(
                {
                    "frequency": "weekly",
                    "scope": "team" if team else "own",
                    "team": team,
                    "stages": ["service"],
                }
            )
    return [digest_subscription_create(user=user, **fields) for fields in wanted]


@transaction.atomic
def digest_subscription_delete(*, subscription_id: int, user: Any) -> None:
    """Delete one of `user`'s own subscriptions; another user's is as unknown as a missing one."""
    deleted, _rows = DigestSubscription.objects.filter(pk=subscription_id, user=user).delete()
    if not deleted:
        raise DigestSubscription.DoesNotExist(_("This subscription does not exist."))


def digest_subscription_list(user: Any) -> QuerySet[DigestSubscription]:
    """A user's own subscriptions, active first (the subscriptions page)."""
    return (
        DigestSubscription.objects.filter(user=user)
        .select_related("team")
        .order_by("-is_active", "frequency", "id")
    )


def digest_teams_offered(user: Any) -> QuerySet[Any]:
    """The teams whose figures `user` may subscribe to (the team cells of their KPI scope)."""
    teams = Team.objects.order_by("name")
    allowed = kpi_scope_for(user).values("team")
    return teams if allowed is None else teams.filter(pk__in=allowed)


def digest_kpis_offered(user: Any) -> list[KpiDefinition]:
    """The KPIs that have figures at one of the scopes `user` may receive (catalogue order)."""
    dimensions = {SCOPE_DIMENSION[scope] for scope in scopes_allowed(user)}
    covered = kpi_scope_for(user)
    return [d for d in registry.all() if dimensions & set(d.dimensions) and covered.covers(d.key)]


@transaction.atomic
def digest_unsubscribe(*, token: str) -> DigestSubscription:
    """Deactivate the subscription of an e-mailed token (no login: the token is the proof)."""
    subscription = (
        DigestSubscription.objects.select_for_update().filter(unsubscribe_token=token).first()
    )
    if subscription is None or not token:
        raise ValidationError(_("This unsubscribe link is not valid."))
    if subscription.is_active:
        subscription.is_active = False
        subscription.unsubscribed_at = timezone.now()
        subscription.save(update_fields=["is_active", "unsubscribed_at"])
    return subscription


# --- building a digest ---------------------------------------------------------------------


def scope_cell(subscription: DigestSubscription) -> ScopeCell:
    return ScopeCell.of(scope=subscription.scope, user=subscription.user, team=subscription.team)


def subscription_definitions(subscription: DigestSubscription) -> list[KpiDefinition]:
    """Explicit KPIs then the stages' KPIs, those with figures at the subscription's scope."""
    keys = [key for key in subscription.kpi_keys if key in registry]
    for stage in subscription.stages:
        if stage in STAGES:
            keys.extend(d.key for d in registry.by_stage(stage))
    definitions = [registry.get(key) for key in dict.fromkeys(keys)]
    return definitions_for_scope(definitions, scope_cell(subscription))


@dataclass
class Digest:
    subscription: DigestSubscription
    granularity: str
    period_start: dt.date
    period_end: dt.date
    period_label: str
    cell: ScopeCell
    figures: list[ReportFigure]
    alerts: list[Alert]
    annotations: list[Annotation]
    index: IndexSnapshot | None
    unsubscribe_url: str

    @property
    def is_empty(self) -> bool:
        return not any(figure.stored for figure in self.figures) and not self.alerts


def unsubscribe_url(subscription: DigestSubscription) -> str:
    return site_url() + reverse("reports:unsubscribe", args=[subscription.unsubscribe_token])


def digest_build(*, subscription: DigestSubscription, period_start: dt.date) -> Digest:
    granularity = FREQUENCY_GRANULARITY[subscription.frequency]
    start, end = period_bounds(granularity, period_start)
    cell = scope_cell(subscription)
    with translation.override(subscription.language or settings.LANGUAGE_CODE):
        label = period_label(granularity, start)
    # KPIs and alerts by index priority (kpis.priorities), as on the overview.
    ranks = priority_ranks()
    definitions = ranks.order_kpis(subscription_definitions(subscription), key=lambda d: d.key)
    figures = kpi_figures(
        definitions=definitions, granularity=granularity, period_start=start, cell=cell
    )
    alerts = (
        period_alerts(
            granularity=granularity,
            period_start=start,
            cell=cell,
            # An alert summary (no KPIs) lists every alert of the scope.
            kpi_keys=[d.key for d in definitions] if definitions else None,
        )
        if subscription.include_alerts
        else []
    )
    return Digest(
        subscription=subscription,
        granularity=granularity,
        period_start=start,
        period_end=end,
        period_label=label,
        cell=cell,
        figures=figures,
        alerts=ranks.order_kpis(alerts, key=lambda alert: alert.rule.kpi),
        annotations=list(annotations_for(None, granularity, start, end).filter(kpi="")),
        # The composite index is a company figure: shown to those who may see company scope.
        index=index_snapshot(granularity=granularity, period_start=start)
        if "company" in scopes_allowed(subscription.user)
        else None,
        unsubscribe_url=unsubscribe_url(subscription),
    )


def digest_message(digest: Digest, *, to: str) -> EmailMultiAlternatives:
    """HTML + text in the subscriber's language, each chart an inline PNG with a Content-ID."""
    with translation.override(digest.subscription.language or settings.LANGUAGE_CODE):
        context = {"digest": digest, "site_url": site_url()}
        subject = _("[Pulse CRM] KPI digest: %(period)s (%(scope)s)") % {
            "period": digest.period_label,
            "scope": digest.cell.label,
        }
        text = render_to_string("reports/digest_email.txt", context)
        html = render_to_string("reports/digest_email.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=digest_from_email(),
        to=[to],
        headers={"List-Unsubscribe": f"<{digest.unsubscribe_url}>"},
    )
    message.attach_alternative(html, "text/html")
    # multipart/related: the HTML refers to the images by cid:, so clients show them inline.
    message.mixed_subtype = "related"
    for figure in digest.figures:
        if not figure.chart_png:
            continue
        image = MIMEImage(figure.chart_png, "png")
        image.add_header("Content-ID", f"<{figure.content_id}>")
        image.add_header("Content-Disposition", "inline", filename=f"{figure.key}.png")
        message.attach(image)
    return message


# --- sending -------------------------------------------------------------------------------


def due_periods(today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """{frequency: the just-closed period} for the frequencies due on `today`."""
    due = {"daily": previous_period("day", today)}
    if today.weekday() == 0:
        due["weekly"] = previous_period("week", today)
    if today.day == 1:
        due["monthly"] = previous_period("month", today)
    return due


def _claim(
    subscription: DigestSubscription, granularity: str, start: dt.date, end: dt.date
) -> DigestSendLog | None:
    """The send log row this run owns, or None when the period was sent (or is being sent)."""
    try:
        with transaction.atomic():
            return DigestSendLog.objects.create(
                subscription=subscription,
                granularity=granularity,
                period_start=start,
                period_end=end,
                recipient=subscription.user.email,
            )
    except IntegrityError:
        pass
    # A failed send may be retried: the conditional update lets one run only take it over.
    retaken = DigestSendLog.objects.filter(
        subscription=subscription,
        granularity=granularity,
        period_start=start,
        status=DigestSendLog.Status.FAILED,
    ).update(status=DigestSendLog.Status.SENDING, error="", created_at=timezone.now())
    if not retaken:
        return None
    return DigestSendLog.objects.get(
        subscription=subscription, granularity=granularity, period_start=start
    )


def digest_send(*, subscription: DigestSubscription, period_start: dt.date) -> DigestSendLog | None:
    """Send one subscription's digest of one period, once; None when already sent or empty."""
    granularity = FREQUENCY_GRANULARITY[subscription.frequency]
    start, end = period_bounds(granularity, period_start)
    if not subscription.is_active or not subscription.user.email:
        return None
    digest = digest_build(subscription=subscription, period_start=start)
    if digest.is_empty:
        # No snapshot of the period yet (computation late: a later run sends it), or an alert
        # summary without alerts (no news, no mail).
        return None
    log = _claim(subscription, granularity, start, end)
    if log is None:
        return None
    try:
        digest_message(digest, to=subscription.user.email).send()
    except Exception as exc:
        logger.exception("Digest %s for %s failed", subscription.pk, start)
        DigestSendLog.objects.filter(pk=log.pk).update(
            status=DigestSendLog.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        log.refresh_from_db()
        return log
    log.status = DigestSendLog.Status.SENT
    log.sent_at = timezone.now()
    log.kpi_keys = [figure.key for figure in digest.figures]
    log.alert_count = len(digest.alerts)
    log.save(update_fields=["status", "sent_at", "kpi_keys", "alert_count"])
    return log


def digests_send_due(*, today: dt.date | None = None) -> dict[str, int]:
    """Send every active subscription due on `today` (default: the organisation's today)."""
    today = today or local_today()
    due = due_periods(today)
    subscriptions = (
        DigestSubscription.objects.filter(is_active=True, frequency__in=list(due))
        .select_related("user", "team")
        .order_by("id")
    )
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for subscription in subscriptions:
        start, _end = due[subscription.frequency]
        log = digest_send(subscription=subscription, period_start=start)
        if log is None:
            counts["skipped"] += 1
        elif log.status == DigestSendLog.Status.SENT:
            counts["sent"] += 1
        else:
            counts["failed"] += 1
    return counts


def digest_send_test(
    *, subscriptions: Iterable[DigestSubscription], to_user: Any, today: dt.date | None = None
) -> int:
    """Send the digests of the last closed periods to `to_user` now; no send log is written,
    so the real digest still goes out. Returns the number of messages sent."""
    if not to_user.email:
        raise ValidationError(_("You have no e-mail address to send the test digest to."))
    today = today or local_today()
    sent = 0
    for subscription in subscriptions:
        granularity = FREQUENCY_GRANULARITY[subscription.frequency]
        start, _end = previous_period(granularity, period_bounds(granularity, today)[0])
        digest = digest_build(subscription=subscription, period_start=start)
        digest_message(digest, to=to_user.email).send()
        sent += 1
    return sent

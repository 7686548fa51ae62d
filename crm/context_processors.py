from typing import Any

from django.http import HttpRequest

from crm.models import Notification
from crm.roles import ADMIN, MANAGER, ROLES, SALES_REP, SUPPORT_AGENT, is_admin, user_roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation may show: one set of role flags, computed once per request, and the
    unread notification count for the bell (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    roles = user_roles(user)
    admin = is_admin(user)
    return {
        "nav": {
            # Every role reads customers (its own, its teams', its tickets'); no role, no records.
            "customers": admin or bool(roles & set(ROLES)),
            "sales": admin or bool(roles & {SALES_REP, MANAGER}),
            "support": admin or bool(roles & {SUPPORT_AGENT, MANAGER}),
            # Every role has a KPI scope (its own, its team's or the organisation's figures).
            "kpis": admin or bool(roles & set(ROLES)),
            # The period report: managers for any scope, sales reps for their own figures.
            "period_report": admin or bool(roles & {MANAGER, SALES_REP}),
            # Annotations explain organisation figures: a manager's job.
            "annotate": admin or MANAGER in roles,
            # KPI targets and alert rules: managers and admins.
            "kpi_config": admin or MANAGER in roles,
            # The prediction model page: managers and admins.
            "predictions": admin or MANAGER in roles,
            "admin": admin or ADMIN in roles,
            "search": admin or bool(roles & set(ROLES)),
            # Counted when the template reads it, so pages that never render the bell skip it.
            "unread": lambda: Notification.objects.filter(user=user, read_at__isnull=True).count(),
        }
    }

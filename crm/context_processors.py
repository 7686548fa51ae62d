from typing import Any

from django.http import HttpRequest

from crm.roles import ADMIN, MANAGER, ROLES, SALES_REP, SUPPORT_AGENT, is_admin, user_roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation may show: one set of role flags, computed once per request."""
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
            "kpis": admin or MANAGER in roles,
            "admin": admin or ADMIN in roles,
        }
    }

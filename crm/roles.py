"""The four roles. Each is a Django group created by a data migration (crm/migrations)."""

from typing import Any

from django.apps import AppConfig
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

SALES_REP = "Sales rep"
SUPPORT_AGENT = "Support agent"
MANAGER = "Manager"
ADMIN = "Admin"
ROLES = (SALES_REP, SUPPORT_AGENT, MANAGER, ADMIN)

PULSE_APPS = ("crm", "customers", "sales", "support", "surveys", "kpis", "reports")


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """Role names of a user, cached on the instance so a page asks the database once."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_pulse_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        user._pulse_roles = cached  # type: ignore[union-attr,attr-defined]
    return cached


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN in user_roles(user)


def is_manager(user: AbstractBaseUser | AnonymousUser) -> bool:
    return MANAGER in user_roles(user) or is_admin(user)


def grant_admin_role_every_permission(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the Admin role complete as models are added: it holds every permission of our apps.

    The roles themselves come from the data migration crm/0001_roles; this only tops Admin up.
    """
    using = kwargs.get("using", "default")
    admin = Group.objects.using(using).filter(name=ADMIN).first()
    if admin is None:
        return
    admin.permissions.add(
        *Permission.objects.using(using).filter(content_type__app_label__in=PULSE_APPS)
    )

"""Role permissions: the Django model permissions of the user's groups, reading included.

Visibility (which rows) is the selectors' job, applied in each viewset's queryset; this class
decides which verbs a role may use at all. Custom actions name the permissions they need in
`view.action_permissions`, e.g. {"convert": ("sales.change_lead", "customers.add_customer")}.
"""

from typing import Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

from crm.roles import is_admin


class RoleModelPermissions(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        action_permissions: dict[str, tuple[str, ...]] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None)
        if action in action_permissions:
            return request.user.has_perms(action_permissions[action])
        return super().has_permission(request, view)


class IsCrmAdmin(RoleModelPermissions):
    """Admin role or superuser only (API tokens)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and is_admin(request.user))

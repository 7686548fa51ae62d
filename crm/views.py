"""The web shell: the home redirect and the role gates every page view uses."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

from crm.roles import is_admin, is_manager, user_roles

ViewFunction = Callable[..., HttpResponse]


def manager_required(view: ViewFunction) -> ViewFunction:
    """Managers and admins only: anonymous users go to the login page, other roles get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def role_required(*roles: str) -> Callable[[ViewFunction], ViewFunction]:
    """Users holding one of `roles` (admins always): anonymous → login page, others → 403."""

    def decorator(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (is_admin(request.user) or user_roles(request.user) & set(roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


class ManagerRequiredMixin(LoginRequiredMixin):
    """Class-based twin of `manager_required`."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Checked before LoginRequiredMixin so only signed-in non-managers get the 403.
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the workspace it uses most."""
    if is_manager(request.user):
        return redirect("kpis:overview")
    return redirect("customers:list")

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from crm.roles import is_manager


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the workspace it uses most."""
    if is_manager(request.user):
        return redirect("kpis:overview")
    return redirect("customers:list")

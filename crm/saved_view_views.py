"""Saved views of the lists: save, share, make default, delete; and the list decorator that
opens a list on the user's default view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.bulk import bulk_kind, filter_query
from crm.models import SavedView
from crm.saved_views import (
    saved_view_default_for,
    saved_view_default_set,
    saved_view_delete,
    saved_view_save,
    saved_view_share,
    saved_views_visible_to,
)

SAVED_VIEW_PARAM = "saved_view"


def saved_view_url(view: SavedView) -> str:
    kind = bulk_kind(view.list_key)
    if kind is None:
        raise Http404
    query = QueryDict(view.query_string, mutable=True)
    query[SAVED_VIEW_PARAM] = str(view.pk)
    return f"{reverse(kind.list_url_name)}?{query.urlencode()}"


def with_default_view(list_key: str) -> Callable[[Any], Any]:
    """A list opened without any query string shows the user's default view, if they have one."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "GET" and not request.GET and request.user.is_authenticated:
                default = saved_view_default_for(request.user, list_key)
                if default is not None:
                    return redirect(saved_view_url(default))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _list_url(list_key: str, query: str = "") -> str:
    kind = bulk_kind(list_key)
    if kind is None:
        raise Http404
    return f"{reverse(kind.list_url_name)}?{query}" if query else reverse(kind.list_url_name)


def _visible_view(request: HttpRequest, pk: int) -> SavedView:
    return get_object_or_404(saved_views_visible_to(request.user), pk=pk)


@require_POST
@login_required
def saved_view_create(request: HttpRequest, list_key: str) -> HttpResponseBase:
    query = filter_query(QueryDict(request.POST.get("query", "")))
    columns = [key for key in request.POST.get("columns", "").split(",") if key]
    try:
        view = saved_view_save(
            owner=request.user,
            list_key=list_key,
            name=request.POST.get("name", ""),
            query=query,
            columns=columns,
            shared_with_team=request.POST.get("shared_with_team") == "on",
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(_list_url(list_key, query))
    if request.POST.get("make_default") == "on":
        saved_view_default_set(user=request.user, view=view, list_key=list_key)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(saved_view_url(view))


def _refused(request: HttpRequest, view: SavedView, error: ValidationError) -> HttpResponseBase:
    for message in error.messages:
        messages.error(request, message)
    return redirect(saved_view_url(view))


@require_POST
@login_required
def saved_view_share_toggle(request: HttpRequest, pk: int) -> HttpResponseBase:
    view = _visible_view(request, pk)
    try:
        saved_view_share(view=view, user=request.user, shared=request.POST.get("shared") == "1")
    except ValidationError as error:
        return _refused(request, view, error)
    return redirect(saved_view_url(view))


@require_POST
@login_required
def saved_view_make_default(request: HttpRequest, pk: int) -> HttpResponseBase:
    view = _visible_view(request, pk)
    try:
        saved_view_default_set(user=request.user, view=view, list_key=view.list_key)
    except ValidationError as error:
        return _refused(request, view, error)
    messages.success(request, _("“%(name)s” is now your default view.") % {"name": view.name})
    return redirect(saved_view_url(view))


@require_POST
@login_required
def saved_view_clear_default(request: HttpRequest, list_key: str) -> HttpResponseBase:
    if bulk_kind(list_key) is None:
        raise Http404
    saved_view_default_set(user=request.user, view=None, list_key=list_key)
    # A query string, so the list does not bounce to a default again.
    return redirect(_list_url(list_key, "q="))


@require_POST
@login_required
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    view = _visible_view(request, pk)
    try:
        saved_view_delete(view=view, user=request.user)
    except ValidationError as error:
        return _refused(request, view, error)
    return redirect(_list_url(view.list_key, "q="))

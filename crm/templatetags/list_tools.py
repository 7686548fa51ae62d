"""`{% list_tools "customers" %}`: the saved-view menu, the column chooser and the bulk-action
bar above a record list (crm.bulk registry key). Rows take part with a checkbox
`<input type="checkbox" name="ids" value="{{ pk }}" form="bulk-form" data-bulk-row>`."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Exists, OuterRef

from crm.bulk import bulk_kind, filter_query
from crm.models import SavedViewDefault
from crm.saved_view_views import SAVED_VIEW_PARAM, saved_view_url
from crm.saved_views import saved_views_visible_to

register = template.Library()


@register.inclusion_tag("crm/_list_tools.html", takes_context=True)
def list_tools(context: template.Context, list_key: str) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    kind = bulk_kind(list_key)
    if kind is None:
        raise template.TemplateSyntaxError(f"No bulk list {list_key!r}")
    page_obj = context.get("page_obj")
    # One query: the views with whether each is the user's default.
    views = list(
        saved_views_visible_to(user, list_key).annotate(
            is_default=Exists(
                SavedViewDefault.objects.filter(
                    user_id=user.pk, list_key=list_key, view=OuterRef("pk")
                )
            )
        )
    )
    default_id = next((view.pk for view in views if view.is_default), None)
    requested = request.GET.get(SAVED_VIEW_PARAM, "")
    current = next((view for view in views if str(view.pk) == requested), None)
    can_bulk = kind.allowed(user)
    return {
        "list_key": list_key,
        "kind": kind,
        "csrf_token": context.get("csrf_token"),
        "total": page_obj.paginator.count if page_obj is not None else 0,
        "query": filter_query(request.GET),
        "views": [(view, saved_view_url(view)) for view in views],
        "current": current,
        "default_id": default_id,
        "user": user,
        "can_bulk": can_bulk,
        # Their fields (owner and team menus …) load when an action is picked (bulk:fields).
        "actions": kind.actions if can_bulk else (),
    }


@register.simple_tag(takes_context=True)
def bulk_allowed(context: template.Context, list_key: str) -> bool:
    """`{% bulk_allowed "customers" as can_bulk %}`: whether rows get a checkbox."""
    kind = bulk_kind(list_key)
    return kind is not None and kind.allowed(context["request"].user)

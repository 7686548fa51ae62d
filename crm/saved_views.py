"""Saved views of the record lists: reads and writes.

A view is a list's filters and sort (its query string) and visible columns under a name. Its
owner may share it with their teams; each user picks one view per list as their default.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from crm.bulk import bulk_kinds, filter_query
from crm.models import SavedView, SavedViewDefault
from customers.selectors import teams_of

COLUMN_KEY_MAX = 40
COLUMNS_MAX = 40


def team_mates(user: Any) -> QuerySet[Any]:
    """People who share a team with the user (members or managers), as a subquery."""
    mine = teams_of(user)
    return (
        get_user_model().objects.filter(Q(teams__in=mine) | Q(managed_teams__in=mine)).values("pk")
    )


def saved_views_visible_to(user: Any, list_key: str | None = None) -> QuerySet[SavedView]:
    """The user's own views and those their team mates share."""
    if not user.is_authenticated:
        return SavedView.objects.none()
    views = SavedView.objects.filter(
        Q(owner=user) | Q(shared_with_team=True, owner__in=team_mates(user))
    ).select_related("owner")
    return views.filter(list_key=list_key) if list_key is not None else views


def saved_view_default_for(user: Any, list_key: str) -> SavedView | None:
    """The user's default view of the list, if it is still one they may see."""
    default = SavedViewDefault.objects.filter(user_id=user.pk, list_key=list_key).first()
    if default is None:
        return None
    return saved_views_visible_to(user, list_key).filter(pk=default.view_id).first()


def _clean_columns(columns: list[str]) -> list[str]:
    cleaned = [column.strip()[:COLUMN_KEY_MAX] for column in columns if column.strip()]
    return list(dict.fromkeys(cleaned))[:COLUMNS_MAX]


@transaction.atomic
def saved_view_save(
    *,
    owner: Any,
    list_key: str,
    name: str,
    query: QueryDict | str,
    columns: list[str],
    shared_with_team: bool = False,
) -> SavedView:
    """Save the list's current filters, sort and columns under `name`; saving again under a
    name the owner already used for this list replaces that view."""
    if list_key not in bulk_kinds():
        raise ValidationError({"list_key": _("Unknown list.")})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    query_string = filter_query(query if isinstance(query, QueryDict) else QueryDict(query))
    view, _created = SavedView.objects.update_or_create(
        owner=owner,
        list_key=list_key,
        name=name,
        defaults={
            "query_string": query_string,
            "columns": _clean_columns(columns),
            "shared_with_team": shared_with_team,
        },
    )
    view.full_clean()
    return view


def _own(view: SavedView, user: Any) -> None:
    if view.owner_id != user.pk:
        raise ValidationError(_("Only the person who saved this view can change it."))


@transaction.atomic
def saved_view_share(*, view: SavedView, user: Any, shared: bool) -> SavedView:
    _own(view, user)
    view.shared_with_team = shared
    view.save(update_fields=["shared_with_team"])
    if not shared:
        # Team mates lose the view, so it stops being their default.
        SavedViewDefault.objects.filter(view=view).exclude(user_id=user.pk).delete()
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, user: Any) -> None:
    _own(view, user)
    view.delete()


@transaction.atomic
def saved_view_default_set(*, user: Any, view: SavedView | None, list_key: str) -> None:
    """Make `view` the list's default for the user (None: no default, the plain list)."""
    if view is None:
        SavedViewDefault.objects.filter(user_id=user.pk, list_key=list_key).delete()
        return
    if not saved_views_visible_to(user, list_key).filter(pk=view.pk).exists():
        raise ValidationError(_("This view is not available to you."))
    SavedViewDefault.objects.update_or_create(user=user, list_key=list_key, defaults={"view": view})

"""Forms of the customer pages (the list's filter bar is CustomerFilter's own form)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Value
from django.utils.translation import gettext_lazy as _

from customers.filters import CustomerFilter
from customers.models import Customer, Team

# Menu name → the customer's foreign key and the column shown in the menu.
MENU_COLUMNS = {
    "owner": ("owner_id", "owner__username"),
    "team": ("team_id", "team__name"),
    "segment": ("segment_id", "segment__name"),
    "channel": ("channel_id", "channel__name"),
}


def label_empty_choices(form: forms.Form, *, skip: tuple[str, ...] = ()) -> None:
    """A filter menu's empty choice reads "All" rather than Django's dashes."""
    for name, form_field in form.fields.items():
        if name in skip or not isinstance(form_field, forms.ChoiceField):
            continue
        # The field's own iterator would prepend its dashes again; the widget takes a list.
        choices: Any = form_field.choices
        form_field.widget.choices = [("", _("All"))] + [  # type: ignore[attr-defined]
            (value, label) for value, label in choices if value != ""
        ]


def filter_menus(visible: QuerySet[Customer]) -> dict[str, list[tuple[Any, str]]]:
    """The owners, teams, segments and channels in use among the visible customers.

    One UNION query for the four menus; they list only what the user's customers carry, so the
    filter bar neither offers empty choices nor reveals other teams' people.
    """
    parts = [
        visible.order_by()
        .filter(**{f"{key}__isnull": False})
        .annotate(menu=Value(menu))
        .values_list("menu", key, label)
        .distinct()
        for menu, (key, label) in MENU_COLUMNS.items()
    ]
    menus: dict[str, list[tuple[Any, str]]] = defaultdict(list)
    for menu, pk, label in parts[0].union(*parts[1:]):
        menus[menu].append((pk, label))
    return {
        menu: sorted(menus[menu], key=lambda item: str(item[1]).lower()) for menu in MENU_COLUMNS
    }


def customer_filter_for(
    data: Any, *, visible: QuerySet[Customer], with_menus: bool = True
) -> CustomerFilter:
    """CustomerFilter over `visible`, its owner and team menus narrowed to what the user can see.

    An owner or team outside the menu is refused by the form (and so ignored); any accepted value
    still only filters the visible rows.
    """
    customer_filter = CustomerFilter(data, queryset=visible)
    fields = customer_filter.form.fields
    # Validation of a submitted owner or team: only those of visible customers.
    fields["owner"].queryset = get_user_model().objects.filter(  # type: ignore[attr-defined]
        pk__in=visible.values("owner")
    )
    fields["team"].queryset = Team.objects.filter(  # type: ignore[attr-defined]
        pk__in=visible.values("team")
    )
    for menu, choices in (filter_menus(visible) if with_menus else {}).items():
        # Choices handed to the widget render without a query per menu; validation still
        # goes through the field's queryset.
        fields[menu].widget.choices = [("", _("All")), *choices]
    for name in ("segment", "owner", "team", "channel", "status", "rfm_segment"):
        fields[name].widget.attrs["class"] = "form-select form-select-sm"
    label_empty_choices(customer_filter.form, skip=tuple(MENU_COLUMNS) if with_menus else ())
    fields["health_band"].widget.attrs.update(
        {"class": "form-control form-control-sm", "list": "health-bands"}
    )
    return customer_filter

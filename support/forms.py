"""Forms of the support workspace. They only parse input; the services hold every rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.roles import ADMIN, MANAGER, SUPPORT_AGENT
from customers.models import Team


def ticket_assignees() -> QuerySet[Any]:
    """Active people who work tickets: support agents, managers and admins."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=[SUPPORT_AGENT, MANAGER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class TicketMessageForm(forms.Form):
    """A public reply or an internal note: the same form, the `kind` button decides."""

    KIND_REPLY = "reply"
    KIND_NOTE = "note"

    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        # Blank bodies reach the service, whose refusal ("A message needs a body.") is shown.
        required=False,
        strip=False,
    )
    kind = forms.ChoiceField(
        choices=((KIND_REPLY, _("Public reply")), (KIND_NOTE, _("Internal note"))),
        initial=KIND_REPLY,
    )

    @property
    def is_public(self) -> bool:
        return self.cleaned_data.get("kind") == self.KIND_REPLY


class TicketAssignForm(forms.Form):
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Unassigned"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("Keep the current team"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = ticket_assignees()  # type: ignore[attr-defined]

"""Forms of the ticket record pages (new ticket, edit, merge). They parse input; the rules are
support.services', and the views narrow every choice to what the user may pick."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.forms import EditedRecordForm, RecordForm
from customers.models import Contact, Team
from support.models import Priority, Ticket


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj) or str(obj.email)


class TicketCreateForm(RecordForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    contact = ContactChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[
            (Ticket.Channel.PHONE, Ticket.Channel.PHONE.label),
            (Ticket.Channel.CHAT, Ticket.Channel.CHAT.label),
            (Ticket.Channel.EMAIL, Ticket.Channel.EMAIL.label),
            (Ticket.Channel.WEB, Ticket.Channel.WEB.label),
        ],
        initial=Ticket.Channel.PHONE,
    )
    category = forms.ChoiceField(label=_("Category"), choices=Ticket.Category.choices)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)
    body = forms.CharField(
        label=_("What the customer said"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The first message of the ticket, written by you for the customer's call."),
        strip=False,
    )

    def __init__(
        self, *args: Any, contacts: QuerySet[Contact], teams: QuerySet[Team], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class TicketEditForm(EditedRecordForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Ticket.Category.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False
    )


class TicketDuplicateForm(RecordForm):
    duplicate = forms.ModelChoiceField(label=_("Duplicate"), queryset=Ticket.objects.none())

    def __init__(self, *args: Any, candidates: QuerySet[Ticket], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duplicate"].queryset = candidates  # type: ignore[attr-defined]

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
    """The duplicate to merge into the ticket of the page, and per field whose value survives:
    `keep_<field>` is "keep" (the surviving ticket's, the default) or "take" (the duplicate's)."""

    KEEP, TAKE = "keep", "take"

    duplicate = forms.ModelChoiceField(label=_("Duplicate"), queryset=Ticket.objects.none())

    def __init__(
        self,
        *args: Any,
        candidates: QuerySet[Ticket],
        merge_fields: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duplicate"].queryset = candidates  # type: ignore[attr-defined]
        self.merge_fields = merge_fields
        for name in merge_fields:
            self.fields[f"keep_{name}"] = forms.ChoiceField(
                choices=[(self.KEEP, self.KEEP), (self.TAKE, self.TAKE)],
                required=False,
                widget=forms.HiddenInput,
            )

    def takes(self, name: str, default: bool = False) -> bool:
        """Whether the duplicate's value of `name` survives; `default` when nothing was chosen."""
        choice = self.data.get(f"keep_{name}", "") if self.is_bound else ""
        return choice == self.TAKE if choice in (self.KEEP, self.TAKE) else default

    def take_from_duplicate(self) -> list[str]:
        return [name for name in self.merge_fields if self.takes(name)]

"""Forms of the lead, deal and order pages. They parse input; sales.services holds the rules,
and the views narrow every choice to what the user may pick (selectors)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.forms import EditedRecordForm, RecordForm
from customers.models import Channel
from sales.models import Campaign, CloseReason, Lead, Opportunity, PipelineStage

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class ReasonChoiceField(forms.ModelChoiceField):
    """A close reason; the seeded names are translated, admins' own names shown as written."""

    def label_from_instance(self, obj: Any) -> str:
        return gettext(obj.name)


def _assignment_fields(form: forms.Form, owners: QuerySet[Any], teams: QuerySet[Any]) -> None:
    form.fields["owner"].queryset = owners  # type: ignore[attr-defined]
    form.fields["team"].queryset = teams  # type: ignore[attr-defined]


class LeadForm(EditedRecordForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Lead.Source.choices)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.order_by("name"), required=False
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.order_by("name"), required=False
    )
    owner = PersonChoiceField(label=_("Owner"), queryset=Lead.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Lead.objects.none(), required=False)

    def __init__(
        self, *args: Any, owners: QuerySet[Any], teams: QuerySet[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _assignment_fields(self, owners, teams)


class CloseReasonForm(RecordForm):
    """The reason of a disqualified lead or a lost deal; an empty choice reaches the service,
    whose refusal is shown."""

    reason = ReasonChoiceField(
        label=_("Reason"), queryset=CloseReason.objects.none(), required=False
    )

    def __init__(self, *args: Any, reasons: QuerySet[CloseReason], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = reasons  # type: ignore[attr-defined]


class DuplicateChoiceForm(RecordForm):
    """The duplicate to merge into the record of the page (the survivor), and per field whose
    value survives: `keep_<field>` is "keep" (the survivor's) or "take" (the duplicate's)."""

    KEEP, TAKE = "keep", "take"

    duplicate = forms.ModelChoiceField(label=_("Duplicate"), queryset=Lead.objects.none())

    def __init__(
        self,
        *args: Any,
        candidates: QuerySet[Any],
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

    def takes(self, name: str, default: bool) -> bool:
        """Whether the duplicate's value of `name` survives; `default` when nothing was chosen."""
        choice = self.data.get(f"keep_{name}", "") if self.is_bound else ""
        return choice == self.TAKE if choice in (self.KEEP, self.TAKE) else default

    def take_from_duplicate(self, defaults: frozenset[str] = frozenset()) -> list[str]:
        return [name for name in self.merge_fields if self.takes(name, name in defaults)]


class DealCreateForm(RecordForm):
    name = forms.CharField(label=_("Deal"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=PipelineStage.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=Opportunity.Kind.choices)
    expected_close_date = forms.DateField(
        label=_("Expected close"), required=False, widget=DATE_INPUT
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"), choices=Opportunity.ForecastCategory.choices
    )
    owner = PersonChoiceField(label=_("Owner"), queryset=Lead.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Lead.objects.none(), required=False)

    def __init__(
        self, *args: Any, owners: QuerySet[Any], teams: QuerySet[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _assignment_fields(self, owners, teams)
        # Closing a deal is won/lost, not creating it closed.
        self.fields["stage"].queryset = PipelineStage.objects.filter(  # type: ignore[attr-defined]
            is_active=True, is_won=False, is_lost=False
        ).order_by("position", "id")


class DealEditForm(EditedRecordForm):
    name = forms.CharField(label=_("Deal"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(
        label=_("Expected close"), required=False, widget=DATE_INPUT
    )
    probability_percent = forms.DecimalField(
        label=_("Probability (%)"),
        max_digits=5,
        decimal_places=1,
        help_text=_("Set by the stage; your own estimate replaces it until the next stage move."),
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"), choices=Opportunity.ForecastCategory.choices
    )
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    owner = PersonChoiceField(label=_("Owner"), queryset=Lead.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Lead.objects.none(), required=False)

    def __init__(
        self, *args: Any, owners: QuerySet[Any], teams: QuerySet[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _assignment_fields(self, owners, teams)

    @property
    def probability(self) -> Decimal:
        """The percent as the 0–1 fraction the deal stores (the service checks the range)."""
        return (self.cleaned_data["probability_percent"] / 100).quantize(Decimal("0.001"))


class OrderEditForm(EditedRecordForm):
    channel = forms.ModelChoiceField(
        label=_("Sales channel"), queryset=Channel.objects.order_by("name"), required=False
    )
    owner = PersonChoiceField(label=_("Sales rep"), queryset=Lead.objects.none(), required=False)

    def __init__(self, *args: Any, owners: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]


class OrderRefundForm(RecordForm):
    # No min_value: a zero or negative amount is refused by order_refund, which owns that rule.
    amount = forms.DecimalField(label=_("Refund amount"), max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

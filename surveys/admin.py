"""Admin for surveys, invitations and responses; answers go through surveys.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.encryption.admin import BlindIndexSearchMixin
from surveys.models import Survey, SurveyInvitation, SurveyResponse
from surveys.services import (
    survey_invitation_answer_check,
    survey_invitation_create,
    survey_response_record,
    survey_response_update,
    survey_score_check,
)

# Delay defaults per trigger: a day after a ticket is solved, a week after delivery.
DEFAULT_DELAY_HOURS = {
    Survey.Trigger.TICKET_SOLVED: 24,
    Survey.Trigger.ORDER_DELIVERED: 7 * 24,
    Survey.Trigger.RELATIONSHIP: 0,
}


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = (
            "name",
            "kind",
            "question",
            "trigger",
            "delay_hours",
            "cooldown_days",
            "sampling_rate",
            "expiry_days",
            "reminder_days",
            "is_active",
        )
        help_texts = {
            "delay_hours": _(
                "Left at the default: 24 h after a ticket is solved, 7 days (168 h) after an "
                "order is delivered, none for relationship surveys."
            ),
            "reminder_days": _("Empty: no reminder."),
            "sampling_rate": _("Share of eligible customers invited, e.g. 0.25 (1 = everyone)."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        trigger = cleaned.get("trigger")
        # A new survey whose delay was not touched gets its trigger's default delay.
        if (
            self.instance.pk is None
            and trigger in DEFAULT_DELAY_HOURS
            and "delay_hours" not in self.changed_data
        ):
            cleaned["delay_hours"] = DEFAULT_DELAY_HOURS[trigger]
        return cleaned


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyForm
    list_display = (
        "name",
        "kind",
        "trigger",
        "delay_hours",
        "cooldown_days",
        "sampling_rate",
        "expiry_days",
        "is_active",
    )
    list_filter = ("kind", "trigger", "is_active")
    search_fields = ("name", "question")


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(BlindIndexSearchMixin):
    list_display = ("survey", "customer", "status", "created_at", "sent_at", "expires_at")
    list_filter = ("status", "survey")
    search_fields = ("customer__name", "=token")
    blind_index_search = ("customer__email",)
    list_select_related = ("survey", "customer")
    autocomplete_fields = ("customer", "ticket")
    raw_id_fields = ("order",)
    date_hierarchy = "created_at"

    def get_fields(  # type: ignore[override]
        self, request: HttpRequest, obj: SurveyInvitation | None = None
    ) -> list[str]:
        if obj is None:
            return ["survey", "customer", "ticket", "order"]
        return [
            "survey",
            "customer",
            "ticket",
            "order",
            "status",
            "token",
            "created_at",
            "sent_at",
            "expires_at",
            "reminded_at",
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: SurveyInvitation | None = None
    ) -> list[str]:
        if obj is None:
            return []
        # Sending, delivery and expiry are written by the invitation services and tasks.
        return [
            "survey",
            "customer",
            "ticket",
            "order",
            "token",
            "created_at",
            "expires_at",
            "sent_at",
            "reminded_at",
        ]

    def save_model(
        self, request: HttpRequest, obj: SurveyInvitation, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = survey_invitation_create(
            survey=form.cleaned_data["survey"],
            customer=form.cleaned_data["customer"],
            ticket=form.cleaned_data.get("ticket"),
            order=form.cleaned_data.get("order"),
        )
        obj.pk = created.pk
        obj.refresh_from_db()


class SurveyResponseAdminForm(forms.ModelForm):
    class Meta:
        model = SurveyResponse
        fields = (
            "survey",
            "invitation",
            "customer",
            "ticket",
            "order",
            "score",
            "comment",
            "responded_at",
            "external_id",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is not None:
            kind = self.instance.kind
        else:
            invitation = cleaned.get("invitation")
            survey = invitation.survey if invitation is not None else cleaned.get("survey")
            if survey is None:
                return cleaned
            kind = survey.kind
            if invitation is not None:
                self._run(
                    survey_invitation_answer_check,
                    invitation=invitation,
                    at=cleaned.get("responded_at") or timezone.now(),
                )
            # The model's score constraint reads the copied kind.
            self.instance.kind = kind
        if "score" in cleaned:
            self._run(survey_score_check, kind=kind, score=cleaned["score"])
        return cleaned

    def _run(self, check: Any, **kwargs: Any) -> None:
        try:
            check(**kwargs)
        except ValidationError as refusal:
            self.add_error(None, refusal)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    form = SurveyResponseAdminForm
    list_display = ("survey", "kind", "score", "customer", "ticket", "responded_at")
    list_filter = ("kind", "survey", "score")
    search_fields = ("customer__name", "external_id")  # comments are encrypted
    list_select_related = ("survey", "customer", "ticket")
    autocomplete_fields = ("customer", "ticket")
    raw_id_fields = ("invitation", "order")
    date_hierarchy = "responded_at"

    def get_fields(  # type: ignore[override]
        self, request: HttpRequest, obj: SurveyResponse | None = None
    ) -> list[str]:
        fields = ["survey", "invitation", "customer", "ticket", "order", "score", "comment"]
        if obj is None:
            return [*fields, "responded_at", "external_id"]
        return [*fields, "kind", "responded_at", "external_id"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: SurveyResponse | None = None
    ) -> list[str]:
        if obj is None:
            return []
        # Only the answer itself can be corrected; who answered what stays as recorded.
        return [
            "survey",
            "invitation",
            "customer",
            "ticket",
            "order",
            "kind",
            "responded_at",
            "external_id",
        ]

    def save_model(
        self, request: HttpRequest, obj: SurveyResponse, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            survey_response_update(response=obj, score=data["score"], comment=data["comment"])
            return
        invitation = data.get("invitation")
        created = survey_response_record(
            survey=None if invitation is not None else data.get("survey"),
            invitation=invitation,
            customer=None if invitation is not None else data.get("customer"),
            score=data["score"],
            comment=data.get("comment", ""),
            at=data.get("responded_at"),
            ticket=data.get("ticket"),
            order=data.get("order"),
            external_id=data.get("external_id") or None,
        )
        obj.pk = created.pk
        obj.refresh_from_db()

"""Admin of the reports: annotations, digest subscriptions (with "send a test digest to me now")
and the digest send log.

Forms call the services' validators; the send hour and sender address are environment settings
(DIGEST_SEND_HOUR, DIGEST_FROM_EMAIL), shown read-only above the subscription list.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reports.digests import (
    digest_from_email,
    digest_send_hour,
    digest_send_test,
    digest_subscription_clean,
)
from reports.models import Annotation, DigestSendLog, DigestSubscription
from reports.services import (
    annotation_clean,
    annotation_create,
    annotation_delete,
    annotation_update,
)

ANNOTATION_ADMIN_FIELDS = ("kpi", "granularity", "starts_on", "ends_on", "kind", "text")


class AnnotationForm(forms.ModelForm):
    class Meta:
        model = Annotation
        fields = list(ANNOTATION_ADMIN_FIELDS)
        help_texts = {
            "granularity": _(
                "Set it (with a KPI) to note one period: the first day must start that period "
                "and the last day is filled in. Leave it empty for a date range."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A note on one period gets its last day from the period.
        self.fields["ends_on"].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        granularity = cleaned.get("granularity") or ""
        try:
            text, kpi, starts_on, ends_on = annotation_clean(
                text=cleaned.get("text") or "",
                kpi=cleaned.get("kpi") or "",
                granularity=granularity,
                period_start=cleaned.get("starts_on") if granularity else None,
                starts_on=cleaned.get("starts_on"),
                ends_on=cleaned.get("ends_on") if not granularity else None,
                **({"kind": cleaned["kind"]} if cleaned.get("kind") else {}),
            )
        except ValidationError as exc:
            field_map = {"period_start": "starts_on"}
            for field, errors in exc.message_dict.items():
                self.add_error(field_map.get(field, field), errors)
            return cleaned
        cleaned.update(text=text, kpi=kpi, starts_on=starts_on, ends_on=ends_on)
        return cleaned


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    form = AnnotationForm
    list_display = ["starts_on", "ends_on", "kpi", "granularity", "kind", "text", "created_by"]
    list_filter = ["kind", "granularity", "kpi"]
    search_fields = ["text", "kpi"]
    date_hierarchy = "starts_on"

    def save_model(self, request: HttpRequest, obj: Annotation, form: Any, change: bool) -> None:
        # Through the services (their permission check and audit actor); the form has already
        # shown their refusals next to the fields (AnnotationForm.clean).
        fields = {name: form.cleaned_data[name] for name in ANNOTATION_ADMIN_FIELDS}
        if fields["granularity"]:
            fields["period_start"] = fields["starts_on"]
        if change:
            saved = annotation_update(annotation=obj, actor=request.user, **fields)
        else:
            saved = annotation_create(actor=request.user, **fields)
        # The admin logs and redirects with the instance it holds.
        obj.pk, obj.created_by_id = saved.pk, saved.created_by_id

    def delete_model(self, request: HttpRequest, obj: Annotation) -> None:
        annotation_delete(annotation_id=obj.pk, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Annotation]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            annotation_delete(annotation_id=pk, actor=request.user)


class DigestSubscriptionForm(forms.ModelForm):
    class Meta:
        model = DigestSubscription
        fields = [
            "user",
            "frequency",
            "scope",
            "team",
            "kpi_keys",
            "stages",
            "include_alerts",
            "language",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("user") is None:
            return cleaned
        try:
            digest_subscription_clean(
                user=cleaned["user"],
                frequency=cleaned.get("frequency") or "",
                scope=cleaned.get("scope") or "",
                kpi_keys=cleaned.get("kpi_keys") or [],
                stages=cleaned.get("stages") or [],
                team=cleaned.get("team"),
                include_alerts=bool(cleaned.get("include_alerts")),
                language=cleaned.get("language") or "",
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin):
    form = DigestSubscriptionForm
    list_display = [
        "user",
        "frequency",
        "scope",
        "team",
        "kpi_keys",
        "stages",
        "include_alerts",
        "language",
        "is_active",
    ]
    list_filter = ["frequency", "scope", "is_active", "language"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "team"]
    readonly_fields = ["unsubscribe_token", "created_at", "unsubscribed_at"]
    actions = ["send_test_digest_to_me"]
    change_list_template = "reports/admin/digest_subscription_change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "digest_send_hour": digest_send_hour(),
            "digest_from_email": digest_from_email(),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Send a test digest of the last closed period to me now"))
    def send_test_digest_to_me(
        self, request: HttpRequest, queryset: QuerySet[DigestSubscription]
    ) -> None:
        try:
            sent = digest_send_test(
                subscriptions=queryset.select_related("user", "team"), to_user=request.user
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext(
                "%(n)d test digest sent to %(email)s.",
                "%(n)d test digests sent to %(email)s.",
                sent,
            )
            % {"n": sent, "email": request.user.email},  # type: ignore[union-attr]
            messages.SUCCESS,
        )


@admin.register(DigestSendLog)
class DigestSendLogAdmin(admin.ModelAdmin):
    """Who got which digest: written by the send task, never edited by hand."""

    list_display = [
        "created_at",
        "subscription",
        "granularity",
        "period_start",
        "recipient",
        "status",
        "alert_count",
        "sent_at",
    ]
    list_filter = ["status", "granularity"]
    search_fields = ["recipient", "subscription__user__username"]
    date_hierarchy = "period_start"
    list_select_related = ["subscription__user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Admin for customers; derived columns are read-only and changes with rules go through services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.encryption.admin import BlindIndexSearchMixin
from customers.models import Channel, Contact, Customer, Segment, Team
from customers.services import CUSTOMER_EDITABLE_FIELDS, customer_create, customer_update

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CUSTOMER_DERIVED_FIELDS = (
    "acquired_at",
    "churned_at",
    "rfm_segment",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "health_score",
    "health_band",
    "updated_at",
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "created_at")
    search_fields = ("name",)
    list_select_related = ("manager",)
    autocomplete_fields = ("manager",)
    filter_horizontal = ("members",)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_paid", "is_active")
    list_filter = ("is_paid", "is_active")
    search_fields = ("name", "code")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "inactivity_days")
    search_fields = ("name", "code")


class ContactInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # The inline shows every contact of the customer, so this count is the whole truth; the
        # per-form checks cannot see the other rows of the same submit.
        primaries = sum(
            1
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("is_primary")
            and not form.cleaned_data.get("DELETE")
        )
        if primaries > 1:
            raise ValidationError(_("A customer has at most one primary contact."))


class ContactInline(admin.TabularInline):
    model = Contact
    formset = ContactInlineFormSet
    extra = 0
    fields = ("first_name", "last_name", "email", "phone", "job_title", "is_primary")


@admin.register(Customer)
class CustomerAdmin(BlindIndexSearchMixin):
    list_display = (
        "name",
        "kind",
        "status",
        "owner",
        "team",
        "segment",
        "channel",
        "acquired_at",
        "rfm_segment",
        "health_band",
    )
    list_filter = ("status", "kind", "segment", "team", "channel", "rfm_segment", "health_band")
    search_fields = ("name", "external_id")
    blind_index_search = ("email", "phone")
    list_select_related = ("owner", "team", "segment", "channel")
    autocomplete_fields = ("owner", "referred_by", "campaign")
    readonly_fields = CUSTOMER_DERIVED_FIELDS
    date_hierarchy = "created_at"
    inlines = (ContactInline,)

    def save_model(
        self, request: HttpRequest, obj: Customer, form: ModelForm, change: bool
    ) -> None:
        # The ModelForm has validated the values; the services decide acquisition and derived data.
        changed = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in CUSTOMER_EDITABLE_FIELDS
        }
        if change:
            saved = customer_update(customer=obj, actor=admin_actor(request), **changed)
        else:
            create_args = {
                name: changed.pop(name)
                for name in (
                    "name",
                    "kind",
                    "email",
                    "phone",
                    "owner",
                    "team",
                    "segment",
                    "channel",
                    "campaign",
                    "referred_by",
                    "external_id",
                    "created_at",
                    "language",
                )
                if name in changed
            }
            create_args.setdefault("name", form.cleaned_data["name"])
            saved = customer_create(actor=admin_actor(request), **create_args)
            if changed:
                saved = customer_update(customer=saved, actor=admin_actor(request), **changed)
        copy_saved_row(saved, obj)


def admin_actor(request: HttpRequest) -> User:
    """The admin site only lets staff users in, so the request user is a real account."""
    return cast("User", request.user)


def copy_saved_row(saved: Any, obj: Any) -> None:
    """Make the admin's instance the row the service wrote, so inlines attach to it."""
    for field in type(obj)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


@admin.register(Contact)
class ContactAdmin(BlindIndexSearchMixin):
    list_display = ("__str__", "customer", "email", "phone", "job_title", "is_primary")
    list_filter = ("is_primary",)
    search_fields = ("first_name", "last_name", "customer__name")
    blind_index_search = ("email", "phone")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return super().get_queryset(request).select_related("customer")

"""Admin for the sales domain. Writes that carry rules call the services, so an admin user gets
the same refusals (and the same clear messages) as the web app and the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.encryption.admin import BlindIndexSearchMixin
from customers.admin import admin_actor, copy_saved_row
from sales.models import (
    Activity,
    Campaign,
    CloseReason,
    ForecastSnapshot,
    Lead,
    MarketingSpend,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    PipelineStage,
    Product,
    ProductLine,
    Refund,
    RetentionCase,
    SalesCost,
)
from sales.services import (
    activity_log,
    lead_convert,
    opportunity_create,
    opportunity_move_stage,
    opportunity_validate_move,
    order_cancel,
    order_create,
    order_currency_validate,
    order_mark_delivered,
    order_recompute_totals,
    order_refund,
    retention_case_close,
)


def _messages_of(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "starts_on", "ends_on", "budget")
    list_filter = ("channel",)
    search_fields = ("name", "external_id")
    list_select_related = ("channel",)
    date_hierarchy = "starts_on"


# --- leads ---------------------------------------------------------------------------------------


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide what is shown

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        current = self.instance.status if self.instance.pk else Lead.Status.NEW
        managed = {Lead.Status.CONVERTED, Lead.Status.MERGED}
        if status != current and (status in managed or current in managed):
            raise ValidationError(
                _("Conversion and merging are done with the lead actions, not by editing status.")
            )
        return status


@admin.register(Lead)
class LeadAdmin(BlindIndexSearchMixin):
    form = LeadAdminForm
    list_display = (
        "name",
        "company",
        "email",
        "status",
        "source",
        "channel",
        "owner",
        "team",
        "created_at",
        "converted_at",
    )
    list_filter = ("status", "source", "channel", "team")
    search_fields = ("name", "company", "external_id")
    blind_index_search = ("email", "phone")
    list_select_related = ("channel", "owner", "team")
    autocomplete_fields = ("owner", "campaign")
    readonly_fields = ("converted_at", "converted_customer", "merged_into")
    date_hierarchy = "created_at"
    actions = ("convert_leads",)

    @admin.action(description=_("Convert selected leads to customers"))
    def convert_leads(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        converted = 0
        for lead in queryset:
            try:
                lead_convert(lead=lead, actor=admin_actor(request))
            except ValidationError as error:
                self.message_user(request, f"{lead}: {_messages_of(error)}", level=messages.ERROR)
            else:
                converted += 1
        if converted:
            self.message_user(
                request,
                ngettext("%(count)d lead converted.", "%(count)d leads converted.", converted)
                % {"count": converted},
                level=messages.SUCCESS,
            )


# --- pipeline and opportunities ------------------------------------------------------------------


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "position", "probability", "is_won", "is_lost", "is_active")
    list_editable = ("position",)
    list_filter = ("is_active", "is_won", "is_lost")
    search_fields = ("name", "code")


@admin.register(CloseReason)
class CloseReasonAdmin(admin.ModelAdmin):
    """The reasons offered when a lead is disqualified or a deal lost; the chosen name is
    copied onto the record, so editing a reason here does not rewrite closed records."""

    list_display = ("name", "kind", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)


class OpportunityStageChangeInline(admin.TabularInline):
    model = OpportunityStageChange
    fields = ("from_stage", "to_stage", "changed_at", "changed_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OpportunityStageChange]:
        return super().get_queryset(request).select_related("from_stage", "to_stage", "changed_by")


class OpportunityAdminForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide what is shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stage = cleaned.get("stage")
        if self.instance.pk and stage is not None and "stage" in self.changed_data:
            original = Opportunity.objects.get(pk=self.instance.pk)
            try:
                opportunity_validate_move(opportunity=original, to_stage=stage)
            except ValidationError as error:
                raise ValidationError({"stage": error.messages}) from error
        return cleaned


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    form = OpportunityAdminForm
    list_display = (
        "name",
        "customer",
        "stage",
        "amount",
        "currency",
        "probability",
        "forecast_category",
        "outcome",
        "owner",
        "team",
        "expected_close_date",
        "closed_at",
    )
    list_filter = ("outcome", "stage", "kind", "forecast_category", "team")
    search_fields = ("name", "customer__name", "external_id")
    list_select_related = ("customer", "stage", "owner", "team")
    autocomplete_fields = ("customer", "lead", "owner")
    readonly_fields = ("outcome", "closed_at", "probability")
    date_hierarchy = "created_at"
    inlines = (OpportunityStageChangeInline,)

    def save_model(
        self, request: HttpRequest, obj: Opportunity, form: ModelForm, change: bool
    ) -> None:
        if not change:
            saved = opportunity_create(
                customer=obj.customer,
                name=obj.name,
                amount=obj.amount,
                stage=obj.stage,
                kind=obj.kind,
                owner=obj.owner,
                team=obj.team,
                expected_close_date=obj.expected_close_date,
                forecast_category=obj.forecast_category,
                currency=obj.currency,
                lead=obj.lead,
                external_id=obj.external_id,
                created_at=obj.created_at,
                actor=admin_actor(request),
            )
            copy_saved_row(saved, obj)
            return
        original = Opportunity.objects.get(pk=obj.pk)
        target = obj.stage
        # Plain fields first, keeping the stored stage/outcome; the move is the service's job.
        for name in ("stage_id", "outcome", "closed_at", "probability"):
            setattr(obj, name, getattr(original, name))
        obj.save()
        if "stage" in form.changed_data:
            moved = opportunity_move_stage(
                opportunity=obj,
                to_stage=target,
                actor=admin_actor(request),
                lost_reason=obj.lost_reason,
            )
            copy_saved_row(moved, obj)


# --- products and orders -------------------------------------------------------------------------


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "product_line", "unit_price", "is_active")
    list_filter = ("is_active", "product_line")
    search_fields = ("name", "sku", "external_id")
    list_select_related = ("product_line",)


class OrderLineInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        refunded = self.instance.refunded_total if self.instance.pk else Decimal("0")
        total = Decimal("0")
        live = 0
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            if data.get("unit_price") is not None and data.get("quantity"):
                total += data["unit_price"] * data["quantity"]
                live += 1
        if live and total < refunded:
            raise ValidationError(
                _("The lines total %(total)s is below what was already refunded (%(r)s).")
                % {"total": total, "r": refunded}
            )


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    formset = OrderLineInlineFormSet
    fields = ("product", "quantity", "unit_price", "line_total")
    readonly_fields = ("line_total",)
    autocomplete_fields = ("product",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("product")


class RefundInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        order = self.instance
        new_amount = sum(
            (
                form.cleaned_data["amount"]
                for form in self.forms
                if getattr(form, "cleaned_data", None)
                and form.instance.pk is None
                and form.cleaned_data.get("amount") is not None
            ),
            Decimal("0"),
        )
        if not new_amount:
            return
        if not order.pk or order.status == Order.Status.CANCELLED:
            raise ValidationError(_("Only a saved, non-cancelled order can be refunded."))
        if order.refunded_total + new_amount > order.total:
            raise ValidationError(
                _("Refunds (%(refunded)s) cannot exceed the order total (%(total)s).")
                % {"refunded": order.refunded_total + new_amount, "total": order.total}
            )


class RefundInline(admin.TabularInline):
    """Existing refunds are history; a new row is recorded through order_refund."""

    model = Refund
    formset = RefundInlineFormSet
    fields = ("amount", "refunded_at", "reason")
    extra = 0
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderAdminForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide what is shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk and "currency" in cleaned:
            try:
                order_currency_validate(cleaned.get("currency"), cleaned.get("exchange_rate"))
            except ValidationError as error:
                raise ValidationError(error.message_dict) from error
        return cleaned


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = (
        "__str__",
        "customer",
        "ordered_at",
        "status",
        "currency",
        "total",
        "refunded_total",
        "net_amount",
        "owner",
        "channel",
    )
    list_filter = ("status", "currency", "channel")
    search_fields = ("external_id", "customer__name")
    list_select_related = ("customer", "owner", "channel")
    autocomplete_fields = ("customer", "owner")
    date_hierarchy = "ordered_at"
    inlines = (OrderLineInline, RefundInline)
    actions = ("cancel_orders", "mark_delivered")
    # Once placed, the money and the customer are fixed; refunds and cancellation are actions.
    change_readonly_fields = (
        "customer",
        "ordered_at",
        "status",
        "currency",
        "exchange_rate",
        "total",
        "refunded_total",
        "net_amount",
        "delivered_at",
        "cancelled_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.pk:
            return self.change_readonly_fields
        return ("refunded_total", "net_amount", "delivered_at", "cancelled_at")

    def save_model(self, request: HttpRequest, obj: Order, form: ModelForm, change: bool) -> None:
        if change:
            obj.save()
            return
        saved = order_create(
            customer=obj.customer,
            ordered_at=obj.ordered_at,
            total=obj.total,
            currency=obj.currency,
            exchange_rate=obj.exchange_rate,
            status=obj.status,
            channel=obj.channel,
            owner=obj.owner,
            external_id=obj.external_id,
            actor=admin_actor(request),
        )
        copy_saved_row(saved, obj)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        if formset.model is not Refund:
            super().save_formset(request, form, formset, change)
            return
        # The admin's change message reads these lists; refunds are only ever added.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for refund_form in formset.forms:
            data = getattr(refund_form, "cleaned_data", None)
            if refund_form.instance.pk is None and data and data.get("amount"):
                refund = order_refund(
                    order=form.instance,
                    amount=data["amount"],
                    at=data.get("refunded_at"),
                    reason=data.get("reason", ""),
                    actor=admin_actor(request),
                )
                formset.new_objects.append(refund)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        # Lines first, then totals, then refunds checked against the recomputed total.
        ordered = sorted(formsets, key=lambda formset: formset.model is Refund)
        form.save_m2m()
        for formset in ordered:
            self.save_formset(request, form, formset, change=change)
            if formset.model is OrderLine:
                copy_saved_row(order_recompute_totals(order=form.instance), form.instance)

    @admin.action(description=_("Cancel selected orders"))
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(
            request, queryset, lambda order: order_cancel(order=order, actor=admin_actor(request))
        )

    @admin.action(description=_("Mark selected orders delivered"))
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, lambda order: order_mark_delivered(order=order))

    def _apply(self, request: HttpRequest, queryset: QuerySet[Order], action: Any) -> None:
        done = 0
        for order in queryset:
            try:
                action(order)
            except ValidationError as error:
                self.message_user(request, f"{order}: {_messages_of(error)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d order updated.", "%(count)d orders updated.", done)
                % {"count": done},
                messages.SUCCESS,
            )


# --- activities, retention, costs ----------------------------------------------------------------


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "kind",
        "customer",
        "lead",
        "opportunity",
        "owner",
        "team",
        "due_at",
        "done_at",
        "is_bulk",
    )
    list_filter = ("kind", "is_bulk", "team")
    search_fields = ("subject", "notes", "customer__name", "lead__name")
    list_select_related = ("customer", "lead", "opportunity", "owner", "team")
    autocomplete_fields = ("customer", "lead", "opportunity", "owner")
    readonly_fields = ("team",)
    date_hierarchy = "created_at"

    def save_model(
        self, request: HttpRequest, obj: Activity, form: ModelForm, change: bool
    ) -> None:
        if change:
            obj.save()
            return
        # The service picks the team from the owner and the record, as everywhere else.
        saved = activity_log(
            kind=obj.kind,
            subject=obj.subject,
            owner=obj.owner,
            customer=obj.customer,
            lead=obj.lead,
            opportunity=obj.opportunity,
            notes=obj.notes,
            due_at=obj.due_at,
            done_at=obj.done_at,
            is_bulk=obj.is_bulk,
            created_at=obj.created_at,
            external_id=obj.external_id,
        )
        copy_saved_row(saved, obj)


@admin.register(RetentionCase)
class RetentionCaseAdmin(admin.ModelAdmin):
    list_display = ("customer", "owner", "status", "outcome", "cost", "opened_at", "closed_at")
    list_filter = ("status", "outcome")
    search_fields = ("customer__name", "reason")
    list_select_related = ("customer", "owner")
    autocomplete_fields = ("customer", "owner")
    readonly_fields = ("status", "outcome", "closed_at")
    actions = ("close_retained", "close_lost")

    @admin.action(description=_("Close selected cases as retained"))
    def close_retained(self, request: HttpRequest, queryset: QuerySet[RetentionCase]) -> None:
        self._close(request, queryset, RetentionCase.Outcome.RETAINED)

    @admin.action(description=_("Close selected cases as lost"))
    def close_lost(self, request: HttpRequest, queryset: QuerySet[RetentionCase]) -> None:
        self._close(request, queryset, RetentionCase.Outcome.LOST)

    def _close(self, request: HttpRequest, queryset: QuerySet[RetentionCase], outcome: str) -> None:
        for case in queryset:
            try:
                retention_case_close(case=case, outcome=outcome)
            except ValidationError as error:
                self.message_user(request, f"{case}: {_messages_of(error)}", messages.ERROR)


@admin.register(MarketingSpend)
class MarketingSpendAdmin(admin.ModelAdmin):
    list_display = ("period_start", "period_end", "channel", "campaign", "amount")
    list_filter = ("channel",)
    search_fields = ("external_id", "campaign__name")
    list_select_related = ("channel", "campaign")
    date_hierarchy = "period_start"


@admin.register(SalesCost)
class SalesCostAdmin(admin.ModelAdmin):
    list_display = ("period_start", "period_end", "team", "amount", "description")
    list_filter = ("team",)
    search_fields = ("external_id", "description")
    list_select_related = ("team",)
    date_hierarchy = "period_start"


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are taken by forecast_snapshot_take (beat or the forecast page)."""

    list_display = (
        "period_start",
        "granularity",
        "dimension",
        "dimension_label",
        "deal_count",
        "weighted_pipeline",
        "best_case",
        "commit",
        "excluded_undated",
        "taken_at",
    )
    list_filter = ("granularity", "dimension")
    date_hierarchy = "period_start"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

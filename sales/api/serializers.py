from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.fields import VisibleRelatedField
from crm.api.serializers import ApiDateTimeField, ApiModelSerializer
from customers.api.serializers import CustomerSerializer, customer_field, user_field
from sales.models import (
    Activity,
    Campaign,
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
from sales.selectors import leads_visible_to, opportunities_visible_to
from sales.services import LEAD_MERGE_FIELDS, LEAD_SETTABLE_STATUSES

ZERO = Decimal("0")
NOT_NEGATIVE = {"min_value": ZERO}


def lead_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(selector=leads_visible_to, queryset=Lead.objects.all(), **kwargs)


def opportunity_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(
        selector=opportunities_visible_to, queryset=Opportunity.objects.all(), **kwargs
    )


# --- reference data ------------------------------------------------------------------------------


class CampaignSerializer(ApiModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "external_id", "name", "channel", "starts_on", "ends_on", "budget"]
        extra_kwargs = {"budget": NOT_NEGATIVE}


class PipelineStageSerializer(ApiModelSerializer):
    class Meta:
        model = PipelineStage
        fields = ["id", "code", "name", "position", "probability", "is_won", "is_lost", "is_active"]
        extra_kwargs = {"probability": {"min_value": ZERO, "max_value": Decimal("1")}}


class ProductLineSerializer(ApiModelSerializer):
    class Meta:
        model = ProductLine
        fields = ["id", "code", "name"]


class ProductSerializer(ApiModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "external_id", "sku", "name", "product_line", "unit_price", "is_active"]
        extra_kwargs = {"unit_price": NOT_NEGATIVE}


# --- leads ---------------------------------------------------------------------------------------


class LeadSerializer(ApiModelSerializer):
    owner = user_field(required=False, allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "external_id",
            "name",
            "company",
            "email",
            "phone",
            "source",
            "channel",
            "campaign",
            "owner",
            "team",
            "status",
            "merged_into",
            "converted_at",
            "converted_customer",
            "created_at",
        ]
        # Status moves only through set-status, convert and merge (sales.services).
        read_only_fields = ["status", "merged_into", "converted_at", "converted_customer"]


class LeadConvertSerializer(serializers.Serializer):
    customer = customer_field(
        required=False,
        allow_null=True,
        help_text=_("Convert into this existing customer instead of creating one."),
    )
    converted_at = ApiDateTimeField(required=False, allow_null=True)
    create_opportunity = serializers.BooleanField(default=True)
    opportunity_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=ZERO, required=False, allow_null=True
    )


class LeadStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(status, status.label) for status in LEAD_SETTABLE_STATUSES],
        help_text=_("The lead's new work state."),
    )


class LeadMergeSerializer(serializers.Serializer):
    into = lead_field(help_text=_("The surviving lead; this lead becomes its merged duplicate."))
    take_from_duplicate = serializers.MultipleChoiceField(
        choices=LEAD_MERGE_FIELDS,
        required=False,
        help_text=_(
            "Fields whose value the surviving lead takes from this lead. Omitted, the surviving "
            "lead fills its blank fields from this lead."
        ),
    )


# --- opportunities -------------------------------------------------------------------------------


class StageChangeSerializer(ApiModelSerializer):
    from_stage: Any = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text=_("null for the first stage.")
    )
    to_stage: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OpportunityStageChange
        fields = ["id", "from_stage", "to_stage", "changed_at", "changed_by"]
        read_only_fields = fields


def stage_changes_prefetch() -> Prefetch:
    return Prefetch(
        "stage_changes",
        queryset=OpportunityStageChange.objects.select_related("from_stage", "to_stage"),
    )


class OpportunitySerializer(ApiModelSerializer):
    customer = customer_field()
    lead = lead_field(required=False, allow_null=True)
    owner = user_field(required=False, allow_null=True)
    stage: Any = serializers.SlugRelatedField(
        slug_field="code",
        queryset=PipelineStage.objects.all(),
        required=False,
        help_text=_("Pipeline stage code; default the first open stage."),
    )
    currency: Any = serializers.CharField(min_length=3, max_length=3, required=False)
    stage_history = StageChangeSerializer(source="stage_changes", many=True, read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "external_id",
            "name",
            "customer",
            "lead",
            "kind",
            "amount",
            "currency",
            "stage",
            "probability",
            "forecast_category",
            "expected_close_date",
            "owner",
            "team",
            "outcome",
            "lost_reason",
            "created_at",
            "closed_at",
            "stage_history",
        ]
        read_only_fields = ["probability", "outcome", "lost_reason", "closed_at"]
        # opportunity_create takes the amount explicitly: no silent 0 for a forgotten field.
        extra_kwargs = {"amount": {**NOT_NEGATIVE, "required": True}}


class OpportunityUpdateSerializer(OpportunitySerializer):
    """Stage and outcome move through move-stage only; the customer of a deal is fixed."""

    customer: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    stage: Any = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lead: Any = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(OpportunitySerializer.Meta):
        read_only_fields = [*OpportunitySerializer.Meta.read_only_fields, "created_at"]


class MoveStageSerializer(serializers.Serializer):
    to_stage: Any = serializers.CharField(max_length=50, help_text=_("Target pipeline stage code."))
    at = ApiDateTimeField(required=False, allow_null=True)
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- orders --------------------------------------------------------------------------------------


class OrderLineSerializer(ApiModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    unit_price = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=ZERO,
        required=False,
        allow_null=True,
        help_text=_("Default: the product's price."),
    )

    class Meta:
        model = OrderLine
        fields = ["id", "product", "quantity", "unit_price", "line_total"]
        read_only_fields = ["line_total"]


class RefundSerializer(ApiModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "refunded_at", "reason"]
        read_only_fields = fields


class OrderSerializer(ApiModelSerializer):
    customer = customer_field()
    owner = user_field(required=False, allow_null=True)
    lines = OrderLineSerializer(
        many=True,
        required=False,
        help_text=_("Order lines; the total is their sum. Omit to give a total only."),
    )
    refunds = RefundSerializer(many=True, read_only=True)
    currency: Any = serializers.CharField(min_length=3, max_length=3, required=False)
    total: Any = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=ZERO, required=False, allow_null=True
    )
    exchange_rate: Any = serializers.DecimalField(
        max_digits=14,
        decimal_places=6,
        min_value=Decimal("0.000001"),
        required=False,
        allow_null=True,
        help_text=_(
            "Organisation currency per unit of the order currency; 1 for the home currency."
        ),
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer",
            "ordered_at",
            "status",
            "currency",
            "exchange_rate",
            "total",
            "refunded_total",
            "net_amount",
            "channel",
            "owner",
            "delivered_at",
            "cancelled_at",
            "created_at",
            "lines",
            "refunds",
        ]
        read_only_fields = [
            "refunded_total",
            "net_amount",
            "delivered_at",
            "cancelled_at",
            "created_at",
        ]


class OrderUpdateSerializer(OrderSerializer):
    """Amounts, lines and status change through the order actions (cancel, refund, deliver)."""

    customer: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    currency: Any = serializers.CharField(read_only=True)
    total: Any = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    exchange_rate: Any = serializers.DecimalField(max_digits=14, decimal_places=6, read_only=True)

    class Meta(OrderSerializer.Meta):
        read_only_fields = [*OrderSerializer.Meta.read_only_fields, "ordered_at", "status"]


class OrderEventSerializer(serializers.Serializer):
    at = ApiDateTimeField(required=False, allow_null=True)


class OrderRefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    at = ApiDateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- activities ----------------------------------------------------------------------------------


class ActivitySerializer(ApiModelSerializer):
    customer = customer_field(required=False, allow_null=True)
    lead = lead_field(required=False, allow_null=True)
    opportunity = opportunity_field(required=False, allow_null=True)
    owner = user_field(required=False, allow_null=True, help_text=_("Default: you."))

    class Meta:
        model = Activity
        fields = [
            "id",
            "external_id",
            "kind",
            "subject",
            "notes",
            "customer",
            "lead",
            "opportunity",
            "owner",
            "team",
            "is_bulk",
            "due_at",
            "done_at",
            "created_at",
        ]
        # The team is derived from the owner and the record (sales.services.activity_log).
        read_only_fields = ["team"]


class ActivityUpdateSerializer(ActivitySerializer):
    customer: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    lead: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    opportunity: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    owner: Any = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(ActivitySerializer.Meta):
        read_only_fields = ["team", "done_at", "created_at"]


# --- costs and retention -------------------------------------------------------------------------


class MarketingSpendSerializer(ApiModelSerializer):
    class Meta:
        model = MarketingSpend
        fields = [
            "id",
            "external_id",
            "period_start",
            "period_end",
            "channel",
            "campaign",
            "amount",
        ]
        extra_kwargs = {
            "amount": NOT_NEGATIVE,
            "period_end": {"help_text": _("Exclusive: the first day after the period.")},
        }


class SalesCostSerializer(ApiModelSerializer):
    class Meta:
        model = SalesCost
        fields = [
            "id",
            "external_id",
            "period_start",
            "period_end",
            "team",
            "amount",
            "description",
        ]
        extra_kwargs = {
            "amount": NOT_NEGATIVE,
            "period_end": {"help_text": _("Exclusive: the first day after the period.")},
        }


class RetentionCaseSerializer(ApiModelSerializer):
    customer = customer_field()
    owner = user_field(required=False, allow_null=True)

    class Meta:
        model = RetentionCase
        fields = [
            "id",
            "customer",
            "owner",
            "reason",
            "outreach",
            "cost",
            "status",
            "outcome",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = ["status", "outcome", "closed_at"]
        extra_kwargs = {"cost": NOT_NEGATIVE}


class RetentionCaseUpdateSerializer(RetentionCaseSerializer):
    customer: Any = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(RetentionCaseSerializer.Meta):
        read_only_fields = [*RetentionCaseSerializer.Meta.read_only_fields, "opened_at"]


class RetentionCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[
            (RetentionCase.Outcome.RETAINED, RetentionCase.Outcome.RETAINED.label),
            (RetentionCase.Outcome.LOST, RetentionCase.Outcome.LOST.label),
        ]
    )
    closed_at = ApiDateTimeField(required=False, allow_null=True)
    cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=ZERO, required=False, allow_null=True
    )


class LeadConvertedSerializer(serializers.Serializer):
    customer = CustomerSerializer(read_only=True)
    opportunity = OpportunitySerializer(read_only=True, allow_null=True)

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.viewsets import DomainViewSet, ExternalIdUpsertMixin
from customers.api.serializers import CustomerSerializer
from sales import services
from sales.api import serializers as api
from sales.filters import ActivityFilter, LeadFilter, OpportunityFilter, OrderFilter
from sales.models import (
    Activity,
    Campaign,
    Lead,
    MarketingSpend,
    Opportunity,
    Order,
    PipelineStage,
    Product,
    ProductLine,
    RetentionCase,
    SalesCost,
)
from sales.selectors import (
    activities_visible_to,
    leads_visible_to,
    opportunities_visible_to,
    orders_visible_to,
    retention_cases_visible_to,
)

# --- reference data ------------------------------------------------------------------------------


class CampaignViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Campaign
    serializer_class = api.CampaignSerializer
    filterset_fields = ["channel"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "starts_on", "ends_on", "budget"]

    def create_record(self, fields: dict[str, Any]) -> Campaign:
        return services.campaign_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Campaign:
        return services.campaign_update(campaign=record, actor=self.actor, **fields)


class PipelineStageViewSet(DomainViewSet):
    model = PipelineStage
    serializer_class = api.PipelineStageSerializer
    filterset_fields = ["is_active", "is_won", "is_lost"]
    ordering_fields = ["id", "position", "code"]

    def create_record(self, fields: dict[str, Any]) -> PipelineStage:
        return services.pipeline_stage_create(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> PipelineStage:
        return services.pipeline_stage_update(stage=record, **fields)


class ProductLineViewSet(DomainViewSet):
    model = ProductLine
    serializer_class = api.ProductLineSerializer
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "name"]


class ProductViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Product
    serializer_class = api.ProductSerializer
    filterset_fields = ["product_line", "is_active"]
    search_fields = ["sku", "name"]
    ordering_fields = ["id", "sku", "name", "unit_price"]


# --- leads ---------------------------------------------------------------------------------------


class LeadViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Lead
    serializer_class = api.LeadSerializer
    filterset_class = LeadFilter
    search_fields = ["name", "company"]
    search_blind_indexes = ("email", "phone")
    ordering_fields = ["id", "name", "created_at", "converted_at"]
    action_permissions = {
        "convert": ("sales.change_lead", "sales.add_opportunity"),
        "merge": ("sales.change_lead",),
        "set_status": ("sales.change_lead",),
    }

    def visible_queryset(self) -> QuerySet:
        return leads_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> Lead:
        fields.setdefault("owner", self.actor)
        return services.lead_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Lead:
        return services.lead_update(lead=record, actor=self.actor, **fields)

    def perform_destroy(self, instance: Lead) -> None:
        services.lead_delete(lead=instance, actor=self.actor)

    @extend_schema(
        request=api.LeadStatusSerializer,
        responses=api.LeadSerializer,
        description=_(
            "Mark the lead contacted, qualified or disqualified. Refused for a converted or "
            "merged lead, for the status it already has, and for a disqualified lead marked "
            "qualified (re-open it as contacted first)."
        ),
    )
    @action(detail=True, methods=["post"], url_path="set-status")
    def set_status(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        payload = api.LeadStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = services.lead_set_status(
            lead=lead, status=payload.validated_data["status"], actor=self.actor
        )
        return Response(self.get_serializer(lead).data)

    @extend_schema(
        request=api.LeadConvertSerializer,
        responses={201: api.LeadConvertedSerializer},
        description=_(
            "Convert the lead into a customer (new, or the one given) and, by default, an "
            "opportunity. Refused for a lead already converted, merged or disqualified."
        ),
    )
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        payload = api.LeadConvertSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        payload.is_valid(raise_exception=True)
        customer, opportunity = services.lead_convert(
            lead=lead, actor=self.actor, **payload.validated_data
        )
        context = self.get_serializer_context()
        body = {
            "customer": CustomerSerializer(customer, context=context).data,
            "opportunity": (
                api.OpportunitySerializer(opportunity, context=context).data
                if opportunity is not None
                else None
            ),
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=api.LeadMergeSerializer,
        responses=api.LeadSerializer,
        description=_("Merge this (duplicate) lead into another; returns the surviving lead."),
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        duplicate = self.get_object()
        payload = api.LeadMergeSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        survivor = services.lead_merge(
            duplicate=duplicate,
            into=payload.validated_data["into"],
            take_from_duplicate=payload.validated_data.get("take_from_duplicate"),
            actor=self.actor,
        )
        return Response(self.get_serializer(survivor).data)


# --- opportunities -------------------------------------------------------------------------------


class OpportunityViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Opportunity
    serializer_class = api.OpportunitySerializer
    update_serializer_class = api.OpportunityUpdateSerializer
    filterset_class = OpportunityFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "amount", "created_at", "closed_at", "expected_close_date"]
    select_related = ("stage",)
    action_permissions = {
        "move_stage": ("sales.change_opportunity",),
        "stage_history": ("sales.view_opportunity",),
    }

    def visible_queryset(self) -> QuerySet:
        return opportunities_visible_to(self.request.user).prefetch_related(
            api.stage_changes_prefetch()
        )

    def create_record(self, fields: dict[str, Any]) -> Opportunity:
        fields.setdefault("owner", self.actor)
        return services.opportunity_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Opportunity:
        services.opportunity_update(opportunity=record, actor=self.actor, **fields)
        # Reloaded through the queryset so the response carries the prefetched stage history.
        return self.get_queryset().get(pk=record.pk)

    @extend_schema(
        request=api.MoveStageSerializer,
        responses=api.OpportunitySerializer,
        description=_(
            "Move the deal to another pipeline stage (won/lost stages close it). A closed deal "
            "cannot move; the move is appended to the stage history."
        ),
    )
    @action(detail=True, methods=["post"], url_path="move-stage")
    def move_stage(self, request: Request, pk: str) -> Response:
        opportunity = self.get_object()
        payload = api.MoveStageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.opportunity_move_stage(
            opportunity=opportunity, actor=self.actor, **payload.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=opportunity.pk)).data)

    @extend_schema(responses=api.StageChangeSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="stage-history",
        pagination_class=None,
        filter_backends=[],
    )
    def stage_history(self, request: Request, pk: str) -> Response:
        opportunity = self.get_object()
        changes = opportunity.stage_changes.all()
        return Response(api.StageChangeSerializer(changes, many=True).data)


# --- orders --------------------------------------------------------------------------------------


class OrderViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Order
    serializer_class = api.OrderSerializer
    update_serializer_class = api.OrderUpdateSerializer
    filterset_class = OrderFilter
    ordering_fields = ["id", "ordered_at", "total", "net_amount", "created_at"]
    prefetch_related = ("lines", "refunds")
    action_permissions = {
        "cancel": ("sales.change_order",),
        "mark_delivered": ("sales.change_order",),
        "refund": ("sales.change_order", "sales.add_refund"),
    }

    def visible_queryset(self) -> QuerySet:
        return orders_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> Order:
        fields.setdefault("owner", self.actor)
        if "lines" in fields:
            fields["lines"] = [dict(line) for line in fields["lines"]]
        return services.order_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Order:
        services.order_update(order=record, actor=self.actor, **fields)
        return self.get_queryset().get(pk=record.pk)

    def perform_destroy(self, instance: Order) -> None:
        services.order_delete(order=instance, actor=self.actor)

    def _reloaded(self, order: Order) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data)

    @extend_schema(request=api.OrderEventSerializer, responses=api.OrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        payload = api.OrderEventSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_cancel(order=order, actor=self.actor, at=payload.validated_data.get("at"))
        return self._reloaded(order)

    @extend_schema(request=api.OrderEventSerializer, responses=api.OrderSerializer)
    @action(detail=True, methods=["post"], url_path="mark-delivered")
    def mark_delivered(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        payload = api.OrderEventSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_mark_delivered(order=order, at=payload.validated_data.get("at"))
        return self._reloaded(order)

    @extend_schema(
        request=api.OrderRefundSerializer,
        responses=api.OrderSerializer,
        description=_("Refund part or all of the order; refunds cannot exceed the total."),
    )
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        payload = api.OrderRefundSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_refund(order=order, actor=self.actor, **payload.validated_data)
        return self._reloaded(order)


# --- activities ----------------------------------------------------------------------------------


class ActivityViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Activity
    serializer_class = api.ActivitySerializer
    update_serializer_class = api.ActivityUpdateSerializer
    filterset_class = ActivityFilter
    search_fields = ["subject"]
    ordering_fields = ["id", "created_at", "due_at", "done_at"]
    action_permissions = {"complete": ("sales.change_activity",)}

    def visible_queryset(self) -> QuerySet:
        return activities_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> Activity:
        fields.setdefault("owner", self.actor)
        return services.activity_log(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Activity:
        return services.activity_update(activity=record, actor=self.actor, **fields)

    @extend_schema(request=api.OrderEventSerializer, responses=api.ActivitySerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        activity = self.get_object()
        payload = api.OrderEventSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        activity = services.activity_complete(
            activity=activity, at=payload.validated_data.get("at")
        )
        return Response(self.get_serializer(activity).data)


# --- costs and retention -------------------------------------------------------------------------


class MarketingSpendViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = MarketingSpend
    serializer_class = api.MarketingSpendSerializer
    filterset_fields = {"channel": ["exact"], "campaign": ["exact"], "period_start": ["gte", "lt"]}
    ordering_fields = ["id", "period_start", "amount"]

    def create_record(self, fields: dict[str, Any]) -> MarketingSpend:
        return services.marketing_spend_record(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> MarketingSpend:
        return services.marketing_spend_update(spend=record, **fields)


class SalesCostViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = SalesCost
    serializer_class = api.SalesCostSerializer
    filterset_fields = {"team": ["exact"], "period_start": ["gte", "lt"]}
    search_fields = ["description"]
    ordering_fields = ["id", "period_start", "amount"]

    def create_record(self, fields: dict[str, Any]) -> SalesCost:
        return services.sales_cost_record(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> SalesCost:
        return services.sales_cost_update(cost=record, **fields)


class RetentionCaseViewSet(DomainViewSet):
    model = RetentionCase
    serializer_class = api.RetentionCaseSerializer
    update_serializer_class = api.RetentionCaseUpdateSerializer
    filterset_fields = ["customer", "owner", "status", "outcome"]
    search_fields = ["reason"]
    ordering_fields = ["id", "opened_at", "closed_at", "cost"]
    action_permissions = {"close": ("sales.change_retentioncase",)}

    def visible_queryset(self) -> QuerySet:
        return retention_cases_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> RetentionCase:
        fields.setdefault("owner", self.actor)
        return services.retention_case_open(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> RetentionCase:
        return services.retention_case_update(case=record, actor=self.actor, **fields)

    @extend_schema(request=api.RetentionCloseSerializer, responses=api.RetentionCaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        payload = api.RetentionCloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.retention_case_close(case=case, **payload.validated_data)
        return Response(self.get_serializer(case).data)

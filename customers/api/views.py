from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.viewsets import DomainViewSet, ExternalIdUpsertMixin
from customers import services
from customers.api.serializers import (
    ChannelSerializer,
    ContactSerializer,
    CustomerChurnSerializer,
    CustomerSerializer,
    SegmentSerializer,
    TeamSerializer,
)
from customers.filters import ContactFilter, CustomerFilter
from customers.models import Channel, Contact, Customer, Segment, Team
from customers.selectors import customers_visible_to

CREATE_LATER = ("contract_end_date",)


class CustomerViewSet(ExternalIdUpsertMixin, DomainViewSet):
    """Customers the user may see (own, their teams'; agents: their tickets' customers)."""

    model = Customer
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["name"]
    search_blind_indexes = ("email", "phone")
    ordering_fields = ["id", "name", "created_at", "acquired_at", "churned_at", "health_score"]
    action_permissions = {"mark_churned": ("customers.change_customer",)}

    def visible_queryset(self) -> QuerySet:
        return customers_visible_to(self.request.user)

    @transaction.atomic
    def create_record(self, fields: dict[str, Any]) -> Customer:
        fields.setdefault("owner", self.actor)
        # customer_create takes the identity fields; the rest is an edit right after.
        later = {name: fields.pop(name) for name in CREATE_LATER if name in fields}
        customer = services.customer_create(**fields, actor=self.actor)
        if later:
            customer = services.customer_update(customer=customer, actor=self.actor, **later)
        return customer

    def update_record(self, record: Any, fields: dict[str, Any]) -> Customer:
        return services.customer_update(customer=record, actor=self.actor, **fields)

    @extend_schema(
        request=CustomerChurnSerializer,
        responses=CustomerSerializer,
        description=_("Record an explicit churn (contract ended or cancelled)."),
    )
    @action(detail=True, methods=["post"], url_path="mark-churned")
    def mark_churned(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        payload = CustomerChurnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        customer = services.customer_mark_churned(
            customer=customer, churned_at=payload.validated_data["churned_at"], actor=self.actor
        )
        return Response(self.get_serializer(customer).data)


class ContactViewSet(ExternalIdUpsertMixin, DomainViewSet):
    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name"]
    search_blind_indexes = ("email", "phone")
    ordering_fields = ["id", "last_name", "first_name", "created_at"]

    def visible_queryset(self) -> QuerySet:
        return Contact.objects.filter(
            customer__in=customers_visible_to(self.request.user).values("pk")
        )

    def create_record(self, fields: dict[str, Any]) -> Contact:
        return services.contact_create(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Contact:
        return services.contact_update(contact=record, **fields)


class TeamViewSet(DomainViewSet):
    model = Team
    serializer_class = TeamSerializer
    prefetch_related = ("members",)
    filterset_fields = ["manager"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at"]


class ChannelViewSet(DomainViewSet):
    model = Channel
    serializer_class = ChannelSerializer
    filterset_fields = ["is_paid", "is_active"]
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "name"]


class SegmentViewSet(DomainViewSet):
    model = Segment
    serializer_class = SegmentSerializer
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "name"]

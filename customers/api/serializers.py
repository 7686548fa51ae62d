from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from crm.api.fields import VisibleRelatedField
from crm.api.serializers import ApiDateTimeField, ApiModelSerializer
from customers.models import Channel, Contact, Customer, Segment, Team
from customers.selectors import customers_visible_to

User = get_user_model()


def user_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    """An active user's id (owner, assignee …)."""
    return serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), **kwargs
    )


def customer_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(
        selector=customers_visible_to, queryset=Customer.objects.all(), **kwargs
    )


class CustomerSerializer(ApiModelSerializer):
    owner = user_field(required=False, allow_null=True)
    referred_by = customer_field(required=False, allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "kind",
            "name",
            "email",
            "phone",
            "language",
            "owner",
            "team",
            "segment",
            "channel",
            "campaign",
            "referred_by",
            "status",
            "acquired_at",
            "churned_at",
            "contract_end_date",
            "created_at",
            "updated_at",
            "rfm_segment",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "health_score",
            "health_band",
        ]
        # Lifecycle dates are kept by the order/lead services, scores by the KPI run.
        read_only_fields = [
            "status",
            "acquired_at",
            "churned_at",
            "updated_at",
            "rfm_segment",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "health_score",
            "health_band",
        ]


class CustomerChurnSerializer(serializers.Serializer):
    churned_at = ApiDateTimeField()


class ContactSerializer(ApiModelSerializer):
    customer = customer_field()

    class Meta:
        model = Contact
        fields = [
            "id",
            "external_id",
            "customer",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "is_primary",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class TeamSerializer(ApiModelSerializer):
    manager = user_field(required=False, allow_null=True)
    members = user_field(many=True, required=False)

    class Meta:
        model = Team
        fields = ["id", "name", "manager", "members", "created_at"]
        read_only_fields = ["created_at"]


class ChannelSerializer(ApiModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "code", "name", "is_paid", "is_active"]


class SegmentSerializer(ApiModelSerializer):
    inactivity_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=36500
    )

    class Meta:
        model = Segment
        fields = ["id", "code", "name", "inactivity_days"]

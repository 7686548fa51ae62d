from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.fields import VisibleRelatedField
from crm.api.serializers import ApiDateTimeField, ApiModelSerializer
from customers.api.serializers import customer_field
from sales.models import Order
from sales.selectors import orders_visible_to
from support.api.serializers import ticket_field
from surveys.models import Survey, SurveyInvitation, SurveyResponse
from surveys.selectors import invitations_visible_to


def order_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(selector=orders_visible_to, queryset=Order.objects.all(), **kwargs)


def invitation_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(
        selector=invitations_visible_to, queryset=SurveyInvitation.objects.all(), **kwargs
    )


class SurveySerializer(ApiModelSerializer):
    class Meta:
        model = Survey
        fields = [
            "id",
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
        ]
        extra_kwargs = {
            "sampling_rate": {"min_value": Decimal("0.001"), "max_value": Decimal("1")},
        }


class SurveyInvitationSerializer(ApiModelSerializer):
    """The link token is not exposed: it would let anyone answer in the customer's name."""

    customer = customer_field()
    ticket = ticket_field(required=False, allow_null=True)
    order = order_field(required=False, allow_null=True)
    at = ApiDateTimeField(
        write_only=True, required=False, allow_null=True, help_text=_("Default: now.")
    )

    class Meta:
        model = SurveyInvitation
        fields = [
            "id",
            "survey",
            "customer",
            "ticket",
            "order",
            "status",
            "at",
            "created_at",
            "sent_at",
            "expires_at",
            "reminded_at",
        ]
        read_only_fields = ["status", "created_at", "sent_at", "expires_at", "reminded_at"]


class SurveyResponseSerializer(ApiModelSerializer):
    survey = serializers.PrimaryKeyRelatedField(
        queryset=Survey.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("With customer, when not answering an invitation."),
    )
    invitation = invitation_field(required=False, allow_null=True)
    customer = customer_field(required=False, allow_null=True)
    ticket = ticket_field(required=False, allow_null=True)
    order = order_field(required=False, allow_null=True)
    score = serializers.IntegerField(
        min_value=0, max_value=10, help_text=_("NPS 0–10, CSAT 1–5 (checked against the survey).")
    )
    responded_at = ApiDateTimeField(required=False, allow_null=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "external_id",
            "survey",
            "kind",
            "invitation",
            "customer",
            "ticket",
            "order",
            "score",
            "comment",
            "responded_at",
        ]
        read_only_fields = ["kind"]

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.fields import VisibleRelatedField
from crm.api.serializers import ApiDateTimeField, ApiModelSerializer
from customers.api.serializers import customer_field, user_field
from customers.models import Contact, Team
from customers.selectors import customers_visible_to
from support.models import Priority, SLAPolicy, Ticket, TicketMessage, TicketStatusChange
from support.selectors import tickets_visible_to
from support.services import TICKET_MERGE_FIELDS


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    return Contact.objects.filter(customer__in=customers_visible_to(user).values("pk"))


def contact_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(
        selector=contacts_visible_to, queryset=Contact.objects.all(), **kwargs
    )


def ticket_field(**kwargs: Any) -> VisibleRelatedField:
    return VisibleRelatedField(selector=tickets_visible_to, queryset=Ticket.objects.all(), **kwargs)


class TicketSerializer(ApiModelSerializer):
    customer = customer_field()
    contact = contact_field(required=False, allow_null=True)
    assignee = user_field(required=False, allow_null=True)
    body = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text=_("The first message of the ticket."),
    )
    allowed_transitions = serializers.SerializerMethodField(
        help_text=_("Statuses the ticket may move to from its current one.")
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "external_id",
            "subject",
            "body",
            "customer",
            "contact",
            "category",
            "channel",
            "priority",
            "status",
            "allowed_transitions",
            "assignee",
            "team",
            "opened_by_agent",
            "is_spam",
            "merged_into",
            "follow_up_of",
            "created_at",
            "sla_policy",
            "first_response_at",
            "first_solved_at",
            "last_solved_at",
            "closed_at",
            "reopen_count",
            "public_agent_replies",
            "first_response_business_minutes",
            "first_response_calendar_minutes",
            "resolution_business_minutes",
            "resolution_calendar_minutes",
            "first_response_due_at",
            "resolution_due_at",
            "next_response_due_at",
            "sla_first_response_met",
            "sla_resolution_met",
        ]
        # Status, routing and SLA clocks change only through the ticket actions and services.
        read_only_fields = [
            "status",
            "is_spam",
            "merged_into",
            "follow_up_of",
            "sla_policy",
            "first_response_at",
            "first_solved_at",
            "last_solved_at",
            "closed_at",
            "reopen_count",
            "public_agent_replies",
            "first_response_business_minutes",
            "first_response_calendar_minutes",
            "resolution_business_minutes",
            "resolution_calendar_minutes",
            "first_response_due_at",
            "resolution_due_at",
            "next_response_due_at",
            "sla_first_response_met",
            "sla_resolution_met",
        ]

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=Ticket.Status.choices))
    )
    def get_allowed_transitions(self, ticket: Ticket) -> list[str]:
        return sorted(Ticket.TRANSITIONS.get(ticket.status, frozenset()))


class TicketUpdateSerializer(TicketSerializer):
    """Descriptive fields only (support.services.ticket_update); routing via the assign action."""

    customer: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    assignee: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    body = None  # type: ignore[assignment]

    class Meta(TicketSerializer.Meta):
        fields = [name for name in TicketSerializer.Meta.fields if name != "body"]
        read_only_fields = [
            *TicketSerializer.Meta.read_only_fields,
            "team",
            "opened_by_agent",
            "created_at",
            "external_id",
        ]


class TicketTransitionSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=Ticket.Status.choices)
    at = ApiDateTimeField(required=False, allow_null=True)


class TicketAssignSerializer(serializers.Serializer):
    assignee = user_field(allow_null=True, help_text=_("null puts the ticket back in the queue."))
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Omitted or null keeps the current team."),
    )


class TicketMergeSerializer(serializers.Serializer):
    into = ticket_field(help_text=_("The surviving ticket (same customer)."))
    take_from_duplicate = serializers.MultipleChoiceField(
        choices=TICKET_MERGE_FIELDS,
        required=False,
        help_text=_("Fields whose value the surviving ticket takes from this ticket."),
    )


class TicketMessageSerializer(ApiModelSerializer):
    author_kind = serializers.ChoiceField(
        choices=TicketMessage.AuthorKind.choices,
        default=TicketMessage.AuthorKind.AGENT,
        help_text=_("agent: you write it; customer/system: an integration relays it."),
    )
    at = ApiDateTimeField(write_only=True, required=False, allow_null=True)

    class Meta:
        model = TicketMessage
        fields = [
            "id",
            "ticket",
            "author_kind",
            "author_user",
            "is_public",
            "automated",
            "body",
            "at",
            "created_at",
        ]
        read_only_fields = ["ticket", "author_user", "created_at"]


class TicketStatusChangeSerializer(ApiModelSerializer):
    class Meta:
        model = TicketStatusChange
        fields = ["id", "from_status", "to_status", "changed_at", "changed_by"]
        read_only_fields = fields


class SLAPolicySerializer(ApiModelSerializer):
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)

    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "position",
            "priority",
            "team",
            "segment",
            "schedule",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "pause_on_pending",
            "is_active",
        ]
        extra_kwargs = {
            "first_response_minutes": {"min_value": 1},
            "resolution_minutes": {"min_value": 1},
        }

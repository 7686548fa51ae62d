from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.viewsets import DomainViewSet, ExternalIdUpsertMixin
from support import services
from support.api import serializers as api
from support.filters import TicketFilter
from support.models import SLAPolicy, Ticket, TicketMessage
from support.selectors import tickets_visible_to


class TicketViewSet(ExternalIdUpsertMixin, DomainViewSet):
    """Tickets of the user's teams, assigned to them, or (reps, managers) of their customers."""

    model = Ticket
    serializer_class = api.TicketSerializer
    update_serializer_class = api.TicketUpdateSerializer
    filterset_class = TicketFilter
    search_fields = ["subject"]
    ordering_fields = ["id", "created_at", "priority", "status", "resolution_due_at"]
    action_permissions = {
        "transition": ("support.change_ticket",),
        "assign": ("support.change_ticket",),
        "mark_spam": ("support.change_ticket",),
        "merge": ("support.change_ticket",),
        # The conversation and its history are part of reading a ticket, as on the web page:
        # a rep who may see the ticket reads them too (writing stays with support staff).
        "messages": ("support.view_ticket",),
        "add_message": ("support.add_ticketmessage",),
        "status_history": ("support.view_ticket",),
    }

    def visible_queryset(self) -> QuerySet:
        return tickets_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> Ticket:
        if fields.get("opened_by_agent"):
            fields.setdefault("author", self.actor)
        return services.ticket_create(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Ticket:
        return services.ticket_update(ticket=record, actor=self.actor, **fields)

    def _reloaded(self, ticket: Ticket) -> Response:
        return Response(api.TicketSerializer(ticket, context=self.get_serializer_context()).data)

    @extend_schema(
        request=api.TicketTransitionSerializer,
        responses=api.TicketSerializer,
        description=_(
            "Move the ticket to another status. The moves allowed from the current status are "
            "in the ticket's `allowed_transitions` (support.models.Ticket.TRANSITIONS); any "
            "other is a 400."
        ),
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        payload = api.TicketTransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = services.ticket_status_change(
            ticket=ticket, actor=self.actor, **payload.validated_data
        )
        return self._reloaded(ticket)

    @extend_schema(request=api.TicketAssignSerializer, responses=api.TicketSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        payload = api.TicketAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = services.ticket_assign(
            ticket=ticket, actor=self.actor, notify_assignee=True, **payload.validated_data
        )
        return self._reloaded(ticket)

    @extend_schema(request=None, responses=api.TicketSerializer)
    @action(detail=True, methods=["post"], url_path="mark-spam")
    def mark_spam(self, request: Request, pk: str) -> Response:
        ticket = services.ticket_mark_spam(ticket=self.get_object(), actor=self.actor)
        return self._reloaded(ticket)

    @extend_schema(
        request=api.TicketMergeSerializer,
        responses=api.TicketSerializer,
        description=_("Close this ticket as a duplicate of another of the same customer."),
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        duplicate = self.get_object()
        payload = api.TicketMergeSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        payload.is_valid(raise_exception=True)
        into = services.ticket_merge(
            duplicate=duplicate,
            into=payload.validated_data["into"],
            take_from_duplicate=payload.validated_data.get("take_from_duplicate", ()),
            actor=self.actor,
        )
        return self._reloaded(into)

    @extend_schema(responses=api.TicketMessageSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def messages(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        messages = TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "id")
        return Response(api.TicketMessageSerializer(messages, many=True).data)

    @extend_schema(
        request=api.TicketMessageSerializer,
        responses={201: api.TicketMessageSerializer},
        description=_(
            "Add a message. A public agent reply counts as the first response; a customer "
            "message reopens a pending or solved ticket, and on a closed ticket starts a "
            "follow-up ticket (the returned message's `ticket`)."
        ),
    )
    @messages.mapping.post
    def add_message(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        payload = api.TicketMessageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        author_kind = fields["author_kind"]
        message = services.ticket_message_add(
            ticket=ticket,
            body=fields["body"],
            author_kind=author_kind,
            author_user=self.actor if author_kind == TicketMessage.AuthorKind.AGENT else None,
            is_public=fields.get("is_public", True),
            automated=fields.get("automated", False),
            at=fields.get("at"),
        )
        return Response(api.TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=api.TicketStatusChangeSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="status-history",
        pagination_class=None,
        filter_backends=[],
    )
    def status_history(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        changes = ticket.status_changes.order_by("changed_at", "id")
        return Response(api.TicketStatusChangeSerializer(changes, many=True).data)


class SLAPolicyViewSet(DomainViewSet):
    model = SLAPolicy
    serializer_class = api.SLAPolicySerializer
    filterset_fields = ["is_active", "priority", "team", "segment", "schedule"]
    search_fields = ["name"]
    ordering_fields = ["id", "position", "name"]

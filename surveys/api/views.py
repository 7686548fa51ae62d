from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.api.viewsets import DomainViewSet, ExternalIdUpsertMixin
from surveys import services
from surveys.api import serializers as api
from surveys.filters import SurveyResponseFilter
from surveys.models import Survey, SurveyInvitation, SurveyResponse
from surveys.selectors import invitations_visible_to, responses_visible_to


class SurveyViewSet(DomainViewSet):
    model = Survey
    serializer_class = api.SurveySerializer
    filterset_fields = ["kind", "trigger", "is_active"]
    search_fields = ["name"]
    ordering_fields = ["id", "name"]


class SurveyInvitationViewSet(DomainViewSet):
    """Invitations are created and read; their delivery state belongs to the sending task."""

    model = SurveyInvitation
    serializer_class = api.SurveyInvitationSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    filterset_fields = ["survey", "customer", "status", "ticket", "order"]
    ordering_fields = ["id", "created_at", "sent_at"]

    def visible_queryset(self) -> QuerySet:
        return invitations_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> SurveyInvitation:
        return services.survey_invitation_create(**fields)


class SurveyResponseViewSet(ExternalIdUpsertMixin, DomainViewSet):
    """Answers; recording one with a known external id (or invitation) updates it."""

    model = SurveyResponse
    serializer_class = api.SurveyResponseSerializer
    http_method_names = ["get", "post", "put", "delete", "head", "options"]
    filterset_class = SurveyResponseFilter
    # Comments are encrypted at rest, so they cannot be searched by substring: search finds the
    # answers of customers by name (has_comment filters on whether there is a comment).
    search_fields = ["customer__name"]
    ordering_fields = ["id", "responded_at", "score"]

    def visible_queryset(self) -> QuerySet:
        return responses_visible_to(self.request.user)

    def create_record(self, fields: dict[str, Any]) -> SurveyResponse:
        fields["at"] = fields.pop("responded_at", None)
        return services.survey_response_record(**fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> SurveyResponse:
        # The service updates the response it finds by invitation or external id (idempotent).
        if record.invitation_id is not None:
            fields.update(invitation=record.invitation, survey=None, customer=None)
        elif record.external_id:
            fields.update(
                external_id=record.external_id, survey=record.survey, customer=record.customer
            )
        else:
            raise ValidationError(
                _("Only a response to an invitation or with an external id can be re-recorded.")
            )
        return self.create_record(fields)

"""The base viewset every /api/v1/ resource derives from.

A resource says which rows the user may see (`visible_queryset`, from the app's selectors) and how
a record is created and updated (`create_record` / `update_record`, calling the app's services).
Everything else — authentication, role permissions, throttling, paging with a stable order,
filtering, CSV/XLSX export and turning service refusals into 400s — is shared here.
"""

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from knox.auth import TokenAuthentication
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from crm.api.exceptions import api_exception_handler
from crm.api.filtering import SafeSearchFilter, StableOrderingFilter
from crm.api.metadata import ApiMetadata
from crm.api.pagination import StablePageNumberPagination
from crm.api.parsers import DepthLimitedJSONParser
from crm.api.permissions import RoleModelPermissions
from crm.api.records import record_create, record_update
from crm.api.renderers import EXPORT_FORMATS, CSVRenderer, XLSXRenderer
from crm.api.throttling import AnonymousRateThrottle, SessionUserRateThrottle, TokenRateThrottle

API_AUTHENTICATION: list[type[BaseAuthentication]] = [TokenAuthentication, SessionAuthentication]
API_THROTTLES: list[type[BaseThrottle]] = [
    AnonymousRateThrottle,
    TokenRateThrottle,
    SessionUserRateThrottle,
]


class ApiViewMixin(APIView):
    # Authentication, throttling and error handling of every API view, whatever the settings say.

    authentication_classes: Sequence[type[BaseAuthentication]] = API_AUTHENTICATION
    throttle_classes: Sequence[type[BaseThrottle]] = API_THROTTLES
    parser_classes: Sequence[type[BaseParser]] = [
        DepthLimitedJSONParser,
        FormParser,
        MultiPartParser,
    ]
    metadata_class: Any = ApiMetadata
    # Query parameters an action reads itself, beyond paging, filters, ordering, search, format.
    extra_query_parameters: ClassVar[dict[str, frozenset[str]]] = {}

    def allowed_query_parameters(self) -> set[str]:
        """Every query parameter this request's action understands: format everywhere; on a list
        also paging and the parameters of its filter backends (the same ones the schema shows)."""
        action = getattr(self, "action", None)
        allowed = {str(api_settings.URL_FORMAT_OVERRIDE)}
        allowed |= self.extra_query_parameters.get(str(action), frozenset())
        if action != "list":
            return allowed
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            allowed.add(paginator.page_query_param)
            if getattr(paginator, "page_size_query_param", None):
                allowed.add(paginator.page_size_query_param)
        view: Any = self
        for backend_class in getattr(self, "filter_backends", ()):
            backend = backend_class()
            if isinstance(backend, DjangoFilterBackend):
                filterset_class = backend.get_filterset_class(view, view.get_queryset())
                if filterset_class is not None:
                    allowed |= filter_parameter_names(filterset_class)
            elif isinstance(backend, OrderingFilter):
                allowed.add(backend.ordering_param)
            elif isinstance(backend, SearchFilter) and getattr(self, "search_fields", None):
                allowed.add(backend.search_param)
        return allowed

    def refuse_unknown_query_parameters(self, request: Request) -> None:
        """A misspelt filter must not quietly return every row: 400 naming each unknown one."""
        unknown = sorted(set(request.query_params) - self.allowed_query_parameters())
        if unknown:
            raise ValidationError({name: [_("Unknown query parameter.")] for name in unknown})

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and renderer.format in EXPORT_FORMATS:
            # An error is a JSON body like everywhere else, even when CSV/XLSX was asked for.
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """DRF's initial(), with throttling before the permission check.

        Otherwise an anonymous client is refused (401) before its requests are counted, and
        could probe the API at any rate.
        """
        view: Any = self
        view.format_kwarg = view.get_format_suffix(**kwargs)
        renderer, media_type = view.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = renderer, media_type
        request.version, request.versioning_scheme = view.determine_version(
            request, *args, **kwargs
        )
        view.perform_authentication(request)
        view.check_throttles(request)
        view.check_permissions(request)
        view.refuse_unknown_query_parameters(request)


def filter_parameter_names(filterset_class: Any) -> set[str]:
    """Query parameter names of a FilterSet: a range filter reads name_after/name_before etc."""
    names: set[str] = set()
    for name, declared in filterset_class.base_filters.items():
        widget = declared.field.widget
        suffixes = getattr(widget, "suffixes", None)
        if suffixes:
            names.update(widget.suffixed(name, suffix) for suffix in suffixes)
        else:
            names.add(name)
    return names


class DomainReadOnlyViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [RoleModelPermissions]
    pagination_class = StablePageNumberPagination
    filter_backends = [DjangoFilterBackend, StableOrderingFilter, SafeSearchFilter]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    # Every id reaches the view, so a malformed one is a JSON 404 rather than an HTML page.
    lookup_value_regex = r"[^/]+"
    # Permissions a custom @action needs, instead of the HTTP-method default.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {}
    select_related: ClassVar[tuple[str, ...]] = ()
    prefetch_related: ClassVar[tuple[str, ...]] = ()
    model: ClassVar[type[models.Model]]
    # Fields fixed after creation are read-only in this serializer (same shape as the main one).
    update_serializer_class: ClassVar[type[serializers.BaseSerializer] | None] = None

    # --- what a resource defines -------------------------------------------------------------
    def visible_queryset(self) -> QuerySet:
        """Rows the requesting user may see; default: all (reference data, role-gated)."""
        return self.model._default_manager.all()

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        return record_create(model=self.model, fields=fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        return record_update(record=record, fields=fields)

    # --- shared plumbing --------------------------------------------------------------------
    def get_queryset(self) -> QuerySet:
        queryset = self.visible_queryset()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.update_serializer_class is not None and self.action in {
            "update",
            "partial_update",
        }:
            return self.update_serializer_class
        return super().get_serializer_class()

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = list(super().get_renderers())
        if getattr(self, "action", None) == "list":
            renderers.extend([CSVRenderer(), XLSXRenderer()])
        return renderers

    def paginate_queryset(self, queryset: QuerySet) -> Any:
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and renderer.format in EXPORT_FORMATS:
            return None  # an export is the whole filtered list, not one page
        return super().paginate_queryset(queryset)

    @property
    def actor(self) -> Any:
        return self.request.user

    def within_visibility(self, save: Callable[[], models.Model]) -> models.Model:
        """Run a create or an update and refuse — rolled back, 400 — a result the user could not
        see: a rep may not file a customer under another team, nor move a deal there."""
        with transaction.atomic():
            record = save()
            if not self.visible_queryset().filter(pk=record.pk).exists():
                raise ValidationError(
                    {
                        "non_field_errors": [
                            _(
                                "You could not see this record once saved (its team, owner or "
                                "customer is outside what your role may see); nothing was saved."
                            )
                        ]
                    }
                )
        return record


class DomainViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    DomainReadOnlyViewSet,
):
    """List, retrieve, create, update, partial update and delete, as the role allows."""

    # Defined here, not on the read-only base: the DRF mixins above would otherwise win the MRO
    # and save through the serializer, bypassing the services.
    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = self.within_visibility(lambda: self.create_record(fields))

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        record, fields = serializer.instance, dict(serializer.validated_data)
        serializer.instance = self.within_visibility(lambda: self.update_record(record, fields))


EXTERNAL_ID_PARAMETER = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=_("The record's id in the integrating system."),
)


class ExternalIdUpsertMixin:
    """`PUT …/by-external-id/<external_id>/`: create the record or update it, for repeated syncs."""

    @extend_schema(
        parameters=[EXTERNAL_ID_PARAMETER],
        description=_(
            "Create the record with this external id (201), or update the visible record that "
            "has it (200). The external id in the body, if any, is ignored."
        ),
    )
    @action(
        detail=False,
        methods=["put"],
        url_path=r"by-external-id/(?P<external_id>[^/]+)",
        url_name="upsert",
    )
    def upsert(self, request: Request, external_id: str) -> Response:
        view: Any = self
        if "\x00" in external_id or len(external_id) > 100:
            raise Http404
        model = view.model
        existing = model._default_manager.filter(external_id=external_id).first()
        if existing is not None:
            if not view.get_queryset().filter(pk=existing.pk).exists():
                raise Http404
            view.check_object_permissions(request, existing)
            update_class = view.update_serializer_class or view.get_serializer_class()
            serializer = update_class(
                existing, data=request.data, context=view.get_serializer_context()
            )
            serializer.is_valid(raise_exception=True)
            fields = dict(serializer.validated_data)
            fields.pop("external_id", None)
            record = view.within_visibility(lambda: view.update_record(existing, fields))
            return Response(view.get_serializer(record).data, status=status.HTTP_200_OK)
        opts = model._meta
        if not request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}"):
            raise PermissionDenied
        serializer = view.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields["external_id"] = external_id
        record = view.within_visibility(lambda: view.create_record(fields))
        return Response(view.get_serializer(record).data, status=status.HTTP_201_CREATED)

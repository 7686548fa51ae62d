from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.permissions import IsCrmAdmin
from crm.api.viewsets import ApiViewMixin, DomainReadOnlyViewSet, DomainViewSet
from kpis import services
from kpis.api import serializers as api
from kpis.definitions import UnknownKpiError, registry
from kpis.models import (
    Alert,
    AlertRule,
    Granularity,
    IndexSnapshot,
    KpiSnapshot,
    Target,
    WeightVersion,
)
from kpis.selectors import (
    cells_in_scope,
    drilldown_records_visible_to,
    kpi_scope_for,
    snapshot_drilldown,
    snapshots_visible_to,
)


class KpiCatalogueViewSet(ApiViewMixin, viewsets.ViewSet):
    """The KPI catalogue: every definition with its formula, unit, direction and dimensions."""

    permission_classes = [IsAuthenticated]
    lookup_field = "key"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses=api.KpiDefinitionSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(api.KpiDefinitionSerializer(registry.all(), many=True).data)

    @extend_schema(responses=api.KpiDefinitionSerializer)
    def retrieve(self, request: Request, key: str) -> Response:
        if key not in registry:
            raise Http404
        return Response(api.KpiDefinitionSerializer(registry.get(key)).data)


class KpiSnapshotFilter(django_filters.FilterSet):
    kpi = django_filters.CharFilter(help_text=_("KPI key, see the catalogue."))
    granularity = django_filters.ChoiceFilter(choices=Granularity.choices)
    dimension = django_filters.CharFilter()
    dimension_value = django_filters.CharFilter()
    period_start = django_filters.DateFromToRangeFilter(
        help_text=_("period_start_after / period_start_before (inclusive dates).")
    )
    provisional = django_filters.BooleanFilter()

    class Meta:
        model = KpiSnapshot
        fields = ["kpi", "granularity", "dimension", "dimension_value", "provisional"]


PART_PARAMETER = OpenApiParameter(
    "part",
    OpenApiTypes.STR,
    enum=["numerator", "denominator"],
    description=_("Which side of the ratio to list; default numerator."),
)


class KpiSnapshotViewSet(DomainReadOnlyViewSet):
    """Stored KPI history: one row per KPI, granularity, period, dimension and value."""

    model = KpiSnapshot
    serializer_class = api.KpiSnapshotSerializer
    filterset_class = KpiSnapshotFilter
    ordering_fields = ["id", "kpi", "period_start", "value"]
    extra_query_parameters = {"drilldown": frozenset({"part", "page", "page_size"})}

    def visible_queryset(self) -> QuerySet:
        # The cells of the user's KPI scope, as on the KPI pages (kpi_scope_for).
        return snapshots_visible_to(self.request.user)

    @extend_schema(
        parameters=[PART_PARAMETER],
        responses=api.DrilldownRecordSerializer(many=True),
        description=_(
            "The records behind the snapshot's numerator or denominator (current values, "
            "limited to what you may see), paginated. 404 where a KPI has no record list."
        ),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def drilldown(self, request: Request, pk: str) -> Response:
        snapshot = self.get_object()
        part = request.query_params.get("part", "numerator")
        if part not in {"numerator", "denominator"}:
            raise ValidationError({"part": [_("Use numerator or denominator.")]})
        try:
            records = snapshot_drilldown(
                kpi=snapshot.kpi,
                granularity=snapshot.granularity,
                period_start=snapshot.period_start,
                dimension=snapshot.dimension,
                dimension_value=snapshot.dimension_value,
                part=part,
            )
        except (UnknownKpiError, KeyError, ValueError) as exc:
            raise Http404 from exc
        if records is None:
            raise Http404
        records = drilldown_records_visible_to(records, request.user).order_by("pk")
        page = self.paginate_queryset(records)
        rows = page if page is not None else list(records)
        data = api.DrilldownRecordSerializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class IndexSnapshotViewSet(DomainReadOnlyViewSet):
    """The composite index per period and weight version, with group scores and contributions."""

    model = IndexSnapshot
    serializer_class = api.IndexSnapshotSerializer
    prefetch_related = ("groups", "contributions")
    filterset_fields = {
        "granularity": ["exact"],
        "version": ["exact"],
        "published": ["exact"],
        "period_start": ["gte", "lte"],
    }
    ordering_fields = ["id", "period_start", "value"]

    def visible_queryset(self) -> QuerySet:
        # The index is an organisation figure: scoped users (reps, agents, team managers) have none.
        queryset = super().visible_queryset()
        return queryset if kpi_scope_for(self.request.user).is_organisation else queryset.none()


class WeightVersionViewSet(DomainReadOnlyViewSet):
    """Index and health weight versions: a POST copies one into a new draft, PATCH edits the
    draft, activate applies it. The weights are an admin decision: only admins write here,
    through the same kpis.index services as the admin's weight editor."""

    model = WeightVersion
    serializer_class = api.WeightVersionSerializer
    prefetch_related = ("indicators", "groups")
    filterset_fields = ["status"]
    ordering_fields = ["id", "created_at"]
    ADMIN_ACTIONS = frozenset({"create", "partial_update", "activate"})

    def get_permissions(self) -> Any:
        if getattr(self, "action", None) in self.ADMIN_ACTIONS:
            return [IsCrmAdmin()]
        return super().get_permissions()

    def _reloaded(self, version: WeightVersion) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(
        request=api.WeightVersionEditSerializer,
        responses=api.WeightVersionSerializer,
        description=_(
            "Edit a draft: name, notes, minimum coverage, bands, health settings, and the "
            "indicator and group weights with their priorities (a list given replaces all of "
            "the draft's rows). An active or retired version cannot change (400)."
        ),
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        payload = api.WeightVersionEditSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        for rows in ("indicators", "groups"):
            if rows in changes:
                changes[rows] = [
                    {name: value for name, value in row.items() if value is not None}
                    for row in changes[rows]
                ]
        services.weight_version_update(version=version, actor=request.user, **changes)
        return self._reloaded(version)

    @extend_schema(
        request=api.WeightVersionDraftSerializer, responses={201: api.WeightVersionSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = api.WeightVersionDraftSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        draft = services.weight_version_create_draft(
            actor=request.user,
            source=payload.validated_data.get("source"),
            name=payload.validated_data.get("name", ""),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=draft.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=api.WeightVersionSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        version = services.weight_version_activate(version=self.get_object(), actor=request.user)
        return self._reloaded(version)


class TargetViewSet(DomainViewSet):
    """Goals for a KPI and period; relative kinds resolve against a baseline period."""

    model = Target
    serializer_class = api.TargetSerializer
    filterset_fields = ["kpi", "granularity", "dimension", "kind"]
    ordering_fields = ["id", "kpi", "period_start"]

    def create_record(self, fields: dict[str, Any]) -> Target:
        return services.target_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> Target:
        return services.target_update(target=record, **fields)


class AlertRuleViewSet(DomainViewSet):
    """What to watch: thresholds and/or % change of one KPI cell."""

    model = AlertRule
    serializer_class = api.AlertRuleSerializer
    prefetch_related = ("recipients",)
    filterset_fields = ["kpi", "granularity", "is_active"]
    search_fields = ["name"]
    ordering_fields = ["id", "kpi", "name"]

    def create_record(self, fields: dict[str, Any]) -> AlertRule:
        return services.alert_rule_create(**fields, actor=self.actor)

    def update_record(self, record: Any, fields: dict[str, Any]) -> AlertRule:
        return services.alert_rule_update(rule=record, **fields)


class AlertViewSet(DomainReadOnlyViewSet):
    """Firing episodes of the alert rules; acknowledge and resolve are the only changes."""

    model = Alert
    serializer_class = api.AlertSerializer
    filterset_fields = ["state", "rule", "granularity"]
    ordering_fields = ["id", "fired_at", "period_start"]
    action_permissions = {
        "acknowledge": ("kpis.change_alert",),
        "resolve": ("kpis.change_alert",),
    }

    def visible_queryset(self) -> QuerySet:
        # The cells of the user's KPI scope, as on the KPI pages (kpi_scope_for).
        return cells_in_scope(
            super().visible_queryset(), kpi_scope_for(self.request.user), via="rule__"
        )

    @extend_schema(request=None, responses=api.AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        alert = services.alert_acknowledge(alert=self.get_object(), actor=request.user)
        return Response(self.get_serializer(alert).data)

    @extend_schema(request=None, responses=api.AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        alert = services.alert_resolve(alert=self.get_object(), actor=request.user)
        return Response(self.get_serializer(alert).data)

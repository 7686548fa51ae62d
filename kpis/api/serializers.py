from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.serializers import ApiModelSerializer
from customers.api.serializers import user_field
from kpis.models import (
    Alert,
    AlertRule,
    Direction,
    GroupScore,
    GroupWeight,
    IndexContribution,
    IndexSnapshot,
    IndicatorWeight,
    KpiSnapshot,
    LifecycleGroup,
    Normalisation,
    Target,
    WeightVersion,
)
from kpis.selectors import EXPORT_COLUMNS


class KpiDefinitionSerializer(serializers.Serializer):
    """One KPI of the catalogue, read from kpis.definitions.registry."""

    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    stage = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.CharField()
    dimensions = serializers.ListField(child=serializers.CharField())
    formula = serializers.CharField()
    period_rule = serializers.CharField()
    min_sample = serializers.IntegerField()
    maturity_days = serializers.IntegerField()
    version = serializers.IntegerField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "key": instance.key,
            "name": str(instance.name),
            "description": str(instance.description),
            "stage": instance.stage,
            "unit": instance.unit,
            "direction": instance.direction,
            "dimensions": list(instance.dimensions),
            "formula": str(instance.formula),
            "period_rule": str(instance.period_rule),
            "min_sample": instance.min_sample,
            "maturity_days": instance.maturity_days,
            "version": instance.version,
        }


class KpiSnapshotSerializer(ApiModelSerializer):
    class Meta:
        model = KpiSnapshot
        # The one export column set of a snapshot, with what only the API adds around it.
        fields = [
            "id",
            *EXPORT_COLUMNS,
            "dimension_label",
            "details",
            "computed_at",
            "definition_version",
        ]
        read_only_fields = fields


class DrilldownRecordSerializer(serializers.Serializer):
    model = serializers.CharField(help_text=_("app_label.model of the record, e.g. sales.order."))
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"model": instance._meta.label_lower, "id": instance.pk, "label": str(instance)}


class GroupScoreSerializer(ApiModelSerializer):
    class Meta:
        model = GroupScore
        fields = ["group", "weight", "score", "effective_share", "coverage"]
        read_only_fields = fields


class IndexContributionSerializer(ApiModelSerializer):
    class Meta:
        model = IndexContribution
        fields = [
            "kpi",
            "group",
            "weight",
            "raw_value",
            "normalised_score",
            "effective_share",
            "contribution",
            "present",
            "missing_reason",
        ]
        read_only_fields = fields


class IndexSnapshotSerializer(ApiModelSerializer):
    groups = GroupScoreSerializer(many=True, read_only=True)
    contributions = IndexContributionSerializer(many=True, read_only=True)

    class Meta:
        model = IndexSnapshot
        fields = [
            "id",
            "granularity",
            "period_start",
            "period_end",
            "version",
            "value",
            "coverage",
            "band",
            "published",
            "computed_at",
            "groups",
            "contributions",
        ]
        read_only_fields = fields


class IndicatorWeightSerializer(ApiModelSerializer):
    class Meta:
        model = IndicatorWeight
        fields = [
            "kpi",
            "group",
            "weight",
            "priority",
            "direction",
            "normalisation",
            "best",
            "worst",
            "target",
        ]
        read_only_fields = fields


class GroupWeightSerializer(ApiModelSerializer):
    class Meta:
        model = GroupWeight
        fields = ["group", "weight", "priority"]
        read_only_fields = fields


class WeightVersionSerializer(ApiModelSerializer):
    indicators = IndicatorWeightSerializer(many=True, read_only=True)
    groups = GroupWeightSerializer(many=True, read_only=True)

    class Meta:
        model = WeightVersion
        fields = [
            "id",
            "name",
            "status",
            "based_on",
            "min_coverage",
            "bands",
            "health_config",
            "health_bands",
            "notes",
            "created_by",
            "created_at",
            "activated_by",
            "activated_at",
            "retired_at",
            "indicators",
            "groups",
        ]
        read_only_fields = fields


class WeightVersionDraftSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=WeightVersion.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Version to copy; default the active one."),
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


# Numbers in the JSON settings (bands, health components) stay in a range the index can
# compute with: JSON allows 1e400, which would become an infinite weight.
JSON_NUMBER_LIMIT = Decimal("1e12")


def _finite_settings(rows: list[Any]) -> None:
    for row in rows:
        for value in row.values():
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                continue
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) > JSON_NUMBER_LIMIT:
                raise serializers.ValidationError(_("Numbers must be finite and at most 1e12."))


def settings_rows_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.DictField(),
        max_length=50,
        required=False,
        validators=[_finite_settings],
        **kwargs,
    )


class IndicatorWeightInputSerializer(serializers.Serializer):
    """One KPI of a draft; kpis.index.validate_indicators checks the rows together."""

    kpi = serializers.CharField(max_length=50)
    group = serializers.ChoiceField(choices=LifecycleGroup.choices)
    weight = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0"))
    priority = serializers.IntegerField(min_value=0, max_value=32767, default=0)
    normalisation = serializers.ChoiceField(
        choices=Normalisation.choices, default=Normalisation.BOUNDED_LINEAR
    )
    direction = serializers.ChoiceField(
        choices=Direction.choices,
        required=False,
        allow_null=True,
        help_text=_("Implied by best/worst for bounded linear; default the KPI's direction."),
    )
    best = serializers.DecimalField(
        max_digits=24, decimal_places=6, required=False, allow_null=True
    )
    worst = serializers.DecimalField(
        max_digits=24, decimal_places=6, required=False, allow_null=True
    )
    target = serializers.DecimalField(
        max_digits=24, decimal_places=6, required=False, allow_null=True
    )


class GroupWeightInputSerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=LifecycleGroup.choices)
    weight = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0"))
    priority = serializers.IntegerField(min_value=0, max_value=32767, default=0)


class WeightVersionEditSerializer(serializers.Serializer):
    """A draft's changes; `indicators` and `groups`, when given, replace all of its rows."""

    name = serializers.CharField(max_length=100, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    min_coverage = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
    )
    bands = settings_rows_field(help_text=_("[{name, min, max}] tiling 0–100."))
    health_bands = settings_rows_field(help_text=_("[{name, min, max}] tiling 0–100."))
    health_config = settings_rows_field(help_text=_("[{component, weight, best, worst}]."))
    indicators = IndicatorWeightInputSerializer(many=True, required=False)
    groups = GroupWeightInputSerializer(many=True, required=False)


class TargetSerializer(ApiModelSerializer):
    class Meta:
        model = Target
        fields = [
            "id",
            "kpi",
            "dimension",
            "dimension_value",
            "granularity",
            "period_start",
            "kind",
            "amount",
            "baseline_period_start",
            "notes",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]


class AlertRuleSerializer(ApiModelSerializer):
    recipients = user_field(many=True, required=False)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "kpi",
            "dimension",
            "dimension_value",
            "granularity",
            "lower_threshold",
            "upper_threshold",
            "change_pct",
            "fire_after",
            "resolve_after",
            "recipients",
            "is_active",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]


class AlertSerializer(ApiModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "state",
            "granularity",
            "period_start",
            "period_end",
            "value",
            "message",
            "fired_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields

"""The weight version editor's form: every row of a version as plain inputs in display units.

Rates are typed in % and stored as fractions, durations in minutes or days, money in the
organisation currency; bands and health components are rows, never JSON. `service_changes()`
turns the cleaned inputs into the arguments of `kpis.services.weight_version_update`, which
validates them; its messages come back to the section they concern (`section_errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kpis import charts
from kpis.definitions import registry
from kpis.index import HEALTH_COMPONENTS, bounded_linear_unit_bounds
from kpis.models import (
    Direction,
    GroupWeight,
    IndicatorWeight,
    LifecycleGroup,
    Normalisation,
    WeightVersion,
)

HUNDRED = Decimal(100)
SECTIONS = ("indicators", "groups", "bands", "health_bands", "health_config")
EXTRA_BAND_ROWS = 1
PRIORITY_HELP = _(
    "1 ranks first, 0 means no priority. Priority orders the groups and KPIs on the overview, "
    "the index page, the waterfall and the digests, and ranks alerts: a high-priority KPI's "
    "alert is listed first. It does not change the index value."
)
# Display unit of each health component's raw measure (see kpis.health).
HEALTH_UNITS = {
    "recency": charts.UNIT_DAYS,
    "frequency": charts.UNIT_COUNT,
    "monetary": charts.UNIT_MONEY,
    "open_complaints": charts.UNIT_COUNT,
    "satisfaction": charts.UNIT_SCORE,
    "engagement": charts.UNIT_COUNT,
    "p_alive": charts.UNIT_SCORE,
}
HEALTH_LABELS = {
    "recency": _("Recency (days since the last order)"),
    "frequency": _("Frequency (order days in 365 days)"),
    "monetary": _("Monetary (net revenue in 365 days)"),
    "open_complaints": _("Open complaints"),
    "satisfaction": _("Satisfaction (latest NPS/CSAT, 0–100)"),
    "engagement": _("Engagement (interactions in 90 days)"),
    "p_alive": _("Probability still active (0–100)"),
}


def unit_suffix(unit: str) -> str:
    if unit == charts.UNIT_RATE:
        return "%"
    if unit == charts.UNIT_MONEY:
        return settings.CRM_CURRENCY
    if unit == charts.UNIT_MINUTES:
        return str(_("min"))
    if unit == charts.UNIT_DAYS:
        return str(_("days"))
    return ""


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form (20.000 → 20, not 2E+1)."""
    return Decimal(format(value.normalize(), "f"))


def to_display(value: Decimal | None, unit: str) -> Decimal | None:
    """A stored bound as typed on the page: a fraction becomes a percentage."""
    if value is None:
        return None
    return plain(value * HUNDRED if unit == charts.UNIT_RATE else value)


def to_stored(value: Decimal | None, unit: str) -> Decimal | None:
    if value is None:
        return None
    return value / HUNDRED if unit == charts.UNIT_RATE else value


def _number(**attrs: Any) -> forms.NumberInput:
    return forms.NumberInput(
        attrs={"step": "any", "class": "form-control form-control-sm", **attrs}
    )


def _decimal(*, required: bool = False, attrs: dict[str, str] | None = None) -> forms.DecimalField:
    return forms.DecimalField(required=required, widget=_number(**(attrs or {})))


def _priority() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=0,
        max_value=999,
        initial=0,
        help_text=PRIORITY_HELP,
        widget=_number(step="1", min="0"),
    )


def _select(choices: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )


@dataclass
class IndicatorRow:
    kpi: str
    name: str
    unit: str
    suffix: str
    missing: bool
    fields: dict[str, forms.BoundField] = field(default_factory=dict)


@dataclass
class GroupSection:
    group: str
    label: str
    fields: dict[str, forms.BoundField]
    indicators: list[IndicatorRow]


class WeightVersionForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    min_coverage = forms.DecimalField(
        label=_("Minimum coverage (%)"),
        min_value=Decimal(0),
        max_value=HUNDRED,
        help_text=_("Below this share of present weight a period's index is not published."),
        widget=_number(min="0", max="100"),
    )
    new_kpi = forms.ChoiceField(label=_("Add a KPI"), required=False)
    new_group = forms.ChoiceField(
        label=_("to group"), required=False, choices=LifecycleGroup.choices
    )

    def __init__(
        self,
        *args: Any,
        version: WeightVersion,
        indicators: list[IndicatorWeight],
        groups: list[GroupWeight],
        missing: set[str] | None = None,
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        self.version = version
        self.indicators = indicators
        self.missing = missing or set()
        self.section_errors: dict[str, list[str]] = {}
        initial: dict[str, Any] = {
            "name": version.name,
            "notes": version.notes,
            "min_coverage": plain(version.min_coverage * HUNDRED),
        }
        group_rows = {g.group: g for g in groups}
        for group in LifecycleGroup.values:
            group_row = group_rows.get(group)
            initial[f"group_{group}_weight"] = plain(group_row.weight) if group_row else Decimal(0)
            initial[f"group_{group}_priority"] = group_row.priority if group_row else 0
        for indicator in indicators:
            unit = charts.kpi_presentation(indicator.kpi).unit
            prefix = f"ind_{indicator.kpi}_"
            initial.update(
                {
                    prefix + "group": indicator.group,
                    prefix + "weight": plain(indicator.weight),
                    prefix + "priority": indicator.priority,
                    prefix + "direction": indicator.direction,
                    prefix + "normalisation": indicator.normalisation,
                    prefix + "best": to_display(indicator.best, unit),
                    prefix + "worst": to_display(indicator.worst, unit),
                    prefix + "target": to_display(indicator.target, unit),
                }
            )
        for kind, bands in (("band", version.bands), ("hband", version.health_bands)):
            for n, band in enumerate(bands):
                initial[f"{kind}_{n}_name"] = band.get("name", "")
                initial[f"{kind}_{n}_min"] = band.get("min")
                initial[f"{kind}_{n}_max"] = band.get("max")
        health = {row.get("component"): row for row in version.health_config}
        for component in HEALTH_COMPONENTS:
            row = health.get(component)
            initial[f"health_{component}_on"] = row is not None
            if row is not None:
                initial[f"health_{component}_weight"] = row.get("weight")
                initial[f"health_{component}_best"] = row.get("best")
                initial[f"health_{component}_worst"] = row.get("worst")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

        for group in LifecycleGroup.values:
            self.fields[f"group_{group}_weight"] = _decimal(
                required=True, attrs={"min": "0", "data-weight": "group", "data-group": group}
            )
            self.fields[f"group_{group}_priority"] = _priority()
        for row in indicators:
            prefix = f"ind_{row.kpi}_"
            self.fields[prefix + "group"] = _select(LifecycleGroup.choices)
            self.fields[prefix + "weight"] = _decimal(
                required=True,
                attrs={
                    "min": "0",
                    "data-weight": "indicator",
                    "data-group": row.group,
                    "data-missing": "1" if row.kpi in self.missing else "0",
                },
            )
            self.fields[prefix + "priority"] = _priority()
            self.fields[prefix + "direction"] = _select(Direction.choices)
            self.fields[prefix + "normalisation"] = _select(Normalisation.choices)
            self.fields[prefix + "best"] = _decimal()
            self.fields[prefix + "worst"] = _decimal()
            self.fields[prefix + "target"] = _decimal()
            self.fields[prefix + "remove"] = forms.BooleanField(required=False)
        present = {row.kpi for row in indicators}
        stages = dict(LifecycleGroup.choices)
        new_kpi = self.fields["new_kpi"]
        assert isinstance(new_kpi, forms.ChoiceField)
        new_kpi.choices = [("", "—")] + [
            (d.key, f"{stages.get(d.stage, d.stage)} · {d.name}")
            for d in registry.all()
            if d.key not in present
        ]
        for kind, bands in (("band", version.bands), ("hband", version.health_bands)):
            for n in range(len(bands) + EXTRA_BAND_ROWS):
                self.fields[f"{kind}_{n}_name"] = forms.CharField(
                    required=False,
                    max_length=10,
                    widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
                )
                self.fields[f"{kind}_{n}_min"] = _decimal(attrs={"min": "0", "max": "100"})
                self.fields[f"{kind}_{n}_max"] = _decimal(attrs={"min": "0", "max": "100"})
        for component in HEALTH_COMPONENTS:
            self.fields[f"health_{component}_on"] = forms.BooleanField(required=False)
            self.fields[f"health_{component}_weight"] = _decimal(
                attrs={"min": "0", "data-weight": "health"}
            )
            self.fields[f"health_{component}_best"] = _decimal()
            self.fields[f"health_{component}_worst"] = _decimal()
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True

    # --- rows for the template ---------------------------------------------------------------

    def group_sections(self, order: list[str]) -> list[GroupSection]:
        sections = []
        for group in order:
            rows = []
            for row in self.indicators:
                if row.group != group:
                    continue
                presentation = charts.kpi_presentation(row.kpi)
                prefix = f"ind_{row.kpi}_"
                rows.append(
                    IndicatorRow(
                        kpi=row.kpi,
                        name=presentation.name,
                        unit=presentation.unit,
                        suffix=unit_suffix(presentation.unit),
                        missing=row.kpi in self.missing,
                        fields={
                            name: self[prefix + name]
                            for name in (
                                "group",
                                "weight",
                                "priority",
                                "direction",
                                "normalisation",
                                "best",
                                "worst",
                                "target",
                                "remove",
                            )
                        },
                    )
                )
            sections.append(
                GroupSection(
                    group=group,
                    label=str(LifecycleGroup(group).label),
                    fields={
                        "weight": self[f"group_{group}_weight"],
                        "priority": self[f"group_{group}_priority"],
                    },
                    indicators=rows,
                )
            )
        return sections

    def band_rows(self, kind: str = "band") -> list[dict[str, forms.BoundField]]:
        count = sum(
            1 for name in self.fields if name.startswith(f"{kind}_") and name.endswith("_name")
        )
        return [
            {part: self[f"{kind}_{n}_{part}"] for part in ("name", "min", "max")}
            for n in range(count)
        ]

    def health_bands_rows(self) -> list[dict[str, forms.BoundField]]:
        return self.band_rows("hband")

    def health_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "component": component,
                "label": HEALTH_LABELS[component],
                "suffix": unit_suffix(HEALTH_UNITS[component]),
                **{
                    part: self[f"health_{component}_{part}"]
                    for part in ("on", "weight", "best", "worst")
                },
            }
            for component in HEALTH_COMPONENTS
        ]

    # --- to the service ----------------------------------------------------------------------

    def _bands(self, kind: str) -> list[dict[str, Any]]:
        bands = []
        for n in range(len(self.band_rows(kind))):
            name = (self.cleaned_data.get(f"{kind}_{n}_name") or "").strip()
            if not name:
                continue
            bands.append(
                {
                    "name": name,
                    "min": self.cleaned_data.get(f"{kind}_{n}_min"),
                    "max": self.cleaned_data.get(f"{kind}_{n}_max"),
                }
            )
        return bands

    def service_changes(self) -> dict[str, Any]:
        """The arguments of `weight_version_update` from the cleaned, display-unit inputs."""
        data = self.cleaned_data
        indicators = []
        rows: list[tuple[str, str]] = [
            (row.kpi, f"ind_{row.kpi}_")
            for row in self.indicators
            if not data.get(f"ind_{row.kpi}_remove")
        ]
        for kpi, prefix in rows:
            unit = charts.kpi_presentation(kpi).unit
            indicators.append(
                {
                    "kpi": kpi,
                    "group": data.get(prefix + "group"),
                    "weight": data.get(prefix + "weight"),
                    "priority": data.get(prefix + "priority") or 0,
                    "direction": data.get(prefix + "direction"),
                    "normalisation": data.get(prefix + "normalisation"),
                    "best": to_stored(data.get(prefix + "best"), unit),
                    "worst": to_stored(data.get(prefix + "worst"), unit),
                    "target": to_stored(data.get(prefix + "target"), unit),
                }
            )
        new_kpi = data.get("new_kpi")
        if new_kpi:
            # A new KPI starts at weight 0 with its catalogue direction and 0–100 % bounds, so
            # the draft stays valid; the admin then sets its weight and bounds.
            definition = registry.get(new_kpi)
            higher = definition.direction != Direction.LOWER
            direction = Direction.HIGHER if higher else Direction.LOWER
            best, worst = bounded_linear_unit_bounds(direction)
            indicators.append(
                {
                    "kpi": new_kpi,
                    "group": data.get("new_group") or LifecycleGroup.ACQUISITION,
                    "weight": Decimal(0),
                    "priority": 0,
                    "direction": direction,
                    "normalisation": Normalisation.BOUNDED_LINEAR,
                    "best": best,
                    "worst": worst,
                    "target": None,
                }
            )
        groups = [
            {
                "group": group,
                "weight": data.get(f"group_{group}_weight"),
                "priority": data.get(f"group_{group}_priority") or 0,
            }
            for group in LifecycleGroup.values
        ]
        health = [
            {
                "component": component,
                "weight": data.get(f"health_{component}_weight"),
                "best": data.get(f"health_{component}_best"),
                "worst": data.get(f"health_{component}_worst"),
            }
            for component in HEALTH_COMPONENTS
            if data.get(f"health_{component}_on")
        ]
        return {
            "name": data["name"],
            "notes": data.get("notes") or "",
            "min_coverage": data["min_coverage"] / HUNDRED,
            "indicators": indicators,
            "groups": groups,
            "bands": self._bands("band"),
            "health_bands": self._bands("hband"),
            "health_config": health,
        }

    def add_service_errors(self, message_dict: Mapping[str, list[str]]) -> None:
        """The service's messages, shown at the section they concern; nothing was saved."""
        for key, messages in message_dict.items():
            section = (
                key
                if key in {"indicators", "groups", "bands", "health_bands", "health_config"}
                else "general"
            )
            if key in self.fields:
                for message in messages:
                    self.add_error(key, message)
                continue
            self.section_errors.setdefault(section, []).extend(messages)

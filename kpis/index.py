"""The composite "CRM quality index" (catalogue §3): weights, normalisation, coverage, bands.

How a period's index is computed under a WeightVersion:

1. **Normalise** each indicator's value (its KpiSnapshot at dimension ``all``) to 0–100:
   - bounded linear: ``clip((v − worst) / (best − worst), 0, 1) · 100``; best < worst means lower
     is better and the same formula handles it (the denominator is negative).
   - target ratio, higher is better: ``min(max(v, 0) / target, 1) · 100``;
     lower is better (the inversion): ``min(target / v, 1) · 100``, and 100 when ``v ≤ 0`` (at or
     below any positive target). A churn of 4 % against a 2 % target scores 50.
2. **Missing** indicators — no snapshot, value n/a (NULL) or ``low_sample`` — are dropped.
3. **Group score** = Σ wᵢ·sᵢ ÷ Σ wᵢ over the group's *present* indicators (weights rescaled).
   **Index** = Σ W_g·G_g ÷ Σ W_g over groups with at least one present indicator.
   Weights need not sum to 100; only shares w ÷ Σw matter.
4. **Coverage** combines both levels: every indicator's *configured* share of the whole index is
   ``(W_g ÷ ΣW) · (wᵢ ÷ Σw_g)`` (these shares sum to 1 over all indicators) and coverage is the sum
   of the configured shares of the present indicators. A group whose own weight is 0, or whose
   indicators all weigh 0, carries no share and is left out of ΣW.
5. **Published** only when coverage (rounded to 4 decimals) ≥ the version's ``min_coverage``;
   otherwise the snapshot is stored with value NULL (n/a) and its contributions, so the admin
   can see why.
6. **Band**: the band whose (min, max] holds the value rounded to 2 decimals; 0 is in the first.
7. **Contributions**: each present indicator's effective share after rescaling
   ``(W_g ÷ ΣW_present) · (wᵢ ÷ Σw_present in g)`` and contribution = share × score; the
   contributions of a published snapshot add up to its value.

``priority`` orders indicators and groups in the editor and the waterfall; it does not change the
arithmetic. A WeightVersion is immutable once it leaves draft: the services below refuse edits.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.models import (
    Direction,
    Granularity,
    GroupScore,
    GroupWeight,
    IndexContribution,
    IndexSnapshot,
    IndicatorWeight,
    LifecycleGroup,
    Normalisation,
    WeightVersion,
)
from kpis.selectors import company_snapshot_values, snapshot_period_starts
from kpis.targets import kpi_direction, kpi_is_known, period_end_of

HUNDRED = Decimal(100)
ZERO = Decimal(0)
HEALTH_COMPONENTS = (
    "recency",
    "frequency",
    "monetary",
    "open_complaints",
    "satisfaction",
    "engagement",
    # Optional (not in the default config): the BG/NBD probability the customer is still
    # active, in %, from the latest prediction scoring.
    "p_alive",
)


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorConfig:
    kpi: str
    group: str
    weight: Decimal
    direction: str = Direction.HIGHER
    normalisation: str = Normalisation.BOUNDED_LINEAR
    best: Decimal | None = None
    worst: Decimal | None = None
    target: Decimal | None = None
    priority: int = 0


@dataclass(frozen=True)
class IndexConfig:
    group_weights: Mapping[str, Decimal]
    indicators: Sequence[IndicatorConfig]
    min_coverage: Decimal
    bands: Sequence[Mapping[str, Any]]


def index_config_for(version: WeightVersion) -> IndexConfig:
    """Read a version's rows (two queries)."""
    indicators = [
        IndicatorConfig(
            kpi=row.kpi,
            group=row.group,
            weight=row.weight,
            direction=row.direction,
            normalisation=row.normalisation,
            best=row.best,
            worst=row.worst,
            target=row.target,
            priority=row.priority,
        )
        for row in IndicatorWeight.objects.filter(version=version).order_by("priority", "kpi")
    ]
    groups = dict(GroupWeight.objects.filter(version=version).values_list("group", "weight"))
    return IndexConfig(
        group_weights=groups,
        indicators=indicators,
        min_coverage=version.min_coverage,
        bands=version.bands,
    )


# --- arithmetic -----------------------------------------------------------------------------


def bounded_linear_direction(best: Decimal, worst: Decimal) -> str:
    """The direction bounded-linear bounds imply: best above worst is higher-is-better, best
    below worst lower-is-better (the constraint indicator_weight_bounds_match_direction holds the
    stored rows to it). Equal bounds have no direction; validate_indicators refuses them."""
    return Direction.HIGHER if best > worst else Direction.LOWER


def bounded_linear_unit_bounds(direction: str) -> tuple[Decimal, Decimal]:
    """(best, worst) on 0–1 for `direction`, which bounded_linear_direction reads back: the
    bounds a new indicator starts with until the admin sets its own."""
    if direction == Direction.LOWER:
        return Decimal(0), Decimal(1)
    return Decimal(1), Decimal(0)


def normalise(indicator: IndicatorConfig, value: Decimal) -> Decimal:
    """A raw KPI value on the indicator's 0–100 scale (see the module docstring, step 1)."""
    if indicator.normalisation == Normalisation.TARGET_RATIO:
        target = indicator.target
        # Validation and a DB constraint guarantee a positive target.
        assert target is not None
        if indicator.direction == Direction.LOWER:
            ratio = Decimal(1) if value <= 0 else min(target / value, Decimal(1))
        else:
            ratio = min(max(value, ZERO) / target, Decimal(1))
        return ratio * HUNDRED
    best, worst = indicator.best, indicator.worst
    assert best is not None
    assert worst is not None
    fraction = (value - worst) / (best - worst)
    # Clipped to [0, 1]. At the worst bound of a lower-is-better indicator the quotient is
    # Decimal("-0"), which max(-0, 0) keeps and the health page showed as "-0.00".
    if fraction <= 0:
        return ZERO
    return min(fraction, Decimal(1)) * HUNDRED


def band_for(value: Decimal | None, bands: Sequence[Mapping[str, Any]]) -> str:
    if value is None:
        return ""
    ordered = sorted(bands, key=lambda band: Decimal(str(band["min"])))
    for position, band in enumerate(ordered):
        low, high = Decimal(str(band["min"])), Decimal(str(band["max"]))
        if (low < value or (position == 0 and value == low)) and value <= high:
            return str(band["name"])
    return ""


@dataclass(frozen=True)
class Reading:
    value: Decimal | None
    missing_reason: str = ""  # "", "no_snapshot", "n/a", "low_sample"


@dataclass
class ContributionResult:
    kpi: str
    group: str
    weight: Decimal
    raw_value: Decimal | None
    score: Decimal | None
    effective_share: Decimal = ZERO
    contribution: Decimal = ZERO
    missing_reason: str = ""

    @property
    def present(self) -> bool:
        return self.score is not None


@dataclass
class GroupResult:
    group: str
    weight: Decimal
    score: Decimal | None
    effective_share: Decimal
    coverage: Decimal


@dataclass
class IndexResult:
    value: Decimal | None  # None when not published
    coverage: Decimal
    band: str
    published: bool
    unpublished_value: Decimal | None = None  # the value below min coverage, for diagnostics
    groups: list[GroupResult] = field(default_factory=list)
    contributions: list[ContributionResult] = field(default_factory=list)


def evaluate_index(config: IndexConfig, readings: Mapping[str, Reading]) -> IndexResult:
    """Pure computation of an index from configuration and KPI readings (no database)."""
    by_group: dict[str, list[IndicatorConfig]] = {}
    for indicator in config.indicators:
        by_group.setdefault(indicator.group, []).append(indicator)

    contributions: dict[str, ContributionResult] = {}
    for indicator in config.indicators:
        reading = readings.get(indicator.kpi, Reading(None, "no_snapshot"))
        present = reading.value is not None and not reading.missing_reason
        contributions[indicator.kpi] = ContributionResult(
            kpi=indicator.kpi,
            group=indicator.group,
            weight=indicator.weight,
            raw_value=reading.value,
            score=normalise(indicator, reading.value)
            if present and reading.value is not None
            else None,
            missing_reason="" if present else (reading.missing_reason or "n/a"),
        )

    # Configured shares (step 4): groups with weight and weighted indicators.
    configured = {
        group: config.group_weights.get(group, ZERO)
        for group, members in by_group.items()
        if config.group_weights.get(group, ZERO) > 0 and sum(i.weight for i in members) > 0
    }
    total_configured = sum(configured.values(), ZERO)
    coverage = ZERO
    group_present_weight: dict[str, Decimal] = {}
    group_scores: dict[str, Decimal] = {}
    for group, members in by_group.items():
        present_rows = [contributions[i.kpi] for i in members if contributions[i.kpi].present]
        present_weight = sum((c.weight for c in present_rows), ZERO)
        all_weight = sum((i.weight for i in members), ZERO)
        if group in configured and total_configured > 0:
            coverage += configured[group] / total_configured * present_weight / all_weight
        if present_weight > 0:
            group_present_weight[group] = present_weight
            group_scores[group] = (
                sum((c.weight * c.score for c in present_rows if c.score is not None), ZERO)
                / present_weight
            )

    scored_groups = {g: w for g, w in configured.items() if g in group_scores}
    total_present = sum(scored_groups.values(), ZERO)
    raw_value: Decimal | None = None
    if total_present > 0:
        raw_value = (
            sum((w * group_scores[g] for g, w in scored_groups.items()), ZERO) / total_present
        )
        for contribution in contributions.values():
            if contribution.present and contribution.group in scored_groups:
                share = (
                    scored_groups[contribution.group]
                    / total_present
                    * contribution.weight
                    / group_present_weight[contribution.group]
                )
                contribution.effective_share = share
                contribution.contribution = share * (contribution.score or ZERO)

    coverage = _q(coverage, "0.0001")
    published = raw_value is not None and coverage >= config.min_coverage
    value = _q(raw_value, "0.01") if published and raw_value is not None else None
    groups = [
        GroupResult(
            group=group,
            weight=config.group_weights.get(group, ZERO),
            score=group_scores.get(group),
            effective_share=(scored_groups[group] / total_present)
            if group in scored_groups
            else ZERO,
            coverage=(
                group_present_weight.get(group, ZERO) / sum((i.weight for i in members), ZERO)
                if sum((i.weight for i in members), ZERO) > 0
                else ZERO
            ),
        )
        for group, members in by_group.items()
    ]
    return IndexResult(
        value=value,
        coverage=coverage,
        band=band_for(value, config.bands),
        published=published,
        unpublished_value=None if published or raw_value is None else _q(raw_value, "0.01"),
        groups=groups,
        contributions=list(contributions.values()),
    )


def readings_for(
    *, granularity: str, period_starts: Iterable[dt.date], kpis: Iterable[str]
) -> dict[dt.date, dict[str, Reading]]:
    """KPI readings at dimension `all` for several periods, in one query."""
    starts = list(period_starts)
    result: dict[dt.date, dict[str, Reading]] = {start: {} for start in starts}
    rows = company_snapshot_values(granularity=granularity, period_starts=starts, kpis=kpis)
    for period_start, kpi, value, low_sample in rows:
        reason = "n/a" if value is None else ("low_sample" if low_sample else "")
        result[period_start][kpi] = Reading(value, reason)
    return result


# --- computing and storing ------------------------------------------------------------------


def active_weight_version() -> WeightVersion | None:
    return WeightVersion.objects.filter(status=WeightVersion.Status.ACTIVE).first()


@transaction.atomic
def compute_index(
    *,
    granularity: str,
    period_start: dt.date,
    version: WeightVersion | None = None,
    period_end: dt.date | None = None,
) -> IndexSnapshot:
    """Compute and store the index of one period; re-running replaces that version's row."""
    version = version or active_weight_version()
    if version is None:
        raise ValidationError(_("There is no active index weight version."))
    config = index_config_for(version)
    readings = readings_for(
        granularity=granularity,
        period_starts=[period_start],
        kpis=[i.kpi for i in config.indicators],
    )[period_start]
    result = evaluate_index(config, readings)
    snapshot, _created = IndexSnapshot.objects.update_or_create(
        granularity=granularity,
        period_start=period_start,
        version=version,
        defaults={
            "period_end": period_end or period_end_of(granularity, period_start),
            "value": result.value,
            "coverage": result.coverage,
            "band": result.band,
            "published": result.published,
            "computed_at": timezone.now(),
        },
    )
    snapshot.contributions.all().delete()
    snapshot.groups.all().delete()
    IndexContribution.objects.bulk_create(
        IndexContribution(
            snapshot=snapshot,
            kpi=c.kpi,
            group=c.group,
            weight=c.weight,
            raw_value=c.raw_value,
            normalised_score=None if c.score is None else _q(c.score, "0.0001"),
            effective_share=_q(c.effective_share, "0.000001"),
            contribution=_q(c.contribution, "0.0001"),
            present=c.present,
            missing_reason=c.missing_reason,
        )
        for c in result.contributions
    )
    GroupScore.objects.bulk_create(
        GroupScore(
            snapshot=snapshot,
            group=g.group,
            weight=g.weight,
            score=None if g.score is None else _q(g.score, "0.0001"),
            effective_share=_q(g.effective_share, "0.000001"),
            coverage=_q(g.coverage, "0.0001"),
        )
        for g in result.groups
    )
    return snapshot


@dataclass(frozen=True)
class PreviewRow:
    period_start: dt.date
    period_end: dt.date
    result: IndexResult


def preview_periods(*, granularity: str = Granularity.QUARTER, count: int = 4) -> list[dt.date]:
    """The latest `count` periods that have KPI snapshots, oldest first."""
    starts = snapshot_period_starts(
        granularity=granularity, dimension="all", newest_first=True, limit=count
    )
    return sorted(starts)


def preview_index(
    *,
    version: WeightVersion,
    periods: Sequence[dt.date] | None = None,
    granularity: str = Granularity.QUARTER,
) -> list[PreviewRow]:
    """The index of each period recomputed under `version` (a draft, typically); writes nothing."""
    starts = list(periods) if periods is not None else preview_periods(granularity=granularity)
    config = index_config_for(version)
    readings = readings_for(
        granularity=granularity, period_starts=starts, kpis=[i.kpi for i in config.indicators]
    )
    return [
        PreviewRow(
            period_start=start,
            period_end=period_end_of(granularity, start),
            result=evaluate_index(config, readings[start]),
        )
        for start in starts
    ]


# --- validation -----------------------------------------------------------------------------


def validate_bands(bands: Any, *, field_name: str = "bands") -> list[dict[str, Any]]:
    """Bands must be named and tile [0, 100] with no gap or overlap; returns them sorted."""
    error = ValidationError(
        {
            field_name: _(
                "Bands must be a list of {name, min, max} covering 0 to 100 without gaps or "
                "overlaps, with distinct names of at most 10 characters, e.g. red 0–50, "
                "yellow 50–75, green 75–100."
            )
        }
    )
    if not isinstance(bands, list) or not bands:
        raise error
    try:
        parsed = [
            (Decimal(str(b["min"])), Decimal(str(b["max"])), str(b["name"]).strip()) for b in bands
        ]
    except (KeyError, TypeError, ArithmeticError, ValueError):
        raise error from None
    parsed.sort()
    names = [name for _low, _high, name in parsed]
    # Customer.health_band holds 10 characters, so band names stay short.
    if any(not name or len(name) > 10 for name in names) or len(set(names)) != len(names):
        raise error
    if parsed[0][0] != 0 or parsed[-1][1] != 100:
        raise error
    for previous, current in zip(parsed, parsed[1:], strict=False):
        if current[0] != previous[1]:
            raise error
    if any(low >= high for low, high, _name in parsed):
        raise error
    return [{"name": name, "min": _number(low), "max": _number(high)} for low, high, name in parsed]


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal_or_none(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        raise ValueError(raw) from None


def validate_indicators(raw_rows: Sequence[Mapping[str, Any]]) -> list[IndicatorConfig]:
    errors: list[str] = []
    seen: set[str] = set()
    indicators: list[IndicatorConfig] = []
    for row in raw_rows:
        kpi = str(row.get("kpi", ""))
        try:
            weight = _decimal_or_none(row.get("weight"))
            best = _decimal_or_none(row.get("best"))
            worst = _decimal_or_none(row.get("worst"))
            target = _decimal_or_none(row.get("target"))
        except ValueError:
            errors.append(_("%(kpi)s: weights and bounds must be numbers.") % {"kpi": kpi})
            continue
        normalisation = row.get("normalisation", Normalisation.BOUNDED_LINEAR)
        direction = row.get("direction")
        group = row.get("group")
        if not kpi_is_known(kpi):
            errors.append(_("Unknown KPI key %(kpi)s.") % {"kpi": kpi})
        if kpi in seen:
            errors.append(_("%(kpi)s appears twice.") % {"kpi": kpi})
        seen.add(kpi)
        if group not in LifecycleGroup.values:
            errors.append(_("%(kpi)s: unknown group %(group)s.") % {"kpi": kpi, "group": group})
        if weight is None or weight < 0:
            errors.append(_("%(kpi)s: the weight must be 0 or more.") % {"kpi": kpi})
        if normalisation == Normalisation.BOUNDED_LINEAR:
            if best is None or worst is None or best == worst:
                errors.append(
                    _("%(kpi)s: bounded linear needs different best and worst values.")
                    % {"kpi": kpi}
                )
            else:
                implied = bounded_linear_direction(best, worst)
                if direction and direction != implied:
                    errors.append(
                        _("%(kpi)s: best < worst means lower is better; the direction disagrees.")
                        % {"kpi": kpi}
                    )
                direction = implied
        elif normalisation == Normalisation.TARGET_RATIO:
            if target is None or target <= 0:
                errors.append(_("%(kpi)s: target ratio needs a target above 0.") % {"kpi": kpi})
            direction = direction or kpi_direction(kpi)
        else:
            errors.append(_("%(kpi)s: unknown normalisation.") % {"kpi": kpi})
        if direction not in Direction.values:
            errors.append(_("%(kpi)s: unknown direction.") % {"kpi": kpi})
        if not errors:
            indicators.append(
                IndicatorConfig(
                    kpi=kpi,
                    group=str(group),
                    weight=weight or ZERO,
                    direction=str(direction),
                    normalisation=str(normalisation),
                    best=best if normalisation == Normalisation.BOUNDED_LINEAR else None,
                    worst=worst if normalisation == Normalisation.BOUNDED_LINEAR else None,
                    target=target if normalisation == Normalisation.TARGET_RATIO else None,
                    priority=int(row.get("priority") or 0),
                )
            )
    if errors:
        raise ValidationError({"indicators": errors})
    return indicators


def validate_groups(raw_rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Decimal, int]]:
    errors: list[str] = []
    groups: dict[str, tuple[Decimal, int]] = {}
    for row in raw_rows:
        group = row.get("group")
        try:
            weight = _decimal_or_none(row.get("weight"))
        except ValueError:
            weight = None
        if group not in LifecycleGroup.values:
            errors.append(_("Unknown group %(group)s.") % {"group": group})
        elif group in groups:
            errors.append(_("Group %(group)s appears twice.") % {"group": group})
        if weight is None or weight < 0:
            errors.append(_("Group %(group)s: the weight must be 0 or more.") % {"group": group})
        if not errors:
            groups[str(group)] = (weight or ZERO, int(row.get("priority") or 0))
    if errors:
        raise ValidationError({"groups": errors})
    return groups


def validate_health_config(raw: Any) -> list[dict[str, Any]]:
    error = ValidationError(
        {
            "health_config": _(
                "Health components must be a list of {component, weight ≥ 0, best, worst} with "
                "best ≠ worst; components: %(names)s."
            )
            % {"names": ", ".join(HEALTH_COMPONENTS)}
        }
    )
    if not isinstance(raw, list):
        raise error
    seen: set[str] = set()
    cleaned = []
    for row in raw:
        try:
            component = str(row["component"])
            weight, best, worst = (Decimal(str(row[key])) for key in ("weight", "best", "worst"))
        except (KeyError, TypeError, ArithmeticError, ValueError):
            raise error from None
        if component not in HEALTH_COMPONENTS or component in seen or weight < 0 or best == worst:
            raise error
        seen.add(component)
        cleaned.append(
            {"component": component, "weight": _number(weight), "best": _number(best),
             "worst": _number(worst)}
        )  # fmt: skip
    return cleaned

"""The KPI catalogue as code: every KPI of catalogue §2, looked up through `registry`.

from kpis.definitions import registry
registry.get("churn_rate").compute(ctx)
"""

from __future__ import annotations

from collections.abc import Iterable

from kpis.definitions import (
    acquisition,
    enhancement,
    maintenance,
    pipeline,
    prediction,
    quality,
    retention,
    segments,
    service,
)
from kpis.definitions.base import STAGES, KpiContext, KpiDefinition, KpiResult

__all__ = ["KpiContext", "KpiDefinition", "KpiResult", "Registry", "UnknownKpiError", "registry"]


class UnknownKpiError(KeyError):
    """A KPI key that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "Unknown KPI"


class Registry:
    def __init__(self, definitions: Iterable[KpiDefinition]) -> None:
        self._definitions: dict[str, KpiDefinition] = {}
        for definition in definitions:
            if definition.key in self._definitions:
                raise ValueError(f"Duplicate KPI key {definition.key!r}")
            self._definitions[definition.key] = definition

    def get(self, key: str) -> KpiDefinition:
        try:
            return self._definitions[key]
        except KeyError:
            raise UnknownKpiError(
                f"Unknown KPI {key!r}. Known KPIs: {', '.join(sorted(self._definitions))}."
            ) from None

    def all(self) -> list[KpiDefinition]:
        return list(self._definitions.values())

    def keys(self) -> list[str]:
        return list(self._definitions)

    def by_stage(self, stage: str) -> list[KpiDefinition]:
        if stage not in STAGES:
            raise ValueError(f"Unknown stage {stage!r}: expected one of {', '.join(STAGES)}.")
        return [
            definition for definition in self._definitions.values() if definition.stage == stage
        ]

    def resolve(self, keys: Iterable[str] | None) -> list[KpiDefinition]:
        """The definitions for `keys` (all when None), refusing unknown keys before any work."""
        if keys is None:
            return self.all()
        return [self.get(key) for key in dict.fromkeys(keys)]

    def __contains__(self, key: object) -> bool:
        return key in self._definitions

    def __len__(self) -> int:
        return len(self._definitions)


registry = Registry(
    [
        *acquisition.DEFINITIONS,
        *maintenance.DEFINITIONS,
        *enhancement.DEFINITIONS,
        *retention.DEFINITIONS,
        *segments.DEFINITIONS,
        *service.DEFINITIONS,
        *pipeline.DEFINITIONS,
        *quality.DEFINITIONS,
        # Customer predictions.
        *prediction.DEFINITIONS,
    ]
)

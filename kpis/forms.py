"""The filter bar every manager KPI page keeps: granularity, period and one dimension filter."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.widgets import IsoDateInput
from kpis import charts
from kpis.models import Granularity
from kpis.page_queries import FILTER_DIMENSIONS, FILTER_LABELS
from kpis.periods import PeriodError, parse_granularity, query_period

if TYPE_CHECKING:
    from kpis.selectors import KpiScope

PERIOD_COUNTS = (6, 12, 24, 36)


class KpiFilterForm(forms.Form):
    granularity = forms.ChoiceField(
        label=_("Granularity"), choices=Granularity.choices, required=False
    )
    # Read by kpis.periods.query_period, not by a DateField: one parser, one message.
    period = forms.CharField(
        label=_("Period"),
        required=False,
        help_text=_("A period start; empty means the latest stored period."),
        widget=IsoDateInput(),
    )
    periods = forms.TypedChoiceField(
        label=_("Periods shown"),
        choices=[(count, count) for count in PERIOD_COUNTS],
        coerce=int,
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        choices: dict[str, list[tuple[str, str]]],
        dimensions: tuple[str, ...] = FILTER_DIMENSIONS,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        for name in FILTER_DIMENSIONS:
            # A user scoped to a team or to themselves gets only the filters of their scope.
            if name not in dimensions:
                continue
            self.fields[name] = forms.ChoiceField(
                label=FILTER_LABELS[name],
                choices=[("", _("All"))] + list(choices.get(name, [])),
                required=False,
            )


@dataclass(frozen=True)
class KpiFilters:
    """The cleaned filters: snapshots are stored per dimension, so one dimension filter applies
    at a time (the first set of segment, team, rep, channel, product line)."""

    granularity: str = Granularity.MONTH
    period: dt.date | None = None
    periods: int = 24
    dimension: str = "all"
    value: str = ""

    @property
    def is_filtered(self) -> bool:
        return self.dimension != "all"

    @property
    def first_period(self) -> dt.date:
        return charts.window_start(self.granularity, self.periods, self.period)

    def params(self, **overrides: Any) -> dict[str, str]:
        params: dict[str, str] = {"granularity": self.granularity}
        if self.period:
            params["period"] = self.period.isoformat()
        if self.periods != 24:
            params["periods"] = str(self.periods)
        if self.is_filtered:
            params[self.dimension] = self.value
        for name, value in overrides.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        return params

    @property
    def querystring(self) -> str:
        return urlencode(self.params())

    def within(self, scope: KpiScope) -> KpiFilters:
        """These filters, or the scope's own cell where they would show more than the scope:
        a rep asking for a team, or another rep, gets their own figures."""
        if scope.allows(self.dimension, self.value):
            return self
        dimension, value = scope.default_cell
        return dataclasses.replace(self, dimension=dimension, value=value)

    @property
    def cell(self) -> tuple[str, str]:
        return self.dimension, self.value


def parse_filters(
    data: Any,
    choices: dict[str, list[tuple[str, str]]] | None = None,
    dimensions: tuple[str, ...] = FILTER_DIMENSIONS,
    *,
    strict: bool = False,
) -> tuple[KpiFilterForm, KpiFilters]:
    """The bound form and the filters it means; invalid fields fall back to their defaults.

    A bad granularity or period is a form error on its field (shown by the picker) and the
    page opens its default period; `strict` (chart JSON) raises the same PeriodError instead.
    The filters are what was asked for: callers narrow them to the user's scope (`within`).
    """
    form = KpiFilterForm(data or None, choices=choices or {}, dimensions=dimensions)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    dimension, value = "all", ""
    for name in FILTER_DIMENSIONS:
        # Read the raw value: a stored value not in the choices list is still a real filter.
        raw = str(data.get(name, "") if data else "").strip()
        if raw:
            dimension, value = name, raw[:100]
            break
    query = data or {}
    # The granularity and period are read by the one period parser, not by the form fields.
    form.errors.pop("granularity", None)
    try:
        granularity, period = query_period(query.get("granularity"), query.get("period"))
    except PeriodError as exc:
        if strict:
            raise
        # The page opens its default period, in the granularity asked for if that one is valid.
        granularity, period = Granularity.MONTH, None
        if exc.field == "period":
            granularity = parse_granularity(query.get("granularity") or Granularity.MONTH)
        form.errors[exc.field] = form.error_class([str(exc)])
    return form, KpiFilters(
        granularity=granularity,
        period=period.start if period else None,
        periods=cleaned.get("periods") or 24,
        dimension=dimension,
        value=value,
    )

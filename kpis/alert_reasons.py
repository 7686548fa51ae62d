"""A stored alert reason in the reader's language.

Reasons are stored as the evaluating process wrote them; the parts of the older, English-only
form ("below 0.5; changed -12.0% vs previous period") are translated when shown. A leaf module:
the template tags and kpis.alerts both import it.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy

_REASON_PARTS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"^below (?P<value>-?[\d.]+)$"), gettext_lazy("below %(value)s")),
    (re.compile(r"^above (?P<value>-?[\d.]+)$"), gettext_lazy("above %(value)s")),
    (
        re.compile(r"^changed (?P<change>[+-][\d.]+)% vs previous period$"),
        gettext_lazy("changed %(change)s %% against the previous period"),
    ),
    (re.compile(r"^no snapshot$"), gettext_lazy("no figure for the period")),
    (re.compile(r"^n/a$"), gettext_lazy("no value for the period")),
    (re.compile(r"^low sample$"), gettext_lazy("too few records to judge")),
    (re.compile(r"^no previous value$"), gettext_lazy("no previous value to compare with")),
)


def reason_text(reason: str) -> str:
    """A stored reason ("below 0.5; changed -12.0% vs previous period") in the active language;
    an alert message's "<kpi key>: " prefix is left out (pages name the KPI already)."""
    kpi_key, separator, rest = reason.partition(": ")
    if separator and kpi_key and " " not in kpi_key:
        reason = rest
    shown = []
    for part in reason.split("; "):
        for pattern, template in _REASON_PARTS:
            match = pattern.match(part)
            if match:
                shown.append(str(template) % match.groupdict())
                break
        else:
            shown.append(part)
    return "; ".join(shown)

"""JSON request bodies with a nesting limit.

Python's json module recurses once per level: a few kilobytes of "[[[[…" reach the interpreter's
recursion limit (a 500) and deep structures cost time in every serializer that walks them. No
Pulse resource nests deeper than an order with its lines, so anything past API_MAX_JSON_DEPTH
is refused with a 400 before a serializer sees it.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when containers nest more than `limit` levels deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children: Any
        if isinstance(current, Mapping):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = int(getattr(settings, "API_MAX_JSON_DEPTH", 10))
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                _("JSON nested too deeply (more than %(limit)d levels).") % {"limit": limit}
            ) from exc
        if json_depth_exceeds(data, limit):
            raise ParseError(
                _("JSON nested too deeply (more than %(limit)d levels).") % {"limit": limit}
            )
        return data

"""OPTIONS responses that never fail on the by-external-id routes."""

from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        # The upsert route has no pk: DRF's PUT description would look the record up and fail.
        if "external_id" in getattr(view, "kwargs", {}):
            return {}
        return dict(super().determine_actions(request, view))

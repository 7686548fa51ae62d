"""drf-spectacular post-processing: document the error responses every operation can return."""

from typing import Any

from crm.importing.export import CONTENT_TYPES

ERROR_SCHEMA = {
    "type": "object",
    "description": "Field-level messages ({field: [message]}) or {detail: message}.",
    "additionalProperties": True,
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


COMMON_ERRORS = {
    "401": _error("Not authenticated: no or an invalid/expired token."),
    "403": _error("Authenticated, but the role does not allow this operation."),
    "429": _error("Too many requests: the throttle rate for this client was exceeded."),
}
WRITE_ERRORS = {
    "400": _error("Invalid input; the body names each field at fault."),
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """Add 400/401/403/404/409/429 to every /api/v1/ operation, so clients and fuzzers know them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in COMMON_ERRORS.items():
                responses.setdefault(code, response)
            # Query parameters (filters, page, ordering) are validated too: 400 on bad values.
            responses.setdefault("400", WRITE_ERRORS["400"])
            if "{" in path or method == "get":
                # Unknown or invisible record, or a page past the end.
                responses.setdefault("404", _error("Not found, or not visible to this user."))
            if method == "delete":
                responses.setdefault(
                    "409", _error("Still referenced by other records; not deleted.")
                )
            if method == "get" and any(
                parameter.get("name") == "format" for parameter in operation.get("parameters", [])
            ):
                content = responses.get("200", {}).get("content")
                if content is not None:
                    # Exports are files, not the JSON page: a CSV text and an XLSX workbook.
                    content["text/csv"] = {"schema": {"type": "string"}}
                    content[CONTENT_TYPES["xlsx"]] = {
                        "schema": {"type": "string", "format": "binary"}
                    }
            if method == "put" and "by-external-id" in path and "200" in responses:
                responses.setdefault("201", {**responses["200"], "description": "Created."})
    return result

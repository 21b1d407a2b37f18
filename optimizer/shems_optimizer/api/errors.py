"""JSON error answers: every refusal names its reason, the field at fault and the correlation id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shems_optimizer.runtime.logs import current_correlation_id


class ApiError(Exception):
    """An error the API answers with ``status`` and a JSON body instead of a stack trace."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """A flat body: ``{"error": message, "code": code, "field": path, "correlation_id": id}``."""
    body: dict[str, Any] = {"error": message, "code": code}
    if field is not None:
        body["field"] = field
    cid = current_correlation_id()
    if cid:
        body["correlation_id"] = cid
    return body


def error_response(err: ApiError) -> web.Response:
    return web.json_response(
        error_body(err.code, err.message, err.field), status=err.status, headers=err.headers
    )


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident!r} does not exist")


def unavailable(what: str, why: str) -> ApiError:
    return ApiError(503, "unavailable", f"{what} is not available: {why}")


# JSON Schema of the error body, shared by every documented error answer.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, in words"},
        "code": {"type": "string"},
        "field": {
            "type": "string",
            "description": "the input field at fault, e.g. batteries[0].capacity_kwh",
        },
        "correlation_id": {"type": "string"},
    },
}

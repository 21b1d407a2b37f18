"""Route specifications: one declaration per endpoint serves both the router and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Response:
    """A documented answer: description and JSON Schema of the body (``None`` for no body), and the
    OpenAPI links from it to the operations that take what it returns (e.g. a new device's id)."""

    description: str
    schema: Mapping[str, Any] | None = None
    media_type: str = "application/json"
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: call ``operation_id`` with path parameters taken from this answer's body,
    e.g. ``link("getDevice", device_id="device_id")``."""
    return {
        "operationId": operation_id,
        "parameters": {name: f"$response.body#/{pointer}" for name, pointer in parameters.items()},
    }


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # below API_PREFIX, e.g. "/devices/{device_id}"
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, Response]
    body: vol.Schema | None = None
    body_doc: Mapping[str, Any] | None = None  # JSON Schema when the body is validated elsewhere
    query: vol.Schema | None = None
    # The query's schema is a pure function of the query string (no clock, no state): a repeated
    # query string reuses its validated form (dashboards ask the same question again and again).
    query_cacheable: bool = False
    public: bool = False  # no token needed (health, the OpenAPI document)
    description: str = ""
    path_params: Mapping[str, str] = field(default_factory=dict)  # name -> description

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path


# Request keys where the validating wrapper leaves the checked inputs for the handler.
BODY = "shems_body"
QUERY = "shems_query"
SPEC = "shems_spec"


def body_of(request: web.Request) -> Any:
    return request[BODY]


def query_of(request: web.Request) -> dict[str, Any]:
    value: dict[str, Any] = request[QUERY]
    return value

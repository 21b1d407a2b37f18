"""Health, the OpenAPI document and the API token."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from ..context import context_of
from ..errors import ApiError
from ..jsonio import json_response
from ..spec import Response, RouteSpec
from .common import OBJECT, obj

_LOGGER = logging.getLogger(__name__)
OPENAPI_DOCUMENT = "shems_openapi_document"


async def health(request: web.Request) -> web.Response:
    ctx = context_of(request)
    components = ctx.health.components() if ctx.health is not None else {}
    ok = all(c.get("ok", False) for c in components.values())
    now = datetime.now(tz=UTC)
    return json_response(
        {
            "status": "ok" if ok else "degraded",
            "version": ctx.info.version,
            "instance_id": ctx.info.instance_id,
            "started_at": ctx.info.started_at,
            "uptime_s": round((now - ctx.info.started_at).total_seconds(), 3),
            "components": components,
        }
    )


async def openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI_DOCUMENT_KEY])


async def token_info(request: web.Request) -> web.Response:
    ctx = context_of(request)
    if not ctx.peers.is_trusted(request.remote):
        raise ApiError(403, "forbidden", "the token is only shown through Home Assistant's ingress panel")
    return json_response({"token": ctx.tokens.token})


async def rotate_token(request: web.Request) -> web.Response:
    ctx = context_of(request)
    token = ctx.tokens.rotate()
    _LOGGER.warning("API token rotated; clients using the old token must be updated")
    return json_response({"token": token})


OPENAPI_DOCUMENT_KEY: web.AppKey[dict[str, object]] = web.AppKey(OPENAPI_DOCUMENT, dict)

HEALTH_SCHEMA = obj(
    ["status", "version", "instance_id", "uptime_s", "components"],
    status={"enum": ["ok", "degraded"]},
    version={"type": "string"},
    instance_id={"type": "string"},
    started_at={"type": "string", "format": "date-time"},
    uptime_s={"type": "number"},
    components={
        "type": "object",
        "additionalProperties": obj(["ok"], ok={"type": "boolean"}, detail={"type": "string"}),
    },
)
TOKEN_SCHEMA = obj(["token"], token={"type": "string"})


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/health",
            health,
            "getHealth",
            "Service health and component status",
            "system",
            {200: Response("service status", HEALTH_SCHEMA)},
            public=True,
        ),
        RouteSpec(
            "GET",
            "/openapi.json",
            openapi,
            "getOpenApi",
            "This OpenAPI document",
            "system",
            {200: Response("OpenAPI 3.1 document", OBJECT)},
            public=True,
        ),
        RouteSpec(
            "GET",
            "/auth/token",
            token_info,
            "getToken",
            "Show the API token (ingress only)",
            "auth",
            {
                200: Response("the current token", TOKEN_SCHEMA),
                403: Response("not through the ingress panel", OBJECT),
            },
        ),
        RouteSpec(
            "POST",
            "/auth/token/rotate",
            rotate_token,
            "rotateToken",
            "Replace the API token; the old one stops working at once",
            "auth",
            {200: Response("the new token", TOKEN_SCHEMA)},
        ),
    ]

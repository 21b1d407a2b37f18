"""Health (components, liveness, readiness), Prometheus metrics, the OpenAPI document and the API token.

``/metrics`` needs the API token like every other data endpoint (Prometheus sends it with
``authorization: {credentials: <token>}``): it names devices and their failures.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from shems_optimizer.api.responses import json_response

from ..context import context_of
from ..errors import ApiError
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


async def live(request: web.Request) -> web.Response:
    """The event loop answers: nothing more (a supervisor restarts the add-on when this fails)."""
    ctx = context_of(request)
    return json_response({"status": "alive", "uptime_s": _uptime(ctx.info.started_at)})


async def ready(request: web.Request) -> web.Response:
    ctx = context_of(request)
    components = ctx.health.components() if ctx.health is not None else {}
    problems = [
        {"component": name, "detail": str(c.get("detail", ""))}
        for name, c in components.items()
        if not c.get("ok", False)
    ]
    body = {"ready": not problems, "problems": problems, "components": components}
    return json_response(body, status=503 if problems else 200)


async def metrics(request: web.Request) -> web.Response:
    ctx = context_of(request)
    if ctx.metrics is None:
        raise ApiError(503, "unavailable", "metrics are not collected in this installation")
    return web.Response(
        body=ctx.metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def _uptime(started_at: datetime) -> float:
    return round((datetime.now(tz=UTC) - started_at).total_seconds(), 3)


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
LIVE_SCHEMA = obj(["status"], status={"enum": ["alive"]}, uptime_s={"type": "number"})
READY_SCHEMA = obj(
    ["ready", "problems", "components"],
    ready={"type": "boolean"},
    problems={
        "type": "array",
        "items": obj(["component", "detail"], component={"type": "string"}, detail={"type": "string"}),
    },
    components=HEALTH_SCHEMA["properties"]["components"],
)


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
            "/health/live",
            live,
            "getLiveness",
            "Liveness: the service answers",
            "system",
            {200: Response("the service runs", LIVE_SCHEMA)},
            public=True,
        ),
        RouteSpec(
            "GET",
            "/health/ready",
            ready,
            "getReadiness",
            "Readiness: every component works; otherwise 503 naming what is wrong",
            "system",
            {
                200: Response("ready", READY_SCHEMA),
                503: Response("not ready: the problems name the failing components", READY_SCHEMA),
            },
            public=True,
        ),
        RouteSpec(
            "GET",
            "/metrics",
            metrics,
            "getMetrics",
            "Prometheus metrics (text exposition format)",
            "system",
            {
                200: Response("metrics", {"type": "string"}, media_type="text/plain"),
                503: Response("metrics are not collected", OBJECT),
            },
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

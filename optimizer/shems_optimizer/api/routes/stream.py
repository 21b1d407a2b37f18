"""The WebSocket stream of device updates, plan updates and command status changes."""

from __future__ import annotations

from aiohttp import web

from ..context import context_of
from ..spec import Response, RouteSpec


async def stream(request: web.Request) -> web.StreamResponse:
    ctx = context_of(request)
    hello = {"version": ctx.info.version, "instance_id": ctx.info.instance_id}
    return await ctx.hub.serve(request, hello)


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/stream",
            stream,
            "stream",
            "WebSocket stream of live events",
            "stream",
            {101: Response("switching to WebSocket"), 400: Response("not a WebSocket upgrade request")},
            description="Upgrade to a WebSocket. Messages are JSON objects "
            "{type, time, data}; type is hello, device_update, plan_updated, command_status or "
            "status. Browsers may pass the token as ?access_token=.",
        ),
    ]

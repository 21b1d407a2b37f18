"""The aiohttp application: routes from their specifications, middlewares, OpenAPI document, UI."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from aiohttp import web

from .context import CONTEXT, ApiContext
from .middleware import guard, request_context
from .openapi import build_document
from .routes import all_routes
from .routes.system import OPENAPI_DOCUMENT_KEY
from .spec import BODY, QUERY, SPEC, Handler, RouteSpec
from .validation import read_json, validate

WEB_DIR = Path(__file__).resolve().parent / "web"


VALIDATED_QUERIES_KEPT = 256


def _validating(spec: RouteSpec) -> Handler:
    """Wrap a handler so it only runs on input its specification accepts."""
    validated: OrderedDict[str, dict[str, Any]] = OrderedDict()  # query string -> validated query

    def checked_query(request: web.Request) -> dict[str, Any]:
        assert spec.query is not None
        if not spec.query_cacheable:
            result: dict[str, Any] = validate(spec.query, dict(request.query), where="query")
            return result
        raw = request.query_string
        kept = validated.get(raw)
        if kept is None:  # only accepted queries are kept; a refused one is checked (and refused) again
            kept = validated[raw] = validate(spec.query, dict(request.query), where="query")
            if len(validated) > VALIDATED_QUERIES_KEPT:
                validated.popitem(last=False)
        return dict(kept)  # the handler's own copy

    async def handler(request: web.Request) -> web.StreamResponse:
        if spec.query is not None:
            request[QUERY] = checked_query(request)
        if spec.body is not None:
            request[BODY] = validate(spec.body, await read_json(request), where="body")
        return await spec.handler(request)

    setattr(handler, SPEC, spec)
    return handler


def create_app(context: ApiContext) -> web.Application:
    """Build the API application around ``context`` (see :mod:`shems_optimizer.wiring.testing`
    for starting the whole service in-process on a free port)."""
    app = web.Application(middlewares=[request_context, guard], client_max_size=1_000_000)
    app[CONTEXT] = context
    specs = all_routes()
    for spec in specs:
        app.router.add_route(spec.method, spec.full_path, _validating(spec), name=spec.operation_id)
    app[OPENAPI_DOCUMENT_KEY] = build_document(specs, context.info.version)
    web_dir = context.web_dir if context.web_dir is not None else WEB_DIR
    if (web_dir / "index.html").is_file():
        index = web_dir / "index.html"

        async def ui_index(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

        app.router.add_get("/", ui_index, name="ui")
        app.router.add_static("/ui/", web_dir, name="ui_static")
    app.on_startup.append(_bind_hub)
    app.on_shutdown.append(_close_streams)
    return app


async def _bind_hub(app: web.Application) -> None:
    import asyncio

    ctx = app[CONTEXT]
    ctx.hub.bind(asyncio.get_running_loop())
    # A rotated token ends the streams it opened at once, not at their next reconnect.
    ctx.tokens.on_change(lambda: ctx.hub.revoke(ctx.tokens.matches))


async def _close_streams(app: web.Application) -> None:
    await app[CONTEXT].hub.close_all()

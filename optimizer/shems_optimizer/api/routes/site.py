"""Site configuration: the home's grid, solar, prices and assets, as the integration describes it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shems_optimizer.api.responses import json_response
from shems_optimizer.runtime.errors import InputRejected

from ..context import site_port
from ..errors import ApiError
from ..site_schemas import site_document_schema
from ..spec import Response, RouteSpec
from ..validation import read_json

SITE_DOCUMENT: dict[str, Any] = site_document_schema()
_ERROR = Response("error", {"$ref": "#/components/schemas/Error"})


async def get_site(request: web.Request) -> web.Response:
    stored = site_port(request).get()
    if stored is None:
        raise ApiError(404, "no_site", "no site is configured yet")
    return json_response(stored)


async def put_site(request: web.Request) -> web.Response:
    port = site_port(request)
    document: Any = await read_json(request)
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_request", "the site must be a JSON object", field="(body)")
    try:
        stored = port.put(document)
    except InputRejected as err:
        raise ApiError(400, "invalid_site", err.message, field=err.field) from err
    return json_response(stored)


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/site",
            get_site,
            "getSite",
            "The stored site configuration",
            "site",
            {200: Response("the stored site", SITE_DOCUMENT), 404: _ERROR},
        ),
        RouteSpec(
            "PUT",
            "/site",
            put_site,
            "putSite",
            "Replace the site configuration",
            "site",
            {200: Response("the stored, normalised site", SITE_DOCUMENT)},
            body_doc=SITE_DOCUMENT,
            description="Validated by building the optimizer's site model; every error names the field "
            "(e.g. batteries[0].capacity_kwh). A new site triggers a re-plan.",
        ),
    ]

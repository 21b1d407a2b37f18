"""What the plan executor did: modes applied at step boundaries and the local loop's setpoints."""

from __future__ import annotations

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_response

from ..context import context_of
from ..errors import unavailable
from ..spec import Response, RouteSpec, query_of
from ..validation import integer
from .common import OBJECT, array_of, obj

QUERY = vol.Schema({vol.Optional("limit", default=100): vol.All(integer, vol.Range(min=1, max=2000))})


async def execution(request: web.Request) -> web.Response:
    port = context_of(request).execution
    if port is None:
        raise unavailable("plan execution", "the executor is not running")
    return json_response({"entries": port.recent(query_of(request)["limit"])})


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/execution",
            execution,
            "getExecution",
            "Recent decisions of the plan executor, oldest first",
            "plan",
            {200: Response("journal entries", obj(["entries"], entries=array_of(OBJECT)))},
            query=QUERY,
            description="Each entry: time, asset_id, plan_id, mode (and its targets at a new step), measured "
            "load/PV/SOC, the controller's battery power and the command ids sent.",
        ),
    ]

"""The current plan, the optimizer's status and on-demand optimisation."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_bytes_response, json_response
from shems_optimizer.runtime.errors import OptimizationFailed, SiteMissing

from ..context import plan_port
from ..errors import ApiError
from ..spec import Response, RouteSpec, query_of
from .common import OBJECT, TIMESTAMP, array_of, obj

NUMBER_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
WINDOW: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["start", "end", "price"],
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "price": {"type": "number", "description": "import price per kWh, in the plan's currency"},
        "running": {
            "type": "boolean",
            "description": "the window has begun: it begins with whichever step is in force",
        },
    },
}

PLAN_SCHEMA = obj(
    ["id", "created_at", "status", "steps"],
    id={"type": "string"},
    created_at={"type": "string", "format": "date-time"},
    status={"enum": ["optimal", "feasible", "infeasible", "failed"]},
    message={"type": ["string", "null"]},
    step_minutes={"type": ["number", "null"]},
    currency={"type": "string"},
    steps=array_of(
        obj(["start", "end"], start={"type": "string"}, end={"type": "string"}, assets={"type": "object"})
    ),
    appliances=array_of(OBJECT),
    evs=array_of(OBJECT),
    cost_next_24h=NUMBER_OR_NULL,
    cost_next_7d={
        **NUMBER_OR_NULL,
        "description": "net energy cost of the 7 days from the plan's start: the plan's 48 h, then the "
        "7-day hourly outlook optimised after the plan (null until that outlook is done; the plan is "
        "sent again on the stream once it is)",
    },
    cost_today={
        **NUMBER_OR_NULL,
        "description": "the plan's cost for the rest of today (the status's cost_today is the whole day)",
    },
    unmet_goals=array_of(OBJECT),
    cheapest_windows={
        **array_of(
            obj(
                ["from", "next_24h", "today"],
                **{"from": {"type": "string", "format": "date-time"}, "next_24h": WINDOW, "today": WINDOW},
            )
        ),
        "description": "when electricity is cheapest, from each moment the plan covers: the first run "
        "of steps at the lowest import price among those not ended and starting within 24 h (next_24h) "
        "or before local midnight in the site's zone (today); an entry holds from its 'from' until the "
        "next entry's",
    },
)

STATUS_SCHEMA = obj(
    ["optimizer", "last_run", "next_run", "last_error"],
    optimizer={"enum": ["idle", "running", "failed"]},
    last_run=TIMESTAMP,
    last_success=TIMESTAMP,
    next_run=TIMESTAMP,
    last_error={"type": ["string", "null"]},
    cost_today={
        **NUMBER_OR_NULL,
        "description": "net energy cost since local midnight, to the last whole quarter hour: the "
        "measured grid exchange at the prices in force then (the plan in force's cost for quarter "
        "hours without any measurement); costs.today_expected_cost adds the plan for the rest of today",
    },
    cost_month={
        **NUMBER_OR_NULL,
        "description": "the same since local midnight on the 1st; null only when time has passed and "
        "nothing is known about it (costs.note says why)",
    },
    savings_today={
        **NUMBER_OR_NULL,
        "description": "estimated saving since local midnight: per elapsed quarter hour the "
        "no-optimisation baseline's cost minus the optimised cost, as planned by the plan in force then",
    },
    savings_month={
        **NUMBER_OR_NULL,
        "description": "the same estimate since local midnight on the 1st",
    },
    cost_next_7d={**NUMBER_OR_NULL, "description": "the plan's cost_next_7d"},
    costs={
        "type": ["object", "null"],
        "description": "how the cost figures were made: measured and estimated parts, hours, kWh, the "
        "expected totals with the plan for the rest of today (today_expected_cost, "
        "month_expected_cost, today_expected_savings), month_start / today_start (when the totals "
        "reset) and a note when something was missing or assumed",
    },
    outlook={
        "type": ["object", "null"],
        "description": "the 7-day outlook: when it was computed, for which plan, its cost, how long "
        "it took and its last error",
    },
    currency={"type": "string"},
    prices_updated_at=TIMESTAMP,
    problems={
        **array_of(obj(["code", "message"], code={"type": "string"}, message={"type": "string"})),
        "description": "set-up problems a person must fix, each with a stable code and a message in "
        "plain words; no_home_assistant: started without Home Assistant's URL and token, so no Home "
        "Assistant sensors and no prices from Home Assistant are read",
    },
)

OPTIMIZE_QUERY = vol.Schema(
    {vol.Optional("reason", description="why (recorded with the run)"): vol.All(str, vol.Length(max=100))}
)


class _EncodedPlan:
    """The plan's UTF-8 bytes, encoded once per plan: the planner hands out the same string object
    until it makes a new plan, so an identity check tells when to encode again. The text and its
    bytes are kept as one tuple, replaced in one step."""

    def __init__(self) -> None:
        self._last: tuple[str, bytes] = ("", b"")

    def body(self, text: str) -> bytes:
        last = self._last
        if last[0] is not text:
            last = self._last = (text, text.encode())
        return last[1]


_PLAN_BODY = _EncodedPlan()


async def get_plan(request: web.Request) -> web.Response:
    text = plan_port(request).current_plan_json()
    if text is None:
        raise ApiError(404, "no_plan", "no plan yet: configure the site, then optimize")
    return json_bytes_response(_PLAN_BODY.body(text))


async def get_status(request: web.Request) -> web.Response:
    return json_response(plan_port(request).status())


async def optimize(request: web.Request) -> web.Response:
    reason = query_of(request).get("reason") or "api"
    try:
        plan = await plan_port(request).optimize_now(reason)
    except SiteMissing as err:
        raise ApiError(409, "no_site", str(err) or "no site is configured yet") from err
    except OptimizationFailed as err:
        raise ApiError(422, "optimization_failed", str(err)) from err
    return json_response(plan)


_ERROR = Response("error", {"$ref": "#/components/schemas/Error"})


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/plan",
            get_plan,
            "getPlan",
            "The plan in force",
            "plan",
            {200: Response("the current plan", PLAN_SCHEMA), 404: _ERROR},
        ),
        RouteSpec(
            "GET",
            "/status",
            get_status,
            "getStatus",
            "Optimizer status, costs and savings",
            "plan",
            {200: Response("status", STATUS_SCHEMA)},
        ),
        RouteSpec(
            "POST",
            "/optimize",
            optimize,
            "optimizeNow",
            "Re-plan now and return the new plan",
            "plan",
            {
                200: Response("the new plan", PLAN_SCHEMA),
                409: Response("no site is configured yet", {"$ref": "#/components/schemas/Error"}),
                422: Response(
                    "the run failed; the last good plan is kept and the status says why",
                    {"$ref": "#/components/schemas/Error"},
                ),
            },
            query=OPTIMIZE_QUERY,
        ),
    ]

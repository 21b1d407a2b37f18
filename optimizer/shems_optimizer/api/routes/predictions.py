"""Forecasts of load, PV, prices and cost, and recommendations derived from the plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_response

from ..context import prediction_port
from ..errors import ApiError
from ..spec import Response, RouteSpec, query_of
from ..validation import aware_datetime
from .common import OBJECT, array_of, obj

KINDS = ("load", "pv", "price", "cost")
POINT_SOURCES = ("tariff", "plan", "outlook", "plan+outlook", "calendar", "none")
HORIZON = re.compile(r"^([1-9][0-9]{0,2})([hd])$")
MAX_HOURLY_H = 7 * 24  # up to 7 days hourly
MAX_DAILY_D = 30  # up to 30 days daily

PREDICTION_QUERY = vol.Schema(
    {
        vol.Required("kind"): vol.In(KINDS),
        vol.Optional(
            "horizon", default="48h", description="e.g. 24h, 48h, 7d (hourly) or 30d (daily)"
        ): vol.All(str, vol.Match(HORIZON.pattern)),
        vol.Optional("start", description="default: now"): aware_datetime,
    }
)

PREDICTION_SCHEMA = obj(
    ["kind", "granularity", "unit", "points"],
    kind={"type": "string"},
    granularity={"enum": ["hour", "day"]},
    unit={"type": "string"},
    source={"type": "string", "description": "where the values come from, in words (sums up the points')"},
    currency={"type": "string"},
    points=array_of(
        obj(
            ["start", "value"],
            start={"type": "string", "format": "date-time"},
            end={"type": "string", "format": "date-time"},
            value={"type": ["number", "null"]},
            source={
                "enum": list(POINT_SOURCES),
                "description": "tariff: fixed or time-of-use price (exact); plan: the 48 h plan in force; "
                "outlook: the 7-day hourly outlook optimised after each plan; plan+outlook: both; "
                "calendar: a day beyond the outlook, the mean per hour of the same weekday among the "
                "covered whole days (of all of them without that weekday) times the day's length; "
                "none: nothing covers the bucket (value null). Daily buckets: the first day counts "
                "from the plan's start (the rest of today).",
            },
            p10={"type": ["number", "null"]},
            p90={"type": ["number", "null"]},
        )
    ),
)


def resolve_horizon(text: str) -> tuple[int, str]:
    """'48h' -> (48, 'hour'); '7d' -> (168, 'hour'); '30d' -> (30, 'day')."""
    match = HORIZON.match(text)
    if match is None:  # pragma: no cover - the schema already checked the pattern
        raise ApiError(400, "invalid_request", f"query field 'horizon': {text!r}", field="horizon")
    count, unit = int(match.group(1)), match.group(2)
    hours = count if unit == "h" else count * 24
    if hours <= MAX_HOURLY_H:
        return hours, "hour"
    if unit == "d" and count <= MAX_DAILY_D:
        return count, "day"
    raise ApiError(
        400,
        "invalid_request",
        f"query field 'horizon': at most {MAX_HOURLY_H}h hourly or {MAX_DAILY_D}d daily, got {text!r}",
        field="horizon",
    )


async def predictions(request: web.Request) -> web.Response:
    query = query_of(request)
    steps, granularity = resolve_horizon(query["horizon"])
    start = query.get("start") or datetime.now(tz=UTC)
    return json_response(await prediction_port(request).predictions(query["kind"], start, steps, granularity))


async def recommendations(request: web.Request) -> web.Response:
    return json_response(await prediction_port(request).recommendations())


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/predictions",
            predictions,
            "getPredictions",
            "Forecast of load, PV, price or cost",
            "forecast",
            {200: Response("forecast series", PREDICTION_SCHEMA)},
            query=PREDICTION_QUERY,
        ),
        RouteSpec(
            "GET",
            "/recommendations",
            recommendations,
            "getRecommendations",
            "What to do when, in words, from the current plan",
            "forecast",
            {200: Response("recommendations", obj(["recommendations"], recommendations=array_of(OBJECT)))},
        ),
    ]

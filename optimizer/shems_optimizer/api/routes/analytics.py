"""Consumption analytics over a period, and real-time usage."""

from __future__ import annotations

from datetime import timedelta

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_response

from ..context import analytics_port
from ..errors import ApiError
from ..spec import Response, RouteSpec, query_of
from ..validation import aware_datetime, identifier
from .common import OBJECT, array_of, obj

# Individual readings are not a consumption series (their energy depends on the gap to the next
# one); the finest bucket is 15 minutes.
GRANULARITIES = ("15min", "hour", "day", "week", "month")
# The longest period each granularity may cover, so one request cannot ask for millions of rows.
MAX_SPAN = {
    "15min": timedelta(days=31),
    "hour": timedelta(days=93),
    "day": timedelta(days=3 * 366),
    "week": timedelta(days=5 * 366),
    "month": timedelta(days=10 * 366),
}

CONSUMPTION_QUERY = vol.Schema(
    {
        vol.Required("start", description="inclusive, ISO 8601 with offset"): aware_datetime,
        vol.Required("end", description="exclusive, ISO 8601 with offset"): aware_datetime,
        vol.Optional("device", description="one device id; the whole home when absent"): identifier,
        vol.Optional("granularity", default="hour"): vol.In(GRANULARITIES),
    }
)

POINT = obj(
    ["start", "energy_kwh"],
    start={"type": "string", "format": "date-time"},
    energy_kwh={"type": ["number", "null"]},
    avg_power_w={"type": ["number", "null"]},
    peak_power_w={"type": ["number", "null"]},
)
CONSUMPTION_SCHEMA = obj(
    ["granularity", "series"],
    device={"type": ["string", "null"]},
    granularity={"type": "string"},
    start={"type": "string"},
    end={"type": "string"},
    total_kwh={"type": ["number", "null"]},
    series=array_of(POINT),
)


async def consumption(request: web.Request) -> web.Response:
    query = query_of(request)
    start, end, granularity = query["start"], query["end"], query["granularity"]
    if end <= start:
        raise ApiError(400, "invalid_request", "query field 'end' must be after 'start'", field="end")
    if end - start > MAX_SPAN[granularity]:
        raise ApiError(
            400,
            "invalid_request",
            f"query field 'end': at most {MAX_SPAN[granularity].days} days at granularity {granularity!r}",
            field="end",
        )
    answer = await analytics_port(request).consumption(start, end, query.get("device"), granularity)
    return json_response(answer)


async def usage(request: web.Request) -> web.Response:
    return json_response(await analytics_port(request).usage())


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/consumption",
            consumption,
            "getConsumption",
            "Energy used per period",
            "analytics",
            {200: Response("consumption series", CONSUMPTION_SCHEMA)},
            query=CONSUMPTION_QUERY,
            query_cacheable=True,
        ),
        RouteSpec(
            "GET",
            "/usage",
            usage,
            "getUsage",
            "Real-time power per device and for the home",
            "analytics",
            {
                200: Response(
                    "latest power readings",
                    obj(["devices"], devices=array_of(OBJECT), total_power_w={"type": ["number", "null"]}),
                )
            },
        ),
    ]

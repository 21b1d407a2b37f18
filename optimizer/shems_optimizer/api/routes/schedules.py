"""Schedules: user goals such as "run the dishwasher by 07:00", honoured by the next plans."""

from __future__ import annotations

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_response
from shems_optimizer.runtime.errors import InputRejected

from ..context import schedule_port
from ..errors import ApiError, not_found
from ..spec import Response, RouteSpec, body_of, link
from ..validation import aware_datetime
from .common import OBJECT, TIMESTAMP, array_of, obj, path_id

SCHEDULE_BODY = vol.Schema(
    {
        vol.Required("appliance_id", description="an appliance of the site, by id"): vol.All(
            str, vol.Length(min=1, max=100)
        ),
        vol.Required("finish_by"): aware_datetime,
        vol.Optional("earliest_start"): aware_datetime,
        vol.Optional("note"): vol.All(str, vol.Length(max=200)),
    },
    extra=vol.PREVENT_EXTRA,
)

SCHEDULE_SCHEMA = obj(
    ["id", "appliance_id", "finish_by"],
    id={"type": "string"},
    appliance_id={"type": "string"},
    finish_by={"type": "string", "format": "date-time"},
    earliest_start=TIMESTAMP,
    planned_start=TIMESTAMP,
    planned_end=TIMESTAMP,
    created_at=TIMESTAMP,
    note={"type": ["string", "null"]},
)

CREATED_SCHEMA = {
    **SCHEDULE_SCHEMA,
    "required": [*SCHEDULE_SCHEMA["required"], "replaced"],
    "properties": {
        **SCHEDULE_SCHEMA["properties"],
        "replaced": {
            **array_of({"type": "string"}),
            "description": "ids of the appliance's earlier schedules this one replaces (now cancelled)",
        },
    },
}


async def list_schedules(request: web.Request) -> web.Response:
    return json_response({"schedules": await schedule_port(request).list_schedules()})


async def create_schedule(request: web.Request) -> web.Response:
    body = body_of(request)
    if "earliest_start" in body and body["earliest_start"] >= body["finish_by"]:
        raise ApiError(
            400,
            "invalid_request",
            "body field 'earliest_start' must be before 'finish_by'",
            field="earliest_start",
        )
    try:
        created = await schedule_port(request).create_schedule(body)
    except InputRejected as err:
        raise ApiError(400, "invalid_request", err.message, field=err.field) from err
    return json_response(created, status=201)


async def delete_schedule(request: web.Request) -> web.Response:
    schedule_id = path_id(request, "schedule_id")
    if not await schedule_port(request).delete_schedule(schedule_id):
        raise not_found("schedule", schedule_id)
    return web.Response(status=204)


def routes() -> list[RouteSpec]:
    return [
        RouteSpec(
            "GET",
            "/schedules",
            list_schedules,
            "listSchedules",
            "Appliance schedules",
            "schedules",
            {200: Response("schedules", obj(["schedules"], schedules=array_of(SCHEDULE_SCHEMA)))},
        ),
        RouteSpec(
            "POST",
            "/schedules",
            create_schedule,
            "createSchedule",
            "Ask for an appliance run finished by a time; replaces that appliance's earlier schedule "
            "and triggers a re-plan",
            "schedules",
            {
                201: Response(
                    "the schedule",
                    CREATED_SCHEMA,
                    links={"DeleteSchedule": link("deleteSchedule", schedule_id="id")},
                )
            },
            body=SCHEDULE_BODY,
        ),
        RouteSpec(
            "DELETE",
            "/schedules/{schedule_id}",
            delete_schedule,
            "deleteSchedule",
            "Remove a schedule",
            "schedules",
            {204: Response("removed"), 404: Response("no such schedule", OBJECT)},
            path_params={"schedule_id": "the schedule's id"},
        ),
    ]

"""Devices (register with MQTT topics, list, get, delete), their live status, and commands to them."""

from __future__ import annotations

import voluptuous as vol
from aiohttp import web

from shems_optimizer.api.responses import json_response
from shems_optimizer.runtime.errors import Conflict, InputRejected

from ..context import command_port, device_port
from ..errors import ApiError, not_found
from ..spec import Response, RouteSpec, body_of, link, query_of
from ..validation import finite_number, identifier, integer, mqtt_topic
from .common import NULLABLE_OBJECT, OBJECT, TIMESTAMP, array_of, obj, path_id

# What a device is, in the store's terms (analytics tell consumption from production by it).
DEVICE_TYPES = ("grid", "pv", "battery", "ev", "heat_pump", "water_heater", "appliance", "load")

DEVICE_BODY = vol.Schema(
    {
        vol.Required("device_id", description="stable id, e.g. 'dishwasher'"): identifier,
        vol.Required("name"): vol.All(str, vol.Length(min=1, max=100)),
        vol.Required("type"): vol.In(DEVICE_TYPES),
        vol.Optional("mqtt", description="topics for telemetry, commands and command acks"): vol.Schema(
            {
                vol.Optional("state_topic"): mqtt_topic,
                vol.Optional("command_topic"): mqtt_topic,
                vol.Optional("ack_topic"): mqtt_topic,
            },
            extra=vol.PREVENT_EXTRA,
        ),
        vol.Optional(
            "ha_entity_id", description="a Home Assistant entity controlled via service calls"
        ): vol.All(str, vol.Match(r"^[a-z_]+\.[a-z0-9_]+$")),
        vol.Optional("firmware"): vol.All(str, vol.Length(max=100)),
        vol.Optional("payload_format", description="telemetry format of state_topic"): vol.In(
            ("shems", "shelly_gen2", "tasmota", "zigbee2mqtt")
        ),
        vol.Optional(
            "max_power_w",
            description="rated power in W: telemetry above it (+10 %) is refused as implausible",
        ): vol.All(finite_number, vol.Range(min=1, max=1e9)),
    },
    extra=vol.PREVENT_EXTRA,
)

COMMAND_BODY = vol.Schema(
    {
        vol.Required("command", description="e.g. start, stop, set_power, set_mode"): identifier,
        vol.Optional("payload", default=dict): vol.All(dict, vol.Length(max=50)),
        vol.Optional("ttl_s", description="expire if not acknowledged within this many seconds"): vol.All(
            vol.Any(int, float), vol.Range(min=1, max=86_400)
        ),
    },
    extra=vol.PREVENT_EXTRA,
)

LIST_QUERY = vol.Schema({vol.Optional("limit", default=50): vol.All(integer, vol.Range(min=1, max=1000))})

DEVICE_SCHEMA = obj(
    ["device_id", "name", "type"],
    device_id={"type": "string"},
    name={"type": "string"},
    type={"type": "string"},
    mqtt=NULLABLE_OBJECT,
    ha_entity_id={"type": ["string", "null"]},
    firmware={"type": ["string", "null"]},
    max_power_w={"type": ["number", "null"]},
    last_seen=TIMESTAMP,
    source={
        "enum": ["registered", "site"],
        "description": "site: a meter the add-on stores from the Home Assistant sensors the site names "
        "(measures only, takes no commands); registered: added through this API",
    },
)
COMMAND_SCHEMA = obj(
    ["command_id", "device_id", "command", "status"],
    command_id={"type": "string"},
    device_id={"type": "string"},
    command={"type": "string"},
    payload=OBJECT,
    status={"enum": ["pending", "sent", "acked", "failed", "expired"]},
    correlation_id={"type": ["string", "null"]},
    created_at=TIMESTAMP,
    sent_at=TIMESTAMP,
    acked_at=TIMESTAMP,
    finished_at=TIMESTAMP,
    expires_at={**TIMESTAMP, "description": "created_at + ttl_s; never sent after this"},
    attempts={"type": "integer"},
    error={"type": ["string", "null"], "description": "why it failed or expired"},
)


async def list_devices(request: web.Request) -> web.Response:
    return json_response({"devices": await device_port(request).list_devices()})


async def register_device(request: web.Request) -> web.Response:
    try:
        device = await device_port(request).register_device(body_of(request))
    except Conflict as err:
        raise ApiError(409, "conflict", str(err), field="device_id") from err
    except InputRejected as err:
        raise ApiError(400, "invalid_request", err.message, field=err.field) from err
    return json_response(device, status=201)


async def get_device(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    device = await device_port(request).get_device(device_id)
    if device is None:
        raise not_found("device", device_id)
    return json_response(device)


async def delete_device(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    if not await device_port(request).delete_device(device_id):
        raise not_found("device", device_id)
    return web.Response(status=204)


async def device_status(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    port = device_port(request)
    status = port.latest_status(device_id)
    if status is None:
        if await port.get_device(device_id) is None:
            raise not_found("device", device_id)
        return json_response({"device_id": device_id, "state": None, "time": None})
    return json_response(status)


async def send_command(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    body = body_of(request)
    try:
        record = await command_port(request).submit(
            device_id, body["command"], body["payload"], body.get("ttl_s")
        )
    except LookupError as err:
        raise not_found("device", device_id) from err
    except InputRejected as err:
        raise ApiError(400, "invalid_request", err.message, field=err.field) from err
    return json_response(record, status=202)


async def list_commands(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    if await device_port(request).get_device(device_id) is None:
        raise not_found("device", device_id)
    limit = query_of(request)["limit"]
    return json_response({"commands": await command_port(request).list_commands(device_id, limit)})


async def get_command(request: web.Request) -> web.Response:
    device_id = path_id(request, "device_id")
    command_id = path_id(request, "command_id")
    record = await command_port(request).get_command(command_id)
    if record is None or record.get("device_id") != device_id:
        raise not_found("command", command_id)
    return json_response(record)


_NOT_FOUND = Response("no such device", OBJECT)


def routes() -> list[RouteSpec]:
    dev = {"device_id": "the device's id"}
    return [
        RouteSpec(
            "GET",
            "/devices",
            list_devices,
            "listDevices",
            "Registered devices",
            "devices",
            {200: Response("devices", obj(["devices"], devices=array_of(DEVICE_SCHEMA)))},
        ),
        RouteSpec(
            "POST",
            "/devices",
            register_device,
            "registerDevice",
            "Register a device",
            "devices",
            {
                201: Response(
                    "the registered device",
                    DEVICE_SCHEMA,
                    links={
                        "GetDevice": link("getDevice", device_id="device_id"),
                        "GetDeviceStatus": link("getDeviceStatus", device_id="device_id"),
                        "SendCommand": link("sendCommand", device_id="device_id"),
                        "ListCommands": link("listCommands", device_id="device_id"),
                        "DeleteDevice": link("deleteDevice", device_id="device_id"),
                    },
                ),
                409: Response("a device with this id exists", OBJECT),
            },
            body=DEVICE_BODY,
            description="Devices with MQTT topics get commands over MQTT (command and ack topics "
            "default to shems/devices/<id>/command and .../ack); devices with ha_entity_id through "
            "Home Assistant service calls.",
        ),
        RouteSpec(
            "GET",
            "/devices/{device_id}",
            get_device,
            "getDevice",
            "One device",
            "devices",
            {200: Response("the device", DEVICE_SCHEMA), 404: _NOT_FOUND},
            path_params=dev,
        ),
        RouteSpec(
            "DELETE",
            "/devices/{device_id}",
            delete_device,
            "deleteDevice",
            "Remove a device",
            "devices",
            {204: Response("removed"), 404: _NOT_FOUND},
            path_params=dev,
        ),
        RouteSpec(
            "GET",
            "/devices/{device_id}/status",
            device_status,
            "getDeviceStatus",
            "Latest state received from the device (from memory)",
            "devices",
            {
                200: Response(
                    "latest state",
                    obj(
                        ["device_id", "state"],
                        device_id={"type": "string"},
                        state=NULLABLE_OBJECT,
                        time=TIMESTAMP,
                    ),
                ),
                404: _NOT_FOUND,
            },
            path_params=dev,
        ),
        RouteSpec(
            "POST",
            "/devices/{device_id}/commands",
            send_command,
            "sendCommand",
            "Send a command; answered at once, follow its status by id or on the stream",
            "commands",
            {
                202: Response(
                    "the command, status pending or sent",
                    COMMAND_SCHEMA,
                    links={"GetCommand": link("getCommand", device_id="device_id", command_id="command_id")},
                ),
                404: _NOT_FOUND,
            },
            body=COMMAND_BODY,
            path_params=dev,
        ),
        RouteSpec(
            "GET",
            "/devices/{device_id}/commands",
            list_commands,
            "listCommands",
            "Recent commands to a device, newest first",
            "commands",
            {
                200: Response("commands", obj(["commands"], commands=array_of(COMMAND_SCHEMA))),
                404: _NOT_FOUND,
            },
            query=LIST_QUERY,
            path_params=dev,
        ),
        RouteSpec(
            "GET",
            "/devices/{device_id}/commands/{command_id}",
            get_command,
            "getCommand",
            "One command and its status",
            "commands",
            {200: Response("the command", COMMAND_SCHEMA), 404: Response("no such command", OBJECT)},
            path_params={**dev, "command_id": "the command's id"},
        ),
    ]

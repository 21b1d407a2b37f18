"""Services with answers: plan, schedule an appliance, consumption, forecasts, recommendations, commands.

Each validates its input before calling the add-on (translated ``ServiceValidationError`` naming the
problem) and turns add-on failures into translated ``HomeAssistantError``s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .api import ShemsConnectionError, ShemsError, ShemsResponseError
from .const import DOMAIN, SUBENTRY_APPLIANCE

if TYPE_CHECKING:
    from . import ShemsConfigEntry

ATTR_CONFIG_ENTRY = "config_entry_id"
ATTR_APPLIANCE = "appliance"
ATTR_FINISH_BY = "finish_by"
ATTR_START = "start"
ATTR_END = "end"
ATTR_GRANULARITY = "granularity"
ATTR_DEVICE = "device"
ATTR_KIND = "kind"
ATTR_HORIZON = "horizon"
ATTR_COMMAND = "command"
ATTR_PAYLOAD = "payload"

GRANULARITIES = ("15min", "hour", "day", "month")
FORECAST_KINDS = ("pv", "load", "price", "cost")
HORIZONS = ("24h", "48h", "7d", "30d")
MAX_CONSUMPTION_SPAN = timedelta(days=366)

ENTRY_FIELD: dict[vol.Marker, Any] = {vol.Optional(ATTR_CONFIG_ENTRY): cv.string}

SCHEMAS: dict[str, vol.Schema] = {
    "optimize": vol.Schema(ENTRY_FIELD),
    "get_plan": vol.Schema(ENTRY_FIELD),
    "get_recommendations": vol.Schema(ENTRY_FIELD),
    "schedule_appliance": vol.Schema(
        {**ENTRY_FIELD, vol.Required(ATTR_APPLIANCE): cv.string, vol.Required(ATTR_FINISH_BY): cv.datetime}
    ),
    "get_consumption": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required(ATTR_START): cv.datetime,
            vol.Required(ATTR_END): cv.datetime,
            vol.Optional(ATTR_GRANULARITY, default="hour"): vol.In(GRANULARITIES),
            vol.Optional(ATTR_DEVICE): cv.string,
        }
    ),
    "get_forecast": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required(ATTR_KIND): vol.In(FORECAST_KINDS),
            vol.Optional(ATTR_HORIZON, default="24h"): vol.In(HORIZONS),
        }
    ),
    "send_command": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required(ATTR_DEVICE): cv.string,
            vol.Required(ATTR_COMMAND): cv.string,
            vol.Optional(ATTR_PAYLOAD, default={}): dict,
        }
    ),
}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt_util.get_default_time_zone())


def resolve_entry(hass: HomeAssistant, entry_id: str | None) -> ShemsConfigEntry:
    """The loaded SHEMS entry a call is for (the only one when the call names none)."""
    if entry_id is None:
        loaded = [e for e in hass.config_entries.async_entries(DOMAIN) if e.state is ConfigEntryState.LOADED]
        if len(loaded) != 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_required",
                translation_placeholders={"count": str(len(loaded))},
            )
        return loaded[0]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry": entry_id},
        )
    return entry


def _device_suffix(hass: HomeAssistant, entry: ShemsConfigEntry, device_id: str) -> str | None:
    """The part after ``<uid>_`` of the SHEMS identifier of a device of this entry."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    prefix = f"{entry.unique_id or entry.entry_id}_"
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix):
            return identifier[len(prefix) :]
    return None


def resolve_appliance(hass: HomeAssistant, entry: ShemsConfigEntry, device_id: str) -> str:
    """Subentry id of the appliance behind a device id (or a subentry id / appliance name)."""
    candidates = {device_id, _device_suffix(hass, entry, device_id)}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_APPLIANCE:
            continue
        if subentry_id in candidates or subentry.title.casefold() == device_id.casefold():
            return subentry_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_an_appliance",
        translation_placeholders={"device": device_id},
    )


def resolve_meter(hass: HomeAssistant, entry: ShemsConfigEntry, device_id: str) -> str:
    """The add-on's id of the meter behind a device id (an add-on device id is accepted as it is)."""
    suffix = _device_suffix(hass, entry, device_id)
    if suffix is not None and suffix.startswith("meter_"):
        return suffix[len("meter_") :]
    if suffix is None and device_id in entry.runtime_data.coordinator.data.meters:
        return device_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_meter",
        translation_placeholders={"device": device_id},
    )


async def _call(factory: Callable[[], Awaitable[Any]]) -> Any:
    """Run one add-on request; failures become translated errors."""
    try:
        return await factory()
    except ShemsResponseError as err:
        if err.status is not None and 400 <= err.status < 500:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="addon_rejected",
                translation_placeholders={"error": str(err)},
            ) from err
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="addon_error",
            translation_placeholders={"error": str(err)},
        ) from err
    except ShemsConnectionError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    except ShemsError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="addon_error",
            translation_placeholders={"error": str(err)},
        ) from err


def _as_response(value: Any) -> ServiceResponse:
    if isinstance(value, dict):
        return value
    return {"items": value}


async def _optimize(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    coordinator = entry.runtime_data.coordinator
    plan = await _call(coordinator.client.optimize)
    coordinator.async_set_plan(plan)
    return dict(plan.raw)


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    plan = await _call(entry.runtime_data.client.plan)
    return dict(plan.raw) if plan is not None else {"status": "none"}


async def _schedule_appliance(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    appliance_id = resolve_appliance(call.hass, entry, call.data[ATTR_APPLIANCE])
    finish_by = _aware(call.data[ATTR_FINISH_BY])
    if finish_by <= dt_util.utcnow():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="finish_by_in_past",
            translation_placeholders={"finish_by": finish_by.isoformat()},
        )
    coordinator = entry.runtime_data.coordinator
    return _as_response(await _call(lambda: coordinator.async_schedule_appliance(appliance_id, finish_by)))


async def _get_consumption(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    start, end = _aware(call.data[ATTR_START]), _aware(call.data[ATTR_END])
    if end <= start:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="end_before_start",
            translation_placeholders={"start": start.isoformat(), "end": end.isoformat()},
        )
    if end - start > MAX_CONSUMPTION_SPAN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="span_too_long",
            translation_placeholders={"days": str(MAX_CONSUMPTION_SPAN.days)},
        )
    params = {"start": start.isoformat(), "end": end.isoformat(), "granularity": call.data[ATTR_GRANULARITY]}
    if device := call.data.get(ATTR_DEVICE):
        params["device"] = resolve_meter(call.hass, entry, device)
    client = entry.runtime_data.client
    return _as_response(await _call(lambda: client.raw("GET", "/consumption", params=params)))


async def _get_forecast(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    params = {"kind": call.data[ATTR_KIND], "horizon": call.data[ATTR_HORIZON]}
    client = entry.runtime_data.client
    return _as_response(await _call(lambda: client.raw("GET", "/predictions", params=params)))


async def _get_recommendations(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    client = entry.runtime_data.client
    return _as_response(await _call(lambda: client.raw("GET", "/recommendations")))


async def _send_command(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY))
    meter_id = resolve_meter(call.hass, entry, call.data[ATTR_DEVICE])
    command = call.data[ATTR_COMMAND].strip()
    if not command:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="command_required")
    client = entry.runtime_data.client
    return _as_response(
        await _call(
            lambda: client.raw(
                "POST",
                f"/devices/{meter_id}/commands",
                payload={"command": command, "payload": call.data[ATTR_PAYLOAD]},
            )
        )
    )


type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

HANDLERS: dict[str, tuple[Handler, SupportsResponse]] = {
    "optimize": (_optimize, SupportsResponse.OPTIONAL),
    "get_plan": (_get_plan, SupportsResponse.ONLY),
    "schedule_appliance": (_schedule_appliance, SupportsResponse.OPTIONAL),
    "get_consumption": (_get_consumption, SupportsResponse.ONLY),
    "get_forecast": (_get_forecast, SupportsResponse.ONLY),
    "get_recommendations": (_get_recommendations, SupportsResponse.ONLY),
    "send_command": (_send_command, SupportsResponse.OPTIONAL),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    for name, (handler, supports) in HANDLERS.items():
        hass.services.async_register(DOMAIN, name, handler, schema=SCHEMAS[name], supports_response=supports)

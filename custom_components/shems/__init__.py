"""SHEMS: smart-home energy planning for Home Assistant.

The integration is a thin client of the SHEMS add-on: it never imports the engine and talks to it
only over the add-on's HTTP/WebSocket API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api import ShemsClient
from .const import CONF_TOKEN, CONF_URL, DOMAIN
from .coordinator import ShemsCoordinator
from .entity import hub_device
from .intents import async_setup_intents
from .migration import async_migrate_entry as async_migrate_entry  # HA calls it for older entries
from .repairs import async_clear_issues, async_watch_sources
from .services import async_setup_services
from .voice import async_attach_sentences

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass
class ShemsRuntimeData:
    """What a loaded config entry keeps while it is set up."""

    client: ShemsClient
    coordinator: ShemsCoordinator
    structure: tuple[object, ...]


type ShemsConfigEntry = ConfigEntry[ShemsRuntimeData]


def entry_structure(entry: ConfigEntry) -> tuple[object, ...]:
    """What, when changed, needs a reload (new devices/entities); anything else is just pushed."""
    return (
        repr(sorted(entry.data.items())),
        repr(sorted(entry.options.items())),
        tuple(sorted((sub_id, sub.subentry_type, sub.title) for sub_id, sub in entry.subentries.items())),
    )


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and voice intents once, for every entry."""
    async_setup_services(hass)
    async_setup_intents(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ShemsConfigEntry) -> bool:
    """Connect to the add-on, push the home to it, read its plan and follow its stream."""
    client = ShemsClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_TOKEN, ""))
    coordinator = ShemsCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = ShemsRuntimeData(
        client=client, coordinator=coordinator, structure=entry_structure(entry)
    )
    entry.async_on_unload(coordinator.cancel_timers)
    entry.async_on_unload(async_watch_sources(hass, entry))
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _home_config_listener(entry)))
    # The hub device first: every other device hangs off it (via_device).
    dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **hub_device(entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_create_background_task(hass, coordinator.async_run_stream(), f"{DOMAIN} stream {entry.title}")
    entry.async_on_unload(await async_attach_sentences(hass, entry.entry_id))
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    """Reload when devices or options change; otherwise push the edited values to the add-on."""
    if entry.runtime_data.structure != entry_structure(entry):
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    await _async_push_site(entry)


def _home_config_listener(entry: ShemsConfigEntry) -> Callable[[Event], Coroutine[Any, Any, None]]:
    """HA's own location, time zone, currency or name is part of the site: re-send it when it changes."""

    async def home_changed(event: Event) -> None:
        await _async_push_site(entry)

    return home_changed


async def _async_push_site(entry: ShemsConfigEntry) -> None:
    """Send the site now; if the add-on cannot take it, the next successful poll sends it."""
    coordinator = entry.runtime_data.coordinator
    try:
        await coordinator.async_push_site()
    except (UpdateFailed, ConfigEntryAuthFailed) as err:
        _LOGGER.warning("Configuration change not yet sent to the add-on (will retry): %s", err)
        return
    await coordinator.async_request_refresh()


async def async_unload_entry(hass: HomeAssistant, entry: ShemsConfigEntry) -> bool:
    """Unload a config entry; its repair issues go with it."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        async_clear_issues(hass, entry.entry_id)
    return unloaded


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: ShemsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a meter device the add-on no longer reports; everything else stays."""
    prefix = f"{entry.unique_id or entry.entry_id}_meter_"
    meters = entry.runtime_data.coordinator.data.meters
    return any(
        domain == DOMAIN and identifier.startswith(prefix) and identifier[len(prefix) :] not in meters
        for domain, identifier in device.identifiers
    )

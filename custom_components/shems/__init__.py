"""SHEMS: smart-home energy planning for Home Assistant.

The integration is a thin client of the SHEMS add-on: it never imports the engine and talks to it
only over the add-on's HTTP/WebSocket API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api import ShemsClient
from .card import async_setup_card
from .const import CONF_TOKEN, CONF_URL, DOMAIN
from .coordinator import ShemsCoordinator
from .entity import AssetEntities, entry_uid, hub_device
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
    assets: AssetEntities = field(default_factory=AssetEntities)
    # Subentry titles as their devices were last named: a rename renames the device, nothing reloads.
    titles: dict[str, str] = field(default_factory=dict)
    # Stops watching the source sensors; restarted when subentries bring or drop sensors.
    unwatch_sources: CALLBACK_TYPE | None = None


type ShemsConfigEntry = ConfigEntry[ShemsRuntimeData]


def entry_structure(entry: ConfigEntry) -> tuple[object, ...]:
    """What, when changed, needs a reload (the home's own devices and options); subentries do not."""
    return (repr(sorted(entry.data.items())), repr(sorted(entry.options.items())))


def _titles(entry: ConfigEntry) -> dict[str, str]:
    return {sub_id: sub.title for sub_id, sub in entry.subentries.items()}


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services, voice intents and the plan card once, for every entry."""
    async_setup_services(hass)
    await async_setup_card(hass)
    async_setup_intents(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ShemsConfigEntry) -> bool:
    """Connect to the add-on, push the home to it, read its plan and follow its stream."""
    client = ShemsClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_TOKEN, ""))
    coordinator = ShemsCoordinator(hass, entry, client)
    entry.runtime_data = ShemsRuntimeData(
        client=client, coordinator=coordinator, structure=entry_structure(entry), titles=_titles(entry)
    )
    # Listen from the start: an asset added while SHEMS is still starting must reach the add-on too.
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await coordinator.async_config_entry_first_refresh()
    entry.async_on_unload(coordinator.cancel_timers)
    entry.runtime_data.unwatch_sources = async_watch_sources(hass, entry)
    entry.async_on_unload(lambda: _unwatch_sources(entry))
    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _home_config_listener(entry)))
    # The hub device first: every other device hangs off it (via_device).
    dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **hub_device(entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_create_background_task(hass, coordinator.async_run_stream(), f"{DOMAIN} stream {entry.title}")
    entry.async_on_unload(await async_attach_sentences(hass, entry.entry_id))
    return True


@callback
def _unwatch_sources(entry: ShemsConfigEntry) -> None:
    if (unwatch := entry.runtime_data.unwatch_sources) is not None:
        unwatch()
        entry.runtime_data.unwatch_sources = None


async def _async_entry_updated(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    """Reload when the home or the options change; an asset added, edited or removed is applied in place
    (its device and entities added or renamed, the site pushed), so nothing else becomes unavailable."""
    runtime = entry.runtime_data
    if runtime.structure != entry_structure(entry):
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    _apply_subentries(hass, entry)
    await _async_push_site(entry)


@callback
def _apply_subentries(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    runtime = entry.runtime_data
    runtime.assets.sync(entry)
    titles = _titles(entry)
    registry = dr.async_get(hass)
    for sub_id, subentry in entry.subentries.items():
        if runtime.titles.get(sub_id, subentry.title) == subentry.title:
            continue
        device = registry.async_get_device(identifiers={(DOMAIN, f"{entry_uid(entry)}_{sub_id}")})
        if device is not None:
            registry.async_update_device(device.id, name=subentry.title)
    runtime.titles = titles
    if runtime.unwatch_sources is not None:
        # The sensors named by the subentries may have changed: watch the current set.
        runtime.unwatch_sources()
        runtime.unwatch_sources = async_watch_sources(hass, entry)


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
    if coordinator.data is not None:  # during set-up the first refresh is still to come
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

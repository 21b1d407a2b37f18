"""SHEMS: smart-home energy planning for Home Assistant.

The integration is a thin client of the SHEMS add-on: it never imports the engine and talks to it
only over the add-on's HTTP/WebSocket API.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import CONF_URL


@dataclass
class ShemsRuntimeData:
    """What a loaded config entry keeps while it is set up."""

    url: str


type ShemsConfigEntry = ConfigEntry[ShemsRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: ShemsConfigEntry) -> bool:
    """Set up SHEMS from a config entry."""
    entry.runtime_data = ShemsRuntimeData(url=entry.data[CONF_URL])
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ShemsConfigEntry) -> bool:
    """Unload a config entry."""
    return True

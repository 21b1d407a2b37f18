"""The integration sets up against the real add-on, pushes the home to it and unloads cleanly."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import GRID_IMPORT, SOLAR, TOKEN


async def test_setup_pushes_the_site_and_unloads(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site["grid"]["import_energy_entity"] == GRID_IMPORT
    assert site["solar"] == [{"energy_entity": SOLAR}]
    assert site["price"]["kind"] == "tou"
    assert [b["id"] for b in site["batteries"]] == ["battery1"]
    assert [a["name"] for a in site["appliances"]] == ["Dishwasher"]
    assert site["evs"][0]["departure"] == "07:30"
    # HA's home location (set in the `home` fixture), for the add-on's PV forecast.
    assert site["location"] == {"latitude": 48.83, "longitude": 2.35}
    # Moving the home in HA's settings re-sends the site, without a reload.
    await hass.config.async_update(latitude=52.52, longitude=13.405, time_zone="Europe/Paris")
    await hass.async_block_till_done()
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site["location"] == {"latitude": 52.52, "longitude": 13.405}
    assert site["timezone"] == "Europe/Paris"
    assert loaded_entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert TOKEN

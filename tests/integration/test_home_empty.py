"""The hub's "Home empty" switch: it reaches the add-on's site document, the add-on re-plans with eco
comfort bands, and the switch keeps its state across a restart and a reload."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache

from custom_components.shems.const import DOMAIN

from .conftest import make_entry, settled_plan, wait_for

SWITCH = "switch.shems_home_empty"
EMPTY_NOTE = "the home is empty: eco comfort bands are used"


async def set_switch(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {"entity_id": SWITCH}, blocking=True
    )
    await hass.async_block_till_done()


async def addon_site(entry: MockConfigEntry) -> dict[str, Any]:
    site = await entry.runtime_data.client.request("GET", "/site")
    assert isinstance(site, dict)
    return site


def shown(hass: HomeAssistant) -> str:
    state = hass.states.get(SWITCH)
    assert state is not None, f"{SWITCH} does not exist"
    return state.state


async def test_the_switch_tells_the_addon_and_it_plans_for_an_empty_home(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    # On the SHEMS hub device, translated, off at first: an occupied home.
    entry = er.async_get(hass).async_get(SWITCH)
    assert entry is not None and entry.unique_id == f"{loaded_entry.unique_id}_hub_home_empty"
    assert entry.translation_key == "home_empty"
    assert hass.states.get(SWITCH).name == "SHEMS Home empty"
    assert shown(hass) == "off"
    plan = await settled_plan(hass, loaded_entry)
    assert EMPTY_NOTE not in (plan["message"] or "")
    assert (await addon_site(loaded_entry))["home_empty"] is False

    await set_switch(hass, True)
    assert shown(hass) == "on"
    assert (await addon_site(loaded_entry))["home_empty"] is True
    # The new site made the add-on plan again: the plan says the home is empty, and the water heater
    # (the only thermal load here) keeps its minimum temperature.
    empty = await settled_plan(hass, loaded_entry)
    assert empty["id"] != plan["id"]
    assert f"{EMPTY_NOTE}; Water heater: minimum temperature kept (hygiene)" in empty["message"]
    assert loaded_entry.state.name == "LOADED"  # a control never reloads the entry

    await set_switch(hass, False)
    assert shown(hass) == "off"
    assert (await addon_site(loaded_entry))["home_empty"] is False
    back = await settled_plan(hass, loaded_entry)
    assert back["id"] != empty["id"] and EMPTY_NOTE not in (back["message"] or "")


async def test_the_switch_survives_a_restart_and_a_reload(
    hass: HomeAssistant, home: None, addon: Any
) -> None:
    """Restored before the first site push: the add-on is never told an empty home is occupied."""
    config_entry = make_entry(addon)
    config_entry.add_to_hass(hass)
    # As Home Assistant left things before the restart: the entity registered, its state saved on.
    er.async_get(hass).async_get_or_create(
        "switch",
        DOMAIN,
        f"{config_entry.unique_id}_hub_home_empty",
        suggested_object_id="shems_home_empty",
        config_entry=config_entry,
    )
    mock_restore_cache(hass, [State(SWITCH, "on")])

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: config_entry.runtime_data.coordinator.stream_connected)
    assert shown(hass) == "on"
    assert (await addon_site(config_entry))["home_empty"] is True
    first = await settled_plan(hass, config_entry)
    assert EMPTY_NOTE in first["message"]

    # A reload (e.g. after the options change) keeps it too.
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: config_entry.runtime_data.coordinator.stream_connected)
    assert shown(hass) == "on"
    assert (await addon_site(config_entry))["home_empty"] is True

    await set_switch(hass, False)
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert shown(hass) == "off"
    assert (await addon_site(config_entry))["home_empty"] is False
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()

"""Assets added, edited and removed while SHEMS runs: every change reaches the add-on, whatever the pace.

Users add a washing machine and then a dryer in quick succession, or add one while SHEMS is still
starting; each must be known to the add-on (``GET /api/v1/site``) and to voice afterwards, and the
entities already there must stay available throughout (no reload of the entry).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

from .conftest import make_entry, optimized
from .test_voice import speak, speech

WASHER = {"name": "Washing machine", "power_w": 2000, "duration_min": 120, "finish_by": "18:00:00"}
DRYER = {"name": "Dryer", "power_w": 2500, "duration_min": 90, "finish_by": "20:00:00"}


async def add_appliance(hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]) -> None:
    """The subentry flow as the UI runs it: open the form, submit it."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "appliance"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def site_appliances(entry: MockConfigEntry) -> dict[str, str]:
    """Name → id of the appliances the add-on plans for."""
    site = await entry.runtime_data.client.request("GET", "/site")
    return {asset["name"]: asset["id"] for asset in site["appliances"]}


def subentry_id(entry: MockConfigEntry, title: str) -> str:
    return next(sub_id for sub_id, sub in entry.subentries.items() if sub.title == title)


async def test_appliances_added_back_to_back_both_reach_the_addon(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    unavailable: list[str] = []

    @callback
    def watch(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"].split(".")[0] != "automation" and new and new.state == STATE_UNAVAILABLE:
            unavailable.append(event.data["entity_id"])

    # Due an hour before now, i.e. by tomorrow: the cheapest start exists whatever the time of the run
    # (a fixed 20:00 left no room for 90 minutes from 18:30 on).
    dryer = DRYER | {"finish_by": (dt_util.now() - timedelta(hours=1)).strftime("%H:%M:00")}
    unsub = hass.bus.async_listen("state_changed", watch)
    await add_appliance(hass, loaded_entry, WASHER)
    # The dryer follows a moment later, while Home Assistant is still busy with the washing machine.
    await asyncio.sleep(0.1)
    await add_appliance(hass, loaded_entry, dryer)
    await hass.async_block_till_done()
    # Renamed right after: its device takes the new name, still without a reload.
    dryer_id = subentry_id(loaded_entry, "Dryer")
    result = await loaded_entry.start_subentry_reconfigure_flow(hass, dryer_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], dryer | {"name": "Tumble dryer"}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    unsub()
    device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, f"{loaded_entry.unique_id}_{dryer_id}")}
    )
    assert device is not None and device.name == "Tumble dryer"

    appliances = await site_appliances(loaded_entry)
    assert appliances["Washing machine"] == subentry_id(loaded_entry, "Washing machine")
    assert appliances["Tumble dryer"] == dryer_id
    assert loaded_entry.state is ConfigEntryState.LOADED
    # Both have their devices and entities, and nothing that was there before went unavailable.
    for name in ("washing_machine", "dryer"):
        assert hass.states.get(f"sensor.{name}_planned_start") is not None
    assert unavailable == []

    await optimized(hass, loaded_entry)
    response = await speak(hass, "start the tumble dryer at the cheapest time", "en")
    assert speech(response).startswith("The Tumble dryer will start at ")
    schedules = (await loaded_entry.runtime_data.client.request("GET", "/schedules"))["schedules"]
    assert [s["appliance_id"] for s in schedules] == [dryer_id]


async def test_changes_made_while_shems_starts_reach_the_addon(
    hass: HomeAssistant, home: None, addon: Any
) -> None:
    """Added, edited and removed after the first site push and before set-up has finished."""
    entry = make_entry(addon)
    entry.add_to_hass(hass)
    setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
    # The moment the add-on has the first site, set-up is still reading its status and plan.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while addon.service.site.get() is None:
        assert loop.time() < deadline and not setup.done(), "the site was never pushed"
        await asyncio.sleep(0)
    assert entry.state is ConfigEntryState.SETUP_IN_PROGRESS
    await add_appliance(hass, entry, WASHER)
    dishwasher = entry.subentries["dishwasher1"]
    hass.config_entries.async_update_subentry(
        entry, dishwasher, data={**dishwasher.data, "duration_min": 150}
    )
    assert hass.config_entries.async_remove_subentry(entry, "boiler1")
    assert await setup
    await hass.async_block_till_done()

    site = await entry.runtime_data.client.request("GET", "/site")
    durations = {asset["name"]: asset.get("duration_min") for asset in site["appliances"]}
    assert durations == {"Dishwasher": 150, "Washing machine": 120}
    assert site["thermal_loads"] == []
    assert hass.states.get("sensor.washing_machine_planned_start") is not None
    assert dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_boiler1")}) is None
    assert not [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.config_subentry_id == "boiler1"
    ]
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

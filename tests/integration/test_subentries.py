"""Batteries, EVs, appliances and thermal loads: added, edited and removed as config subentries."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.energy.data import async_get_manager
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

from .conftest import BATTERY_IN, BATTERY_OUT, GRID_POWER, make_entry

BATTERY = {
    "name": "Attic battery",
    "capacity_kwh": 5.0,
    "max_charge_w": 2500,
    "max_discharge_w": 2500,
    "min_soc_pct": 10,
    "max_soc_pct": 95,
    "efficiency": 0.9,
}
EV = {
    "name": "Van",
    "battery_kwh": 75,
    "phases": "1",
    "voltage_v": 230,
    "min_current_a": 6,
    "max_current_a": 32,
    "departure": "06:00:00",
    "target_soc_pct": 90,
}
APPLIANCE = {"name": "Washing machine", "power_w": 1800, "duration_min": 90, "finish_by": "18:00:00"}
THERMAL = {
    "name": "Heat pump",
    "thermal_kind": "heat_pump",
    "power_w": 2500,
    "min_temp_c": 35,
    "max_temp_c": 50,
}


async def add(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": SOURCE_USER}
    )


async def site(entry: MockConfigEntry) -> dict[str, Any]:
    result = await entry.runtime_data.client.request("GET", "/site")
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("kind", "user_input", "site_key", "entity_id"),
    [
        ("battery", BATTERY, "batteries", "select.attic_battery_mode"),
        ("ev", EV, "evs", "time.van_departure_time"),
        ("appliance", APPLIANCE, "appliances", "sensor.washing_machine_planned_start"),
        ("thermal_load", THERMAL, "thermal_loads", "sensor.heat_pump_planned_heating_power_now"),
    ],
)
async def test_add_edit_remove(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    kind: str,
    user_input: dict[str, Any],
    site_key: str,
    entity_id: str,
) -> None:
    result = await add(hass, loaded_entry, kind)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry_id = next(
        sub_id for sub_id, sub in loaded_entry.subentries.items() if sub.title == user_input["name"]
    )
    assert subentry_id in [asset["id"] for asset in (await site(loaded_entry))[site_key]]
    assert hass.states.get(entity_id) is not None

    result = await loaded_entry.start_subentry_reconfigure_flow(hass, subentry_id)
    assert result["step_id"] == "reconfigure"
    renamed = user_input | {"name": f"{user_input['name']} 2"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], renamed)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.subentries[subentry_id].title == renamed["name"]
    pushed = next(asset for asset in (await site(loaded_entry))[site_key] if asset["id"] == subentry_id)
    assert pushed["name"] == renamed["name"]

    assert hass.config_entries.async_remove_subentry(loaded_entry, subentry_id)
    await hass.async_block_till_done()
    assert subentry_id not in [asset["id"] for asset in (await site(loaded_entry))[site_key]]
    uid = loaded_entry.unique_id
    assert dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{uid}_{subentry_id}")}) is None
    assert not [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
        if e.config_subentry_id == subentry_id
    ]


async def test_a_battery_wear_cost_from_the_form_reaches_the_addon(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await add(hass, loaded_entry, "battery")
    worn = BATTERY | {"name": "Worn battery", "wear_cost_per_kwh": 0.04}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], worn)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    batteries = {asset["name"]: asset for asset in (await site(loaded_entry))["batteries"]}
    assert batteries["Worn battery"]["wear_cost_per_kwh"] == 0.04
    # A battery entered before the field existed (or left at 0) is planned without wear.
    assert batteries["Garage battery"].get("wear_cost_per_kwh", 0.0) == 0.0


@pytest.mark.parametrize(
    ("kind", "user_input", "errors"),
    [
        ("battery", BATTERY | {"name": "Garage battery"}, {"name": "name_exists"}),
        ("battery", BATTERY | {"name": "  "}, {"name": "name_required"}),
        ("battery", BATTERY | {"min_soc_pct": 95}, {"max_soc_pct": "min_not_below_max"}),
        ("battery", BATTERY | {"max_charge_w": 5}, {"max_charge_w": "watts_look_like_kw"}),
        ("battery", BATTERY | {"energy_in_entity": GRID_POWER}, {"energy_in_entity": "not_energy_sensor"}),
        ("ev", EV | {"min_current_a": 40}, {"max_current_a": "min_not_below_max"}),
        ("appliance", APPLIANCE | {"power_w": 2}, {"power_w": "watts_look_like_kw"}),
        ("thermal_load", THERMAL | {"min_temp_c": 60}, {"max_temp_c": "min_not_below_max"}),
    ],
    ids=[
        "duplicate",
        "blank",
        "soc_order",
        "kw_typed",
        "energy_meter",
        "ev_power_order",
        "appliance_kw",
        "temps",
    ],
)
async def test_add_refuses_bad_input(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    kind: str,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    result = await add(hass, loaded_entry, kind)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_battery_is_prefilled_from_the_energy_dashboard(
    hass: HomeAssistant, home: None, addon: Any
) -> None:
    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {"type": "battery", "stat_energy_from": BATTERY_OUT, "stat_energy_to": BATTERY_IN}
            ],
            "device_consumption": [],
        }
    )
    entry = make_entry(addon, subentries=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await add(hass, entry, "battery")
    values = {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }
    assert values["energy_in_entity"] == BATTERY_IN
    assert values["energy_out_entity"] == BATTERY_OUT
    assert values["efficiency"] == 0.95
    await hass.config_entries.async_unload(entry.entry_id)


async def test_edit_refuses_a_name_taken_by_another_asset(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "appliance"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "dishwasher1"},
    )
    data = {k: v for k, v in loaded_entry.subentries["dishwasher1"].data.items() if k != "smart_start"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], data | {"name": "Car"})
    assert result["errors"] == {"name": "name_exists"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data | {"duration_min": 150}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    # The edit keeps what the form does not show (smart start) and is pushed without a reload.
    assert loaded_entry.subentries["dishwasher1"].data["smart_start"] is True
    pushed = (await site(loaded_entry))["appliances"]
    assert [a["duration_min"] for a in pushed if a["id"] == "dishwasher1"] == [150]


async def test_an_emptied_optional_field_is_removed_on_edit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.states.async_set("binary_sensor.car_plug", "on", {"device_class": "plug"})
    car = dict(loaded_entry.subentries["ev1"].data)
    for user_input, plugged in (
        (car | {"plugged_entity": "binary_sensor.car_plug"}, "binary_sensor.car_plug"),
        (car, None),
    ):
        result = await loaded_entry.start_subentry_reconfigure_flow(hass, "ev1")
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
        assert result["type"] is FlowResultType.ABORT
        await hass.async_block_till_done()
        assert loaded_entry.subentries["ev1"].data.get("plugged_entity") == plugged
        pushed = (await site(loaded_entry))["evs"][0]
        assert pushed.get("plugged_entity") == plugged

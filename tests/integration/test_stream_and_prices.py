"""Stream messages of every kind (and malformed ones), and price pushes from a price entity."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import PRICE, make_entry, wait_for


async def test_status_and_malformed_stream_messages(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    before = coordinator.data
    # Messages the integration cannot use change nothing.
    for message in (
        {"type": "plan_updated"},
        {"type": "plan_updated", "data": {"status": "optimal", "steps": "not a list"}},
        {"type": "status", "data": {"cost_today": "lots"}},
        {"type": "something_new", "data": {}},
    ):
        await coordinator.async_handle_stream_message(message)
    assert coordinator.data is before
    await coordinator.async_handle_stream_message(
        {"type": "status", "data": {"optimizer": "running", "savings_today": 1.25, "currency": "EUR"}}
    )
    await hass.async_block_till_done()
    assert coordinator.data.status.optimizer == "running"
    assert hass.states.get("sensor.shems_optimizer_status").state == "running"
    assert float(hass.states.get("sensor.shems_savings_today").state) == 1.25


async def test_device_update_messages(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    client = loaded_entry.runtime_data.client
    await client.request(
        "POST", "/devices", payload={"device_id": "ev_meter", "name": "Wallbox", "type": "ev"}
    )
    # An update for a meter HA does not know yet makes it fetch the device list: the meter appears.
    await coordinator.async_handle_stream_message(
        {"type": "device_update", "data": {"device_id": "ev_meter", "status": None}}
    )
    await wait_for(lambda: "ev_meter" in coordinator.data.meters)
    await hass.async_block_till_done()
    reading = {
        "power_w": 7200.0,
        "energy_kwh": 1532.25,
        "voltage_v": 229.5,
        "current_a": 31.4,
        "updated_at": "2026-11-24T20:00:00+00:00",
    }
    await coordinator.async_handle_stream_message(
        {"type": "device_update", "data": {"device_id": "ev_meter", "status": reading}}
    )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.wallbox_power").state == "7200.0"
    assert hass.states.get("sensor.wallbox_energy").state == "1532.25"
    # A status that is not an object is ignored; the last reading stays.
    await coordinator.async_handle_stream_message(
        {"type": "device_update", "data": {"device_id": "ev_meter", "status": "offline"}}
    )
    assert coordinator.data.meters["ev_meter"].power_w == 7200.0


async def test_a_price_entity_is_handed_to_the_addon(hass: HomeAssistant, home: None, addon: Any) -> None:
    """The add-on reads the price entity itself (through HA's API); the site names it."""
    entry = make_entry(
        addon, subentries=False, price_kind="entity", price_entity=PRICE, export_price_entity=PRICE
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    site = await entry.runtime_data.client.request("GET", "/site")
    assert (site["price"]["kind"], site["price"]["entity_id"]) == ("entity", PRICE)
    assert site["price"]["export_entity_id"] == PRICE
    await hass.config_entries.async_unload(entry.entry_id)

"""Meters registered with the add-on become devices with sensors; dropped meters leave HA too."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems import async_remove_config_entry_device
from custom_components.shems.const import DOMAIN

from .conftest import make_entry, publish_until, wait_for

HEAT_PUMP_METER = {
    "device_id": "heatpump_meter",
    "name": "Heat pump meter",
    "type": "heat_pump",
    "mqtt": {"state_topic": "shems/heatpump_meter/state"},
}


async def register(entry: MockConfigEntry, device: dict[str, Any]) -> None:
    await entry.runtime_data.client.request("POST", "/devices", payload=device)


def meter_device(hass: HomeAssistant, entry: MockConfigEntry, meter_id: str) -> dr.DeviceEntry | None:
    return dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_meter_{meter_id}")})


async def test_new_meter_appears_without_reload_and_leaves_when_dropped(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await register(loaded_entry, HEAT_PUMP_METER)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    device = meter_device(hass, loaded_entry, "heatpump_meter")
    assert device is not None and device.name == "Heat pump meter"
    entities = {
        e.translation_key: e for e in er.async_entries_for_device(er.async_get(hass), device.id, True)
    }
    assert set(entities) == {"meter_power", "meter_energy", "meter_voltage", "meter_current"}
    energy = hass.states.get(entities["meter_energy"].entity_id)
    assert energy is not None
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    power = hass.states.get(entities["meter_power"].entity_id)
    assert power is not None and power.attributes["state_class"] == "measurement"
    assert entities["meter_voltage"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    # A meter still reported cannot be deleted by hand.
    assert not await async_remove_config_entry_device(hass, loaded_entry, device)

    await loaded_entry.runtime_data.client.request("DELETE", "/devices/heatpump_meter")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert meter_device(hass, loaded_entry, "heatpump_meter") is None
    hub = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, loaded_entry.unique_id)})
    assert hub is not None
    assert not await async_remove_config_entry_device(hass, loaded_entry, hub)


async def test_command_without_a_broker_is_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await register(loaded_entry, HEAT_PUMP_METER | {"mqtt": {"command_topic": "shems/hp/set"}})
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    device = meter_device(hass, loaded_entry, "heatpump_meter")
    assert device is not None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device": device.id, "command": "  "},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "command_required"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device": device.id, "command": "start"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "addon_rejected"
    assert "no MQTT broker" in str(err.value)


async def test_command_reaches_the_device_and_is_acknowledged(
    hass: HomeAssistant, home: None, addon_with_broker: Any, mqtt_client_factory: Any
) -> None:
    """The whole path: service → add-on → MQTT → a device that acknowledges → command acked."""
    prefix = f"shems-test/{uuid.uuid4().hex[:8]}"
    device_client = mqtt_client_factory()
    received: list[dict[str, Any]] = []

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        command = json.loads(message.payload)
        received.append(command)
        client.publish(
            f"{prefix}/ack", json.dumps({"command_id": command["command_id"], "status": "ok"}), qos=1
        )

    device_client.on_message = on_message
    device_client.subscribe(f"{prefix}/set", qos=1)
    entry = make_entry(addon_with_broker, subentries=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await register(
        entry,
        {
            "device_id": "boiler_relay",
            "name": "Boiler relay",
            "type": "water_heater",
            "mqtt": {"command_topic": f"{prefix}/set", "ack_topic": f"{prefix}/ack"},
        },
    )
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    device = meter_device(hass, entry, "boiler_relay")
    assert device is not None
    answer = await hass.services.async_call(
        DOMAIN,
        "send_command",
        {"device": device.id, "command": "set_power", "payload": {"power_w": 1500}},
        blocking=True,
        return_response=True,
    )
    assert answer["device_id"] == "boiler_relay"
    assert answer["command"] == "set_power"
    client = entry.runtime_data.client
    path = f"/devices/boiler_relay/commands/{answer['command_id']}"
    statuses: list[str] = []

    async def acked() -> bool:
        statuses.append((await client.request("GET", path))["status"])
        return statuses[-1] == "acked"

    for _ in range(250):
        if await acked():
            break
        await asyncio.sleep(0.02)
    assert statuses[-1] == "acked", statuses
    assert [(c["command"], c["payload"]) for c in received][:1] == [("set_power", {"power_w": 1500})]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reading_published_by_a_meter_reaches_its_sensors(
    hass: HomeAssistant, home: None, addon_with_broker: Any, mqtt_client_factory: Any
) -> None:
    """The whole path: meter → MQTT → add-on ingestion → WebSocket device_update → HA sensors."""
    topic = f"shems-test/{uuid.uuid4().hex[:8]}/state"
    entry = make_entry(addon_with_broker, subentries=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.stream_connected)
    await register(
        entry,
        {"device_id": "main_meter", "name": "Main meter", "type": "grid", "mqtt": {"state_topic": topic}},
    )
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    meter = mqtt_client_factory()
    reading = {
        "device": "main_meter",
        "power_w": 812.0,
        "energy_kwh": 12.5,
        "voltage_v": 231.0,
        "current_a": 3.5,
    }

    def shown(entity_id: str) -> str | None:
        value = hass.states.get(entity_id)
        return value.state if value is not None else None

    await publish_until(meter, topic, reading, lambda: shown("sensor.main_meter_power") == "812.0")
    assert shown("sensor.main_meter_energy") == "12.5"
    assert coordinator.data.meters["main_meter"].voltage_v == 231.0
    assert coordinator.data.meters["main_meter"].current_a == 3.5
    await hass.config_entries.async_unload(entry.entry_id)

"""With the recorder: plan curves stay out of history, and meters pass the Energy dashboard's checks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .conftest import make_entry, optimized, publish_until, wait_for


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder must start before Home Assistant: override the package-wide fixture in this module."""


async def test_plan_curves_are_not_recorded_and_meters_are_energy_ready(
    recorder_mock: Recorder, hass: HomeAssistant, home: None, addon_with_broker: Any, mqtt_client_factory: Any
) -> None:
    addon = addon_with_broker
    assert await async_setup_component(hass, "energy", {})
    entry: MockConfigEntry = make_entry(addon)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.stream_connected)
    started = dt_util.utcnow()
    await optimized(hass, entry)

    # A meter registered with the add-on publishes a reading on its MQTT state topic.
    coordinator = entry.runtime_data.coordinator
    topic = f"shems-test/{uuid.uuid4().hex[:8]}/dryer"
    dryer = {"device_id": "dryer", "name": "Dryer", "type": "appliance", "mqtt": {"state_topic": topic}}
    await coordinator.client.request("POST", "/devices", payload=dryer)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    reading = {"device": "dryer", "power_w": 1850.0, "energy_kwh": 412.75}
    await publish_until(
        mqtt_client_factory(),
        topic,
        reading,
        lambda: getattr(hass.states.get("sensor.dryer_energy"), "state", None) == "412.75",
    )
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    live = hass.states.get("sensor.grid_current_price")
    assert live is not None and "plan" in live.attributes
    history = await recorder_mock.async_add_executor_job(
        get_significant_states, hass, started, None, ["sensor.grid_current_price"]
    )
    recorded = history["sensor.grid_current_price"]
    assert recorded
    assert all("plan" not in state.attributes for state in recorded)

    # Long-term statistics of the meter, as the recorder compiles them every five minutes.
    period = started.replace(minute=started.minute - started.minute % 5, second=0, microsecond=0)
    do_adhoc_statistics(hass, start=period)
    await async_wait_recording_done(hass)
    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [],
            "device_consumption": [
                {"stat_consumption": "sensor.dryer_energy", "stat_rate": "sensor.dryer_power", "name": None}
            ],
        }
    )
    validation = await async_validate(hass)
    assert validation.as_dict()["device_consumption"] == [[]]
    await hass.config_entries.async_unload(entry.entry_id)

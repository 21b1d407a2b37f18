"""The plan card with the recorder: the charge levels measured by the batteries' SOC sensors."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.shems.const import DOMAIN

from .conftest import SUBENTRIES, entry_data, wait_for

LEVEL = "sensor.battery_level"
LEVEL_ATTRS = {"unit_of_measurement": "%", "device_class": "battery"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder must start before Home Assistant: override the package-wide fixture in this module."""


def with_soc_sensor() -> list[ConfigSubentryData]:
    return [
        ConfigSubentryData(
            data={**sub["data"], "soc_entity": LEVEL},
            subentry_id=sub["subentry_id"],
            subentry_type=sub["subentry_type"],
            title=sub["title"],
            unique_id=None,
        )
        if sub["subentry_type"] == "battery"
        else sub
        for sub in SUBENTRIES
    ]


async def test_the_card_shows_measured_charge_levels(
    recorder_mock: Recorder, hass: HomeAssistant, hass_ws_client: Any, home: None, addon: Any
) -> None:
    hass.states.async_set(LEVEL, "41", LEVEL_ATTRS)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SHEMS",
        unique_id=addon.instance_id,
        data=entry_data(addon),
        options={"optimization_interval_min": 15, "mode": "cost"},
        subentries_data=with_soc_sensor(),
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.stream_connected)
    changed = dt_util.utcnow()
    hass.states.async_set(LEVEL, "43", LEVEL_ATTRS)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "shems/card", "hours_past": 1})
    answer = await ws.receive_json()
    assert answer["success"], answer
    view = answer["result"]
    soc = view["measured"]["soc"]
    assert [(s["name"], s["kind"]) for s in soc] == [("Garage battery", "battery")]
    assert [value for _, value in soc[0]["points"]][-2:] == [41.0, 43.0]
    times = [moment for moment, _ in soc[0]["points"]]
    assert view["start"] <= times[0] <= times[-1] <= view["now"]
    assert times[-1] == pytest.approx(changed.timestamp(), abs=5)
    # The meters have no 5-minute statistics yet: no measured power, and no error for it.
    assert view["measured"]["power"]["time"] == []
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

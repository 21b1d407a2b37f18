"""The add-on's readiness in Home Assistant: a problem binary sensor and a repair issue that follow it.

The add-on is the real one with the real broker; stopping Mosquitto is the fault."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.shems.const import DOMAIN

from .conftest import make_entry, wait_for


async def test_problem_sensor_and_repair_issue_follow_the_addon_readiness(
    hass: HomeAssistant, home: None, addon_with_broker: Any, services: Any
) -> None:
    entry = make_entry(addon_with_broker)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.unique_id or entry.entry_id}_hub_addon_problem"
    )
    assert entity_id is not None
    issue_id = f"addon_not_ready:{entry.entry_id}"

    async def refreshed_until(state: str) -> Any:
        async def settle() -> None:
            while True:
                await coordinator.async_refresh()
                await hass.async_block_till_done()
                current = hass.states.get(entity_id)
                if current is not None and current.state == state:
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(settle(), 20)
        return hass.states.get(entity_id)

    assert (await refreshed_until("off")).attributes.get("mqtt") is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    await asyncio.to_thread(services.stop_mosquitto)
    try:
        state = await refreshed_until("on")
        assert state.attributes["mqtt"] == "broker disconnected"
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.severity == ir.IssueSeverity.ERROR
        assert issue.translation_placeholders is not None
        assert "mqtt: broker disconnected" in issue.translation_placeholders["problems"]
    finally:
        await asyncio.to_thread(services.start_mosquitto)
    await refreshed_until("off")
    await wait_for(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None)
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

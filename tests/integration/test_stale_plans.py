"""A late stream copy of a plan that was already replaced does not undo the newer plan."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.models import parse_plan

from .conftest import optimized


async def test_late_echo_of_a_replaced_plan_is_ignored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    plan = await optimized(hass, loaded_entry)
    coordinator = loaded_entry.runtime_data.coordinator
    newer = plan | {"id": "newer-plan"}
    coordinator.async_set_plan(parse_plan(newer))
    await hass.async_block_till_done()

    # The add-on's stream delivers the optimize plan again, after the newer one took over.
    await coordinator.async_handle_stream_message({"type": "plan_updated", "data": plan})
    await hass.async_block_till_done()
    assert coordinator.data.plan is not None
    assert coordinator.data.plan.plan_id == "newer-plan"

    # A plan the integration has not seen before still replaces it.
    fresh = plan | {"id": "fresh-plan"}
    await coordinator.async_handle_stream_message({"type": "plan_updated", "data": fresh})
    await hass.async_block_till_done()
    assert coordinator.data.plan.plan_id == "fresh-plan"

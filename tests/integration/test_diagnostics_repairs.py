"""Diagnostics (secrets redacted) and repair issues raised and cleared by their causes."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.shems.const import DOMAIN
from custom_components.shems.models import parse_plan

from .conftest import (
    ENERGY_ATTRS,
    GRID_IMPORT,
    PRICE,
    TOKEN,
    make_entry,
    nordpool_attributes,
    optimized,
    wait_for,
)


async def test_diagnostics_redact_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    plan = await optimized(hass, loaded_entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    # Everything but what changes from run to run (ids, times, the horizon's length) is fixed.
    assert diagnostics == snapshot(
        exclude=props(
            "instance_id", "id", "created_at", "first_step", "last_run", "steps", "last_error", "optimizer"
        )
    )
    text = repr(diagnostics)
    assert TOKEN not in text
    assert loaded_entry.data["url"] not in text
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    # The site document as pushed to the add-on, with the home's location (48.83, 2.35) hidden.
    assert diagnostics["site"]["location"] == {"latitude": "**REDACTED**", "longitude": "**REDACTED**"}
    # No value anywhere is the latitude or longitude (a substring test would trip over timestamps).
    assert not {48.83, 2.35, "48.83", "2.35"} & set(leaf_values(diagnostics))
    assert diagnostics["site"]["grid"]["import_energy_entity"] == GRID_IMPORT
    assert diagnostics["entry"]["data"]["grid_import_entity"] == GRID_IMPORT
    assert diagnostics["plan"]["id"] == plan["id"]
    assert diagnostics["plan"]["steps"] == len(plan["steps"])
    assert diagnostics["coordinator"]["last_update_success"] is True
    assert sorted(sub["title"] for sub in diagnostics["entry"]["subentries"]) == [
        "Car",
        "Dishwasher",
        "Garage battery",
        "Water heater",
    ]


def leaf_values(value: Any) -> list[Any]:
    """Every number and string inside nested dicts and lists."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaf_values(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in leaf_values(item)]
    return [value]


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def test_wrong_unit_issue_follows_the_sensor(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    issue_id = f"wrong_unit:{loaded_entry.entry_id}:{GRID_IMPORT}"
    assert issue(hass, issue_id) is None
    hass.states.async_set(GRID_IMPORT, "1520400", {"device_class": "power", "unit_of_measurement": "W"})
    await hass.async_block_till_done()
    raised = issue(hass, issue_id)
    assert raised is not None
    assert raised.translation_key == "wrong_unit_energy"
    assert raised.translation_placeholders == {"entity": GRID_IMPORT, "unit": "W", "device_class": "power"}
    hass.states.async_set(GRID_IMPORT, "1520.4", ENERGY_ATTRS)
    await hass.async_block_till_done()
    assert issue(hass, issue_id) is None


async def test_stale_prices_issue(hass: HomeAssistant, home: None, addon: Any) -> None:
    entry = make_entry(addon, subentries=False, price_kind="entity", price_entity=PRICE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue_id = f"stale_prices:{entry.entry_id}"
    assert issue(hass, issue_id) is None
    # The price integration stops publishing: the state goes unavailable, the forecast is gone.
    hass.states.async_set(PRICE, "unavailable", {})
    await hass.async_block_till_done()
    raised = issue(hass, issue_id)
    assert raised is not None and PRICE in raised.translation_placeholders["reason"]
    hass.states.async_set(PRICE, "0.25", nordpool_attributes())
    await hass.async_block_till_done()
    assert issue(hass, issue_id) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unmet_goals_issue(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    plan = await optimized(hass, loaded_entry)
    issue_id = f"unmet_goals:{loaded_entry.entry_id}"
    assert (issue(hass, issue_id) is None) == (not plan["unmet_goals"])
    coordinator = loaded_entry.runtime_data.coordinator
    unmet = plan | {
        "id": "unmet",
        "unmet_goals": [
            {"asset_id": "ev1", "goal": "target_soc", "message": "reaches 62 % of 80 % by 07:30"}
        ],
    }
    coordinator.async_set_plan(parse_plan(unmet))
    await hass.async_block_till_done()
    raised = issue(hass, issue_id)
    assert raised is not None
    assert raised.translation_placeholders == {"goals": "Car: reaches 62 % of 80 % by 07:30"}
    assert hass.states.get("sensor.shems_optimizer_status").attributes["unmet_goals"] == [
        "reaches 62 % of 80 % by 07:30"
    ]
    # The add-on's own sentences start with the asset's name: it is not repeated in front of them.
    named = plan | {
        "id": "named",
        "unmet_goals": [{"asset_id": "ev1", "goal": "target_soc", "message": "Car reaches 62 % by 07:30"}],
    }
    coordinator.async_set_plan(parse_plan(named))
    await hass.async_block_till_done()
    assert issue(hass, issue_id).translation_placeholders == {"goals": "Car reaches 62 % by 07:30"}
    coordinator.async_set_plan(parse_plan(plan | {"id": "met", "unmet_goals": []}))
    await hass.async_block_till_done()
    assert issue(hass, issue_id) is None


async def test_issues_go_with_the_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    await addon.stop()
    await loaded_entry.runtime_data.coordinator.async_refresh()
    assert issue(hass, f"addon_unreachable:{loaded_entry.entry_id}") is not None
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert issue(hass, f"addon_unreachable:{loaded_entry.entry_id}") is None
    await addon.start()


async def test_an_addon_without_home_assistant_access_raises_a_repair(
    hass: HomeAssistant, home: None, addon: Any, hass_client: ClientSessionGenerator, hass_access_token: str
) -> None:
    """Started without Home Assistant's URL and token (a plain container), the add-on reads no prices
    from the price sensor and cannot plan: a repair says what to do, and goes once it has access."""
    from homeassistant.setup import async_setup_component

    from shems_optimizer.app.config import HomeAssistantConfig

    entry = make_entry(addon, price_kind="entity", price_entity=PRICE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    issue_id = f"addon_no_home_assistant:{entry.entry_id}"
    await coordinator.async_refresh()
    with pytest.raises(HomeAssistantError):  # no plan can be made without prices
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.shems_optimize_now"}, blocking=True
        )
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    raised = issue(hass, issue_id)
    assert raised is not None and raised.severity is ir.IssueSeverity.ERROR
    assert raised.translation_placeholders["title"] == "SHEMS"
    assert "SHEMS_HA_URL" in raised.translation_placeholders["message"]
    assert PRICE in raised.translation_placeholders["error"]

    # The user gives the add-on Home Assistant's URL and a long-lived token and restarts it: it reads
    # the price sensor, plans, and the repair is gone.
    assert await async_setup_component(hass, "api", {})
    ha = await hass_client()
    await addon.restart(
        homeassistant=HomeAssistantConfig(str(ha.make_url("")).rstrip("/"), hass_access_token)
    )
    await wait_for(lambda: coordinator.stream_connected, limit_s=20)
    plan = await optimized(hass, entry)
    assert plan["status"] == "optimal"
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert issue(hass, issue_id) is None
    await hass.config_entries.async_unload(entry.entry_id)

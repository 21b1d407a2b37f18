"""Entities against a real plan from the add-on: states, classes, controls, availability, events."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.shems.const import DOMAIN
from custom_components.shems.models import parse_plan

from .conftest import optimized, settled_plan, wait_for


def step_now(plan: dict[str, Any]) -> dict[str, Any]:
    now = dt_util.utcnow()
    for step in plan["steps"]:
        if dt_util.parse_datetime(step["start"]) <= now < dt_util.parse_datetime(step["end"]):
            return step
    raise AssertionError("no plan step covers now")


def state(hass: HomeAssistant, entity_id: str) -> Any:
    value = hass.states.get(entity_id)
    assert value is not None, f"{entity_id} does not exist"
    return value


async def test_plan_entities_show_the_current_step(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    plan = await optimized(hass, loaded_entry)
    step = step_now(plan)

    status = state(hass, "sensor.shems_optimizer_status")
    assert status.state == plan["status"] == "optimal"
    assert status.attributes["device_class"] == "enum"

    price = state(hass, "sensor.grid_current_price")
    assert float(price.state) == pytest.approx(step["import_price"])
    assert price.attributes["unit_of_measurement"] == "EUR/kWh"
    assert len(price.attributes["plan"]) == len(plan["steps"])

    imported = state(hass, "sensor.grid_planned_import_now")
    assert float(imported.state) == pytest.approx(step["grid_import_w"])
    assert imported.attributes["device_class"] == "power"
    assert imported.attributes["state_class"] == "measurement"
    assert imported.attributes["unit_of_measurement"] == "W"

    cost = state(hass, "sensor.shems_forecast_cost_next_24_hours")
    assert float(cost.state) == pytest.approx(plan["cost_next_24h"], abs=0.01)
    assert cost.attributes["device_class"] == "monetary"
    assert cost.attributes["unit_of_measurement"] == "EUR"

    battery = state(hass, "sensor.garage_battery_planned_power_now")
    assert float(battery.state) == pytest.approx(step["assets"]["battery1"]["power_w"])

    # Planned SOC at the end of the local day: the SOC of the last step ending by local midnight.
    midnight = dt_util.start_of_local_day() + timedelta(days=1)
    socs = [
        s["assets"]["battery1"]["soc_pct"]
        for s in plan["steps"]
        if dt_util.parse_datetime(s["end"]) <= midnight
    ]
    soc_state = state(hass, "sensor.garage_battery_planned_charge_at_end_of_day").state
    assert float(soc_state) == pytest.approx(socs[-1])

    ev = next(e for e in plan["evs"] if e["id"] == "ev1")
    assert float(state(hass, "sensor.car_projected_charge_at_departure").state) == pytest.approx(
        ev["projected_soc_pct"]
    )

    run = next(a for a in plan["appliances"] if a["id"] == "dishwasher1")
    start = state(hass, "sensor.dishwasher_planned_start")
    assert dt_util.parse_datetime(start.state) == dt_util.parse_datetime(run["planned_start"])
    assert start.attributes["device_class"] == "timestamp"
    running_now = (
        dt_util.parse_datetime(run["planned_start"])
        <= dt_util.utcnow()
        < dt_util.parse_datetime(run["planned_end"])
    )
    assert state(hass, "binary_sensor.dishwasher_run_now").state == ("on" if running_now else "off")

    cheapest = state(hass, "sensor.grid_next_cheapest_window")
    upcoming = [
        s
        for s in plan["steps"]
        if dt_util.parse_datetime(s["end"]) > dt_util.utcnow()
        and dt_util.parse_datetime(s["start"]) < dt_util.utcnow() + timedelta(hours=24)
    ]
    lowest = min(s["import_price"] for s in upcoming)
    first_lowest = next(s for s in upcoming if s["import_price"] == lowest)
    assert dt_util.parse_datetime(cheapest.state) == dt_util.parse_datetime(first_lowest["start"])
    assert cheapest.attributes["price"] == pytest.approx(lowest)


async def test_forecast_cost_next_7_days(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The add-on's 7-day figure, pushed once its outlook (computed after the plan) is known;
    unknown, never 0, while a plan has none."""
    await optimized(hass, loaded_entry)
    entity_id = "sensor.shems_forecast_cost_next_7_days"
    # The outlook runs after the plan and the add-on streams the plan again with the figure added.
    await wait_for(lambda: state(hass, entity_id).state != "unknown", limit_s=60)
    plan = await loaded_entry.runtime_data.client.request("GET", "/plan")
    assert plan["cost_next_7d"] is not None
    week = state(hass, entity_id)
    assert float(week.state) == pytest.approx(plan["cost_next_7d"], abs=0.01)
    assert week.attributes["device_class"] == "monetary"
    assert week.attributes["unit_of_measurement"] == "EUR"
    # A plan document without the figure (before its outlook, or from an older add-on): unknown.
    coordinator = loaded_entry.runtime_data.coordinator
    coordinator.async_set_plan(parse_plan(plan | {"id": "no-outlook", "cost_next_7d": None}))
    await hass.async_block_till_done()
    assert state(hass, entity_id).state == "unknown"


async def test_devices_and_registry_entries(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    uid = loaded_entry.unique_id
    names = {
        device.name or device.translation_key
        for device in dr.async_entries_for_config_entry(devices, loaded_entry.entry_id)
    }
    assert {"SHEMS", "Garage battery", "Car", "Dishwasher", "Water heater"} <= names
    dishwasher = devices.async_get_device(identifiers={(DOMAIN, f"{uid}_dishwasher1")})
    assert dishwasher is not None
    assert dishwasher.config_entries_subentries[loaded_entry.entry_id] == {"dishwasher1"}
    # The device page says what each device is, in words.
    models = {
        suffix: devices.async_get_device(identifiers={(DOMAIN, f"{uid}_{suffix}")}).model
        for suffix in ("battery1", "ev1", "dishwasher1", "boiler1", "grid", "solar")
    }
    assert models == {
        "battery1": "Home battery",
        "ev1": "Electric vehicle",
        "dishwasher1": "Appliance",
        "boiler1": "Water heater",
        "grid": "Grid connection",
        "solar": "Solar power system",
    }

    entry = entities.async_get("sensor.shems_last_plan")
    assert entry is not None and entry.entity_category is not None
    assert entry.unique_id == f"{uid}_hub_last_plan"
    next_run = entities.async_get("sensor.shems_next_planning_run")
    assert next_run is not None and next_run.disabled_by is er.RegistryEntryDisabler.INTEGRATION


@pytest.mark.parametrize(
    ("domain", "service", "entity_id", "data", "path", "expected"),
    [
        (
            "select",
            "select_option",
            "select.garage_battery_mode",
            {"option": "hold"},
            ("batteries", "mode"),
            "hold",
        ),
        ("switch", "turn_off", "switch.dishwasher_smart_start", {}, ("appliances", "smart_start"), False),
        ("switch", "turn_on", "switch.dishwasher_smart_start", {}, ("appliances", "smart_start"), True),
        (
            "number",
            "set_value",
            "number.car_target_charge_at_departure",
            {"value": 95},
            ("evs", "target_soc_pct"),
            95,
        ),
        ("time", "set_value", "time.car_departure_time", {"time": "06:15:00"}, ("evs", "departure"), "06:15"),
    ],
    ids=["battery_mode", "smart_start_off", "smart_start_on", "target_soc", "departure"],
)
async def test_controls_are_saved_and_pushed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    domain: str,
    service: str,
    entity_id: str,
    data: dict[str, Any],
    path: tuple[str, str],
    expected: Any,
) -> None:
    await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)
    await hass.async_block_till_done()
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site[path[0]][0][path[1]] == expected
    shown = state(hass, entity_id).state
    assert shown in (str(expected), "on" if expected is True else "off" if expected is False else shown)
    # Still loaded (a control must not reload the entry).
    assert loaded_entry.state.name == "LOADED"


async def test_unreachable_addon_makes_entities_unavailable_and_logs_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await optimized(hass, loaded_entry)
    coordinator = loaded_entry.runtime_data.coordinator
    caplog.set_level(logging.INFO, logger="custom_components.shems")
    await addon.stop()
    for _ in range(3):
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert state(hass, "sensor.grid_current_price").state == STATE_UNAVAILABLE
    assert state(hass, "select.garage_battery_mode").state == STATE_UNAVAILABLE
    issue_id = f"addon_unreachable:{loaded_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    errors = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.shems") and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1, [r.getMessage() for r in errors]

    await addon.start()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert state(hass, "sensor.grid_current_price").state != STATE_UNAVAILABLE
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(recovered) == 1


async def test_stream_delivers_new_plans_and_fires_events(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.stream_connected)
    await settled_plan(hass, loaded_entry)  # the add-on's own re-plan for the site push is done
    events = async_capture_events(hass, "shems_plan_updated")
    # Re-plan behind the integration's back: only the WebSocket stream can tell it.
    plan = await coordinator.client.request("POST", "/optimize")
    await wait_for(lambda: coordinator.data.plan is not None and coordinator.data.plan.plan_id == plan["id"])
    await hass.async_block_till_done()
    assert [event.data["plan_id"] for event in events] == [plan["id"]]
    assert events[0].data["status"] == plan["status"]
    assert state(hass, "sensor.shems_optimizer_status").state == plan["status"]


async def test_appliance_start_due_event(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A plan whose dishwasher run starts in two hours arms a timer that fires the event then."""
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    from custom_components.shems.models import parse_plan

    plan = await optimized(hass, loaded_entry)
    start = dt_util.utcnow().replace(microsecond=0) + timedelta(hours=2)
    plan["id"] = "shifted"
    plan["appliances"] = [
        {
            "id": "dishwasher1",
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(hours=2)).isoformat(),
        }
    ]
    coordinator = loaded_entry.runtime_data.coordinator
    events = async_capture_events(hass, "shems_appliance_start_due")
    coordinator.async_set_plan(parse_plan(plan))
    async_fire_time_changed(hass, start - timedelta(minutes=1))
    await hass.async_block_till_done()
    assert events == []
    async_fire_time_changed(hass, start)
    await hass.async_block_till_done()
    assert [(e.data["appliance"], e.data["appliance_id"]) for e in events] == [("Dishwasher", "dishwasher1")]
    assert dt_util.parse_datetime(events[0].data["planned_start"]) == start
    assert dt_util.parse_datetime(state(hass, "sensor.dishwasher_planned_start").state) == start


async def test_a_run_planned_to_start_now_starts_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A plan made in its run's first step says 'start now': it starts at once, and only once."""
    from custom_components.shems.models import parse_plan

    plan = await optimized(hass, loaded_entry)
    start = dt_util.utcnow().replace(microsecond=0) - timedelta(minutes=1)
    coordinator = loaded_entry.runtime_data.coordinator
    events = async_capture_events(hass, "shems_appliance_start_due")
    # First a plan with the run later (so a run the set-up's own plan started is over), then plans
    # made during its first step.
    later = {
        "id": "dishwasher1",
        "planned_start": (start + timedelta(hours=5)).isoformat(),
        "planned_end": (start + timedelta(hours=7)).isoformat(),
    }
    coordinator.async_set_plan(parse_plan(plan | {"id": "later", "appliances": [later]}))
    await hass.async_block_till_done()
    for n in range(3):  # re-planned every step, the run stays "under way now"
        plan["id"] = f"now-{n}"
        plan["appliances"] = [
            {
                "id": "dishwasher1",
                "planned_start": (start + timedelta(seconds=n)).isoformat(),
                "planned_end": (start + timedelta(hours=2)).isoformat(),
            }
        ]
        coordinator.async_set_plan(parse_plan(plan))
        await hass.async_block_till_done()
    assert [e.data["appliance_id"] for e in events] == ["dishwasher1"]


async def test_now_entities_follow_the_clock_within_one_plan(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Without any new data, 'planned import now' moves on when the current step ends."""
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    plan = await optimized(hass, loaded_entry)
    steps = plan["steps"]
    current = steps.index(step_now(plan))
    # The first later step whose planned import differs, so the change is visible.
    later = next(s for s in steps[current + 1 :] if s["grid_import_w"] != steps[current]["grid_import_w"])
    moment = dt_util.parse_datetime(later["start"])
    assert moment is not None
    before = float(state(hass, "sensor.grid_planned_import_now").state)
    assert before == pytest.approx(steps[current]["grid_import_w"])
    with patch("homeassistant.util.dt.utcnow", return_value=moment + timedelta(seconds=1)):
        async_fire_time_changed(hass, moment)
        await hass.async_block_till_done()
        shown = float(state(hass, "sensor.grid_planned_import_now").state)
    assert shown == pytest.approx(later["grid_import_w"])
    assert shown != before


async def test_today_and_month_totals_say_when_they_last_restarted(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Monetary totals reset at local midnight and on the 1st: ``last_reset`` comes from the add-on."""
    await optimized(hass, loaded_entry)
    client = loaded_entry.runtime_data.client
    for _ in range(500):  # the figures follow the plan in a worker thread
        status = await client.request("GET", "/status")
        if "today_start" in status["costs"]:
            break
        await asyncio.sleep(0.02)
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    today = dt_util.parse_datetime(status["costs"]["today_start"])
    month = dt_util.parse_datetime(status["costs"]["month_start"])
    assert today == dt_util.start_of_local_day()
    assert month == dt_util.start_of_local_day(dt_util.now().date().replace(day=1))
    for entity_id, expected, key in (
        ("sensor.grid_cost_today", today, "cost_today"),
        ("sensor.shems_savings_today", today, "savings_today"),
        ("sensor.grid_cost_this_month", month, "cost_month"),
        ("sensor.shems_savings_this_month", month, "savings_month"),
    ):
        sensor = state(hass, entity_id)
        assert sensor.attributes["state_class"] == "total"
        assert dt_util.parse_datetime(sensor.attributes["last_reset"]) == expected, entity_id
        # Day one (a new add-on, nothing measured yet): with a plan in force there is a value, the
        # spent-so-far the add-on reports (0 until known time has elapsed), never unknown.
        assert status[key] is not None, key
        assert float(sensor.state) == pytest.approx(status[key]), entity_id
    assert "last_reset" not in state(hass, "sensor.shems_forecast_cost_next_24_hours").attributes

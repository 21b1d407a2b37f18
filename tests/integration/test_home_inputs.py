"""Settings a home needs, end to end: from the forms through the site document to the add-on's plan and
the shipped blueprints. The add-on is the real one and reads Home Assistant's states over HA's own REST
API (the harness serves it on loopback), as it does in a real installation.

* the EV's plug input is its own: the blueprint's switch going on or off never reads as "car gone";
* the charger's electrics are entered once: the plan's minimum power is what the blueprint's minimum
  current delivers, so a planned power never rounds below it;
* a fixed feed-in price next to a price sensor, and the solar system's peak power, reach the plan;
* the battery's round-trip efficiency is the plan's round trip;
* the appliance's switch is turned on at its planned start while Smart start is on;
* entries stored by version 1.1 are migrated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

from .conftest import ADDONS, PRICE, SUBENTRIES, TOKEN, entry_data, optimized, wait_for
from .test_blueprints import helpers, plan_then_time, state_of, use_blueprints
from .test_config_flow import energy_dashboard, suggested

PLUG = "binary_sensor.car_plug"
CAR_SOC = "sensor.car_soc"
PLANNED = "sensor.car_planned_charging_power_now"


@pytest.fixture
async def addon_reading_ha(
    hass: HomeAssistant, hass_client: Any, hass_access_token: str, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[Any]:
    """The real add-on, given Home Assistant's URL and a token like a plain-container install."""
    from shems_optimizer.app.config import HomeAssistantConfig
    from shems_optimizer.wiring.testing import running_service

    for component in ("http", "api", "websocket_api"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    url = str(client.make_url("/")).rstrip("/")
    async with running_service(
        tmp_path / "addon", token=TOKEN, homeassistant=HomeAssistantConfig(url, hass_access_token)
    ) as svc:
        ADDONS[svc.url] = svc
        yield svc
        ADDONS.pop(svc.url, None)


def cheap_now_prices(hass: HomeAssistant) -> None:
    """A Nord Pool-shaped price sensor in quarter hours: the current quarter is the only cheap one."""
    day = dt_util.start_of_local_day()
    now = dt_util.now()
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    raw = []
    for i in range(2 * 96):
        start = day + timedelta(minutes=15 * i)
        end = start + timedelta(minutes=15)
        raw.append(
            {"start": start.isoformat(), "end": end.isoformat(), "value": 0.05 if start == quarter else 0.40}
        )
    hass.states.async_set(
        PRICE, "0.40", {"unit_of_measurement": "EUR/kWh", "raw_today": raw[:96], "raw_tomorrow": raw[96:]}
    )


def car(**data: Any) -> ConfigSubentryData:
    departure = (dt_util.now() + timedelta(hours=6)).strftime("%H:%M:00")
    return ConfigSubentryData(
        data={
            "name": "Car",
            "battery_kwh": 60,
            "departure": departure,
            "target_soc_pct": 80,
            "soc_entity": CAR_SOC,
            "plugged_entity": PLUG,
            "charger_entity": "input_boolean.wallbox_charging",
            "phases": "3",
            "voltage_v": 230,
            "min_current_a": 6,
            "max_current_a": 16,
        }
        | data,
        subentry_id="ev1",
        subentry_type="ev",
        title="Car",
        unique_id=None,
    )


async def set_up(
    hass: HomeAssistant, addon: Any, subentries: list[ConfigSubentryData], **data: Any
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SHEMS",
        unique_id=addon.instance_id,
        data=entry_data(addon, **data),
        options={"optimization_interval_min": 15, "mode": "cost"},
        subentries_data=subentries,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.data.plan is not None, limit_s=20)
    return entry


def ev_now(plan: dict[str, Any]) -> float:
    now = dt_util.utcnow()
    step = next(
        s
        for s in plan["steps"]
        if dt_util.parse_datetime(s["start"]) <= now < dt_util.parse_datetime(s["end"])
    )
    return float(step["assets"]["ev1"]["power_w"])


async def test_ev_keeps_charging_with_its_plug_input_and_the_blueprint(
    hass: HomeAssistant, home: None, blueprint_folder: None, addon_reading_ha: Any
) -> None:
    # 79 % of 80 %: a small top-up, cheapest right now. The charger's minimum is 6 A × 230 V × 3.
    cheap_now_prices(hass)
    hass.states.async_set(CAR_SOC, "79", {"device_class": "battery", "unit_of_measurement": "%"})
    hass.states.async_set(PLUG, "on", {"device_class": "plug"})
    await helpers(hass, "input_boolean", {"wallbox_charging": {"initial": False}})
    await helpers(hass, "input_number", {"wallbox_current": {"min": 0, "max": 32, "step": 1, "initial": 0}})
    await use_blueprints(
        hass,
        (
            "ev_follow_plan",
            {
                "planned_power": PLANNED,
                "charger_switch": "input_boolean.wallbox_charging",
                "charger_setting": "input_number.wallbox_current",
            },
        ),
    )
    entry = await set_up(hass, addon_reading_ha, [car()], price_kind="entity", price_entity=PRICE)
    plan = await optimized(hass, entry)
    assert ev_now(plan) == pytest.approx(4140.0), "the plan charges now, at no less than the minimum power"
    await wait_for(lambda: state_of(hass, "input_boolean.wallbox_charging") == "on")
    assert float(state_of(hass, "input_number.wallbox_current")) == 6.0
    assert hass.states.get(PLANNED).attributes["min_current"] == 6

    # The next plan still sees the car plugged in (the switch is an output, the plug sensor says so).
    plan = await optimized(hass, entry)
    assert ev_now(plan) > 0
    assert "plug" not in (plan["message"] or "")
    assert state_of(hass, "input_boolean.wallbox_charging") == "on"

    # Unplugged: nothing is planned for the car and the blueprint stops the charger.
    hass.states.async_set(PLUG, "off", {"device_class": "plug"})
    plan = await optimized(hass, entry)
    assert ev_now(plan) == 0.0
    await wait_for(lambda: state_of(hass, "input_boolean.wallbox_charging") == "off")
    # A wallbox integration's status sensor works as the plug input too (Wallbox's wording).
    hass.states.async_set("sensor.wallbox_status", "Locked, car connected")
    hass.config_entries.async_update_subentry(
        entry,
        entry.subentries["ev1"],
        data=entry.subentries["ev1"].data | {"plugged_entity": "sensor.wallbox_status"},
    )
    await hass.async_block_till_done()
    site = await entry.runtime_data.client.request("GET", "/site")
    assert site["evs"][0]["plugged_entity"] == "sensor.wallbox_status"
    # The changed site makes the add-on re-plan by itself: the car charges again.
    await wait_for(lambda: state_of(hass, "input_boolean.wallbox_charging") == "on", limit_s=30)
    assert float(state_of(hass, PLANNED)) == pytest.approx(4140.0)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_fixed_feed_in_and_solar_system_from_the_forms(
    hass: HomeAssistant, home: None, addon_reading_ha: Any
) -> None:
    """Dynamic import from a price sensor with the Energy dashboard's fixed 0.08 feed-in; a 6 kWp array."""
    await energy_dashboard(hass)
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"url": addon_reading_ha.url, "token": TOKEN})
    assert result["step_id"] == "home"
    result = await flow.async_configure(result["flow_id"], {"pv_peak_w": 50})
    assert result["errors"] == {"pv_peak_w": "watts_look_like_kw"}
    home = {"solar_entities": ["sensor.solar_energy"], "pv_peak_w": 6000, "pv_tilt": 35, "pv_azimuth": 180}
    result = await flow.async_configure(result["flow_id"], home)
    result = await flow.async_configure(result["flow_id"], {"price_kind": "entity"})
    assert result["step_id"] == "price_entity"
    assert suggested(result, "export_price") == 0.08
    result = await flow.async_configure(result["flow_id"], {"price_entity": PRICE, "export_price": 0.08})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    site = await entry.runtime_data.client.request("GET", "/site")
    assert site["price"]["export_per_kwh"] == 0.08
    assert site["solar"][0]["peak_w"] == 6000
    assert (site["solar"][0]["tilt_deg"], site["solar"][0]["azimuth_deg"]) == (35, 180)
    plan = await optimized(hass, entry)
    assert {step["export_price"] for step in plan["steps"]} == {0.08}
    assert max(step["pv_w"] for step in plan["steps"]) > 500, "a PV forecast on day one"
    assert "17 kW assumed" in plan["message"]  # no grid limits entered: said, not silent
    registry = er.async_get(hass)
    tomorrow = next(
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.endswith("_pv_forecast_tomorrow")
    )
    await wait_for(lambda: state_of(hass, tomorrow) not in ("unknown", "unavailable"))
    assert float(state_of(hass, tomorrow)) > 2.0
    await hass.config_entries.async_unload(entry.entry_id)


def battery(efficiency: float) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "name": "Garage battery",
            "capacity_kwh": 10.0,
            "max_charge_w": 3000,
            "max_discharge_w": 3000,
            "min_soc_pct": 10,
            "max_soc_pct": 100,
            "efficiency": efficiency,
            "soc_entity": "sensor.battery_soc",
            "battery_mode": "auto",
        },
        subentry_id="battery1",
        subentry_type="battery",
        title="Garage battery",
        unique_id=None,
    )


async def test_round_trip_efficiency_is_the_plans_round_trip(
    hass: HomeAssistant, home: None, addon_reading_ha: Any
) -> None:
    # Off-peak 0.20, peak 0.40 (17-21 h), an empty battery: it charges off-peak for the peaks.
    hass.states.async_set("sensor.battery_soc", "10", {"device_class": "battery", "unit_of_measurement": "%"})
    entry = await set_up(hass, addon_reading_ha, [battery(0.90)])
    plan = await optimized(hass, entry)
    site = await entry.runtime_data.client.request("GET", "/site")
    assert site["batteries"][0]["round_trip_efficiency"] == 0.90
    grid_in = stored_in = stored_out = delivered = 0.0
    soc = None
    for step in plan["steps"]:
        hours = (dt_util.parse_datetime(step["end"]) - dt_util.parse_datetime(step["start"])) / timedelta(
            hours=1
        )
        bat = step["assets"]["battery1"]
        kwh = bat["soc_pct"] / 100 * 10
        change = 0.0 if soc is None else kwh - soc
        if soc is not None and bat["power_w"] < -1:
            grid_in += -bat["power_w"] / 1000 * hours
            stored_in += change
        elif soc is not None and bat["power_w"] > 1:
            delivered += bat["power_w"] / 1000 * hours
            stored_out -= change
        soc = kwh
    assert grid_in > 1 and delivered > 1, "the plan must both charge and discharge"
    assert (stored_in / grid_in) * (delivered / stored_out) == pytest.approx(0.90, abs=0.002)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_appliance_switch_starts_it_at_the_planned_time(
    hass: HomeAssistant, home: None, addon: Any
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    await helpers(hass, "input_boolean", {"dishwasher_plug": {"initial": False}})
    (dishwasher,) = (sub for sub in SUBENTRIES if sub["subentry_id"] == "dishwasher1")
    plugged = dishwasher | {"data": dishwasher["data"] | {"switch_entity": "input_boolean.dishwasher_plug"}}
    entry = await set_up(hass, addon, [ConfigSubentryData(**plugged)])  # type: ignore[typeddict-item]
    plan = await optimized(hass, entry)
    # The add-on's own plan may have started it at once (a run planned for now); the user loads it
    # again and leaves its programme behind the switched-off plug.
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.dishwasher_plug"}, blocking=True
    )
    start = dt_util.utcnow().replace(microsecond=0) + timedelta(hours=1)
    runs = [{"id": "dishwasher1", "planned_start": start.isoformat(), "planned_end": None}]
    await plan_then_time(
        hass, entry, plan | {"id": "before", "appliances": runs}, start - timedelta(minutes=1)
    )
    assert state_of(hass, "input_boolean.dishwasher_plug") == "off"
    await plan_then_time(hass, entry, plan | {"id": "due", "appliances": runs}, start)
    await wait_for(lambda: state_of(hass, "input_boolean.dishwasher_plug") == "on")

    # With Smart start off the switch is left alone.
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.dishwasher_plug"}, blocking=True
    )
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.dishwasher_smart_start"}, blocking=True
    )
    later = start + timedelta(hours=1)
    runs = [{"id": "dishwasher1", "planned_start": later.isoformat(), "planned_end": None}]
    await plan_then_time(hass, entry, plan | {"id": "off", "appliances": runs}, later)
    await hass.async_block_till_done()
    assert state_of(hass, "input_boolean.dishwasher_plug") == "off"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_of_version_1_1_is_migrated(hass: HomeAssistant, home: None, addon: Any) -> None:
    old = [
        ConfigSubentryData(
            data={"name": name, "battery_kwh": 60, "departure": "07:30:00", "target_soc_pct": 80, **powers},
            subentry_id=sub_id,
            subentry_type="ev",
            title=name,
            unique_id=None,
        )
        for sub_id, name, powers in (
            ("ev1", "Car", {"max_charge_w": 11000, "min_charge_w": 1400, "charger_entity": "switch.wallbox"}),
            ("ev2", "Hybrid", {"max_charge_w": 3700, "min_charge_w": 1400}),
        )
    ]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SHEMS",
        unique_id=addon.instance_id,
        data=entry_data(addon),
        subentries_data=old,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (1, 2)
    electrics = {
        sub_id: {
            k: entry.subentries[sub_id].data.get(k)
            for k in ("phases", "voltage_v", "min_current_a", "max_current_a", "max_charge_w")
        }
        for sub_id in ("ev1", "ev2")
    }
    assert electrics == {
        "ev1": {
            "phases": "3",
            "voltage_v": 230,
            "min_current_a": 6,
            "max_current_a": 16,
            "max_charge_w": None,
        },
        "ev2": {
            "phases": "1",
            "voltage_v": 230,
            "min_current_a": 6,
            "max_current_a": 16,
            "max_charge_w": None,
        },
    }
    assert entry.subentries["ev1"].data["charger_entity"] == "switch.wallbox"  # kept, as an output
    site = await entry.runtime_data.client.request("GET", "/site")
    assert [(ev["phases"], ev["max_current_a"]) for ev in site["evs"]] == [(3, 16.0), (1, 16.0)]
    await hass.config_entries.async_unload(entry.entry_id)

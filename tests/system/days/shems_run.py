"""The home run with SHEMS in charge: config entry, blueprints, and the 15-minute tick loop.

Each tick: the family does what the routine says, the devices report, the clock moves to the tick and
every timer due runs (the add-on re-plans on its interval, Home Assistant's plan entities move to the
new step, appliance start timers fire, the blueprints act); once the new plan is in Home Assistant and
Home Assistant is idle, the devices read their controls and run the next 15 minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.shems.const import DOMAIN
from shems_optimizer.wiring.testing import RunningService

from . import ha_home as ha
from .conftest import TOKEN
from .data import FEED_IN_EUR_PER_KWH
from .devices import STEP
from .home import END, START, Home, routine
from .outcomes import APPLIANCE_IDS


def subentry(kind: str, subentry_id: str, data: dict[str, Any]) -> ConfigSubentryData:
    """An asset as its subentry form stores it, titled with the name the user gave."""
    return ConfigSubentryData(
        data=data, subentry_id=subentry_id, subentry_type=kind, title=data["name"], unique_id=None
    )


SUBENTRIES = [
    subentry(
        "battery",
        "battery",
        {
            "name": "Home battery",
            "capacity_kwh": 10.0,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
            "min_soc_pct": 10,
            "max_soc_pct": 100,
            "efficiency": 0.90,
            "soc_entity": ha.BATTERY_SOC,
            "energy_in_entity": ha.BATTERY_IN,
            "energy_out_entity": ha.BATTERY_OUT,
            "battery_mode": "auto",
        },
    ),
    subentry(
        "ev",
        "car",
        {
            "name": "Car",
            "battery_kwh": 60,
            # The wallbox's electrics, the same figures its blueprint converts power to current with.
            "phases": "3",
            "voltage_v": 230,
            "min_current_a": 6,
            "max_current_a": 16,
            "departure": "07:30:00",
            "target_soc_pct": 80,
            "soc_entity": ha.CAR_SOC,
            "plugged_entity": ha.WALLBOX_PLUG,  # the input: is the car plugged in
            "charger_entity": ha.WALLBOX_SWITCH,  # the output: what starts and stops charging
        },
    ),
    subentry(
        "appliance",
        "dishwasher",
        {
            "name": "Dishwasher",
            "power_w": 2000,
            "duration_min": 120,
            "finish_by": "07:00:00",
            "smart_start": True,
            # The plug it waits behind: off while loaded and waiting; SHEMS turns it on at the start.
            "switch_entity": ha.PLUGS["Dishwasher"],
        },
    ),
    subentry(
        "appliance",
        "washer",
        {
            "name": "Washing machine",
            "power_w": 2200,
            "duration_min": 90,
            "finish_by": "17:00:00",
            "smart_start": True,
            # The plug it waits behind: off while loaded and waiting; SHEMS turns it on at the start.
            "switch_entity": ha.PLUGS["Washing machine"],
        },
    ),
]


def make_entry(addon: RunningService) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=2,
        title="SHEMS",
        unique_id=addon.instance_id,
        data={
            "url": addon.url,
            "token": TOKEN,
            "instance_id": addon.instance_id,
            "grid_import_entity": ha.GRID_IMPORT,
            "grid_export_entity": ha.GRID_EXPORT,
            "grid_power_entity": ha.GRID_POWER,
            "solar_entities": [ha.PV_ENERGY],
            # The array, so the plan has a PV forecast from day one (clear sky for this peak power).
            "pv_peak_w": 5000,
            "pv_tilt": 30,
            "pv_azimuth": 180,
            "meter_entities": [],
            "max_import_w": 17250,
            "max_export_w": 10000,
            "price_kind": "entity",
            "price_entity": ha.PRICE,
            "export_price_entity": None,
            "export_price": FEED_IN_EUR_PER_KWH,
        },
        options={"optimization_interval_min": 15, "mode": "cost"},
        subentries_data=SUBENTRIES,
    )


def real_seconds() -> float:
    """Wall-clock seconds: freezegun replaces time.monotonic (and any module name bound to it)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def until(predicate: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    """Let the loop work (real time: the fake clock stands still) until ``predicate()``; fail after
    ``limit_s`` real seconds. Waiting happens in a worker thread, so no timer of the loop is used."""
    loop = asyncio.get_running_loop()
    deadline = real_seconds() + limit_s
    while not predicate():
        if real_seconds() > deadline:
            raise AssertionError(f"not reached within {limit_s:.0f} s: {what}")
        await loop.run_in_executor(None, time.sleep, 0.005)


async def publish_meters(hass: HomeAssistant, addon: RunningService, home: Home, at: datetime) -> None:
    """The devices report what the step that ends at ``at`` came to, before the clock moves there.

    The add-on samples its held values on the clock's timers: when the clock jumps, the sample for the
    step just run is taken at once, so the step's meter values must already be held by then, or that
    sample would carry the step before's and the load history would land one bucket late (against
    the plan steps, and the switched loads the plans record per step)."""
    values = ha.publish(hass, home, at)
    service = addon.service
    assert service is not None and service.ha_ingest is not None
    ha_ingest = service.ha_ingest

    def held() -> bool:
        ingester = ha_ingest.ingester
        return ingester is not None and all(ingester.held_value(e) == v for e, v in values.items())

    await until(held, f"the add-on holds the meter values at {at.isoformat()}")


def _entity(hass: HomeAssistant, device_name: str, suffix: str) -> str:
    registry = er.async_get(hass)
    for entry in registry.entities.values():
        if entry.platform == DOMAIN and entry.entity_id.endswith(suffix):
            device = dr.async_get(hass).async_get(entry.device_id) if entry.device_id else None
            if device is not None and device.name == device_name:
                return entry.entity_id
    raise AssertionError(f"no SHEMS entity *{suffix} on the device {device_name}")


async def instantiate_blueprints(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    devices = dr.async_get(hass)

    def appliance_device(subentry_id: str) -> str:
        device = devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_{subentry_id}")})
        assert device is not None, subentry_id
        return device.id

    automations: list[tuple[str, dict[str, Any]]] = [
        (
            "battery_follow_plan",
            {
                "planned_power": _entity(hass, "Home battery", "_planned_power_now"),
                "mode_select": ha.WORK_MODE,
                "charge_power": ha.CHARGE_POWER,
                "discharge_power": ha.DISCHARGE_POWER,
            },
        ),
        (
            "ev_follow_plan",
            {
                "planned_power": _entity(hass, "Car", "_planned_charging_power_now"),
                "charger_switch": ha.WALLBOX_SWITCH,
                "charger_setting": ha.WALLBOX_CURRENT,
                "phases": 3,
                "voltage": 230,
                "min_current": 6,
                "max_current": 16,
            },
        ),
        *(
            ("appliance_start", {"appliance": appliance_device(sub_id), "starter": [ha.PLUGS[name]]})
            for name, sub_id in APPLIANCE_IDS.items()
        ),
        ("plan_notifications", {"status_sensor": "sensor.shems_optimizer_status", "send_summary": False}),
    ]
    config = [
        {
            "id": f"sim_{i}",
            "alias": f"{name} {i}",
            "use_blueprint": {"path": f"shems/{name}.yaml", "input": inputs},
        }
        for i, (name, inputs) in enumerate(automations)
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()
    for i, (name, _) in enumerate(automations):
        state = hass.states.get(f"automation.{name}_{i}")
        assert state is not None and state.state == "on", f"automation from {name} did not load"


@dataclass
class Record:
    """What the test saw, tick by tick."""

    plans: list[dict[str, Any]] = field(default_factory=list)  # one per tick: the plan in force
    plan_wait_s: list[float] = field(default_factory=list)  # real seconds from the tick to its plan in HA


async def run_with_shems(
    hass: HomeAssistant, addon: RunningService, clock: FrozenDateTimeFactory, home: Home
) -> tuple[Record, MockConfigEntry]:
    await ha.add_controls(hass)
    ha.publish(hass, home, START)
    ha.wire_plugs(hass, home)
    entry = make_entry(addon)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert addon.service is not None and addon.service.plans is not None
    plans = addon.service.plans

    def plan_in_ha(at: datetime) -> bool:
        current = plans.current_plan()
        ha_plan = coordinator.data.plan if coordinator.data is not None else None
        return (
            current is not None
            and datetime.fromisoformat(str(current["created_at"])) >= at
            and ha_plan is not None
            and ha_plan.plan_id == current["id"]
        )

    await instantiate_blueprints(hass, entry)
    record = Record()
    events = routine()
    now = START
    await publish_meters(hass, addon, home, START)
    while now < END:
        tick_started = real_seconds()
        clock.move_to(now)
        for event in [e for e in events if e.at == now]:
            home.happen(event, now)
            for appliance in home.appliances:
                if appliance.loaded_at == now:
                    await ha.user_arms(hass, appliance)
        ha.publish_plug(hass, home)
        async_fire_time_changed(hass, now)
        await until(partial(plan_in_ha, now), f"a plan made at {now.isoformat()} reaches Home Assistant")
        planned = real_seconds()
        await hass.async_block_till_done()
        current = plans.current_plan()
        assert current is not None
        record.plans.append(current)
        ha.read_controls(hass, home)
        home.step(now)
        record.plan_wait_s.append(planned - tick_started)
        now += STEP
        await publish_meters(hass, addon, home, now)
    return record, entry

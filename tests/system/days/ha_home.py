"""The home's devices as Home Assistant sees them, and the simulators behind those entities.

What a device integration would publish is set as states (meters, SOC sensors, the wallbox's plug
sensor, the Nord Pool price sensor); what a device integration would offer as controls is a real
entity with real services (``input_select``/``input_number``/``input_boolean``, which the blueprints
accept as they accept ``select``/``number``/``switch``). Each tick the simulators read their controls
from those entities; the smart plugs react to their switch turning on, as a real plug does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .devices import INVERTER_MODES, Appliance
from .home import TZ, Home

GRID_IMPORT = "sensor.grid_import_energy"
GRID_EXPORT = "sensor.grid_export_energy"
GRID_POWER = "sensor.grid_power"
PV_ENERGY = "sensor.pv_energy"
PV_POWER = "sensor.pv_power"
BATTERY_SOC = "sensor.battery_soc"
BATTERY_IN = "sensor.battery_charged_energy"
BATTERY_OUT = "sensor.battery_discharged_energy"
WORK_MODE = "input_select.inverter_work_mode"
CHARGE_POWER = "input_number.inverter_charge_power"
DISCHARGE_POWER = "input_number.inverter_discharge_power"
CAR_SOC = "sensor.car_soc"
WALLBOX_PLUG = "binary_sensor.wallbox_plug"
WALLBOX_SWITCH = "input_boolean.wallbox_charging"
WALLBOX_CURRENT = "input_number.wallbox_current"
PRICE = "sensor.nordpool_kwh_de_eur"
PLUGS = {"Dishwasher": "input_boolean.dishwasher_plug", "Washing machine": "input_boolean.washer_plug"}
PLUG_POWER = {"Dishwasher": "sensor.dishwasher_power", "Washing machine": "sensor.washer_power"}
TOMORROW_AT = 13  # local hour at which the day-ahead auction's prices reach the sensor

ENERGY = {"device_class": "energy", "unit_of_measurement": "kWh", "state_class": "total_increasing"}
POWER = {"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"}
BATTERY = {"device_class": "battery", "unit_of_measurement": "%", "state_class": "measurement"}


async def add_controls(hass: HomeAssistant) -> None:
    """The controls the inverter, the wallbox and the smart plugs offer."""
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"inverter_work_mode": {"options": INVERTER_MODES, "initial": "Self use"}}},
    )
    numbers = {
        "inverter_charge_power": {
            "min": 0,
            "max": 5000,
            "step": 1,
            "initial": 5000,
            "unit_of_measurement": "W",
        },
        "inverter_discharge_power": {
            "min": 0,
            "max": 5000,
            "step": 1,
            "initial": 5000,
            "unit_of_measurement": "W",
        },
        "wallbox_current": {"min": 0, "max": 16, "step": 1, "initial": 16, "unit_of_measurement": "A"},
    }
    assert await async_setup_component(hass, "input_number", {"input_number": numbers})
    booleans = {
        "wallbox_charging": {"initial": False},
        "dishwasher_plug": {"initial": True},
        "washer_plug": {"initial": True},
    }
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": booleans})
    await hass.async_block_till_done()


def nordpool_attributes(home: Home, now: datetime) -> dict[str, Any]:
    """raw_today always; raw_tomorrow from 13:00 local, empty before (as the Nord Pool sensor)."""
    local = now.astimezone(TZ)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)

    def day(start: datetime) -> list[dict[str, Any]]:
        hours = []
        moment = start
        while moment.date() == start.date():
            hours.append(
                {
                    "start": moment.isoformat(),
                    "end": (moment + timedelta(hours=1)).isoformat(),
                    "value": home.price(moment),
                }
            )
            moment = (moment.astimezone(dt_util.UTC) + timedelta(hours=1)).astimezone(TZ)
        return hours

    tomorrow = (today + timedelta(days=1, hours=2)).replace(hour=0)
    published = local.hour >= TOMORROW_AT
    return {
        "unit_of_measurement": "EUR/kWh",
        "device_class": "monetary",
        "raw_today": day(today),
        "raw_tomorrow": day(tomorrow) if published else [],
        "tomorrow_valid": published,
    }


def publish(hass: HomeAssistant, home: Home, at: datetime) -> dict[str, float]:
    """What the devices report at ``at``: counters, powers, SOCs, the plug state, the prices. Returns
    the values of the meters the add-on samples (its site's grid, PV and battery entities), as Home
    Assistant holds them now."""
    values = {
        GRID_IMPORT: f"{home.meter.import_kwh:.3f}",
        GRID_EXPORT: f"{home.meter.export_kwh:.3f}",
        GRID_POWER: f"{home.meter.power_w:.0f}",
        PV_ENERGY: f"{home.pv_kwh:.3f}",
        BATTERY_IN: f"{home.battery.charged_kwh:.3f}",
        BATTERY_OUT: f"{home.battery.discharged_kwh:.3f}",
    }
    for entity_id, value in values.items():
        hass.states.async_set(entity_id, value, POWER if entity_id == GRID_POWER else ENERGY)
    hass.states.async_set(PV_POWER, f"{home.pv_w:.0f}", POWER)
    hass.states.async_set(BATTERY_SOC, f"{home.battery.soc * 100:.1f}", BATTERY)
    publish_plug(hass, home)
    for appliance in home.appliances:
        hass.states.async_set(PLUG_POWER[appliance.name], f"{appliance.power_w(at):.0f}", POWER)
    hass.states.async_set(PRICE, f"{home.price(at):.5f}", nordpool_attributes(home, at))
    return {entity_id: float(value) for entity_id, value in values.items()}


def publish_plug(hass: HomeAssistant, home: Home) -> None:
    """The wallbox's plug sensor and the car's SOC: what the family changes at a tick (plugging the
    car in, driving off, coming home with another SOC)."""
    wallbox = home.wallbox
    hass.states.async_set(WALLBOX_PLUG, "on" if wallbox.plugged else "off", {"device_class": "plug"})
    # The car reports its SOC over its own cloud integration, also while away.
    hass.states.async_set(CAR_SOC, f"{wallbox.soc * 100:.1f}", BATTERY)


def _float(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return float(state.state)


def read_controls(hass: HomeAssistant, home: Home) -> None:
    """The inverter and the wallbox do what their controls say now."""
    mode = hass.states.get(WORK_MODE)
    assert mode is not None
    home.battery.mode = mode.state
    home.battery.charge_w = _float(hass, CHARGE_POWER)
    home.battery.discharge_w = _float(hass, DISCHARGE_POWER)
    switch = hass.states.get(WALLBOX_SWITCH)
    assert switch is not None
    home.wallbox.switch_on = switch.state == "on"
    home.wallbox.current_a = _float(hass, WALLBOX_CURRENT)


def wire_plugs(hass: HomeAssistant, home: Home) -> None:
    """A smart plug powers its machine the moment its switch changes."""

    def follow(appliance: Appliance, entity_id: str) -> None:
        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.state in ("on", "off"):
                appliance.switch(new.state == "on", dt_util.utcnow())

        async_track_state_change_event(hass, [entity_id], changed)

    for appliance in home.appliances:
        follow(appliance, PLUGS[appliance.name])


async def user_arms(hass: HomeAssistant, appliance: Appliance) -> None:
    """The user loads the machine and leaves its programme behind the switched-off plug."""
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": PLUGS[appliance.name]}, blocking=True
    )

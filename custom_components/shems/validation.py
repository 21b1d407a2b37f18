"""Checks that a source sensor is what SHEMS expects (energy in Wh/kWh/MWh, power in W/kW).

A wrong unit is the most common reason for nonsense plans (W read as kW), so the config flow refuses such
a sensor naming it, and a repair issue appears when a configured sensor changes unit later.
"""

from __future__ import annotations

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant

ENERGY_UNITS = frozenset({UnitOfEnergy.WATT_HOUR, UnitOfEnergy.KILO_WATT_HOUR, UnitOfEnergy.MEGA_WATT_HOUR})
POWER_UNITS = frozenset({UnitOfPower.WATT, UnitOfPower.KILO_WATT})


def energy_sensor_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """None when ``entity_id`` is a usable energy meter, otherwise the translation key of the problem."""
    state = hass.states.get(entity_id)
    if state is None:
        return "entity_not_found"
    device_class = state.attributes.get("device_class")
    unit = state.attributes.get("unit_of_measurement")
    if device_class not in (None, SensorDeviceClass.ENERGY) or unit not in ENERGY_UNITS:
        return "not_energy_sensor"
    return None


def power_sensor_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """None when ``entity_id`` is a usable power sensor, otherwise the translation key of the problem."""
    state = hass.states.get(entity_id)
    if state is None:
        return "entity_not_found"
    device_class = state.attributes.get("device_class")
    unit = state.attributes.get("unit_of_measurement")
    if device_class not in (None, SensorDeviceClass.POWER) or unit not in POWER_UNITS:
        return "not_power_sensor"
    return None

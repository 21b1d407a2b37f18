"""Translate the config entry (home, price source, options, asset subentries) into the add-on's site
configuration document, the one thing the add-on needs to plan this home.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import (
    BATTERY_MODES,
    CONF_BATTERY_KWH,
    CONF_BATTERY_MODE,
    CONF_CAPACITY_KWH,
    CONF_CHARGER_ENTITY,
    CONF_DEPARTURE,
    CONF_DURATION_MIN,
    CONF_EFFICIENCY,
    CONF_ENERGY_IN,
    CONF_ENERGY_OUT,
    CONF_EXPORT_PRICE,
    CONF_EXPORT_PRICE_ENTITY,
    CONF_FINISH_BY,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_GRID_POWER,
    CONF_IMPORT_PRICE,
    CONF_INTERVAL_MIN,
    CONF_MAX_CHARGE_W,
    CONF_MAX_CURRENT,
    CONF_MAX_DISCHARGE_W,
    CONF_MAX_EXPORT_W,
    CONF_MAX_IMPORT_W,
    CONF_MAX_SOC,
    CONF_MAX_TEMP,
    CONF_METERS,
    CONF_MIN_CURRENT,
    CONF_MIN_SOC,
    CONF_MIN_TEMP,
    CONF_MODE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PHASES,
    CONF_PLUGGED_ENTITY,
    CONF_POWER_W,
    CONF_PRICE_ENTITY,
    CONF_PRICE_KIND,
    CONF_PV_AZIMUTH,
    CONF_PV_FORECAST,
    CONF_PV_PEAK_W,
    CONF_PV_TILT,
    CONF_SMART_START,
    CONF_SOC_ENTITY,
    CONF_SOLAR,
    CONF_SWITCH_ENTITY,
    CONF_TARGET_SOC,
    CONF_TEMPERATURE_ENTITY,
    CONF_THERMAL_KIND,
    CONF_VOLTAGE,
    CONF_WEAR_COST,
    DEFAULT_INTERVAL_MIN,
    MODE_COST,
    PRICE_ENTITY,
    PRICE_FIXED,
    SUBENTRY_APPLIANCE,
    SUBENTRY_BATTERY,
    SUBENTRY_EV,
    SUBENTRY_THERMAL,
)


def _hhmm(value: Any) -> str | None:
    """'07:30:00' (HA's time selector) → '07:30'."""
    if not value:
        return None
    return str(value)[:5]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _price(data: Mapping[str, Any]) -> dict[str, Any]:
    kind = data.get(CONF_PRICE_KIND)
    if kind == PRICE_ENTITY:
        return {
            "kind": "entity",
            "entity_id": data.get(CONF_PRICE_ENTITY),
            "export_entity_id": data.get(CONF_EXPORT_PRICE_ENTITY),
            # Dynamic import with a fixed feed-in tariff: the fixed price applies without an entity.
            "export_per_kwh": _float(data.get(CONF_EXPORT_PRICE)),
        }
    if kind == PRICE_FIXED:
        return {
            "kind": "fixed",
            "import_per_kwh": _float(data.get(CONF_IMPORT_PRICE)),
            "export_per_kwh": _float(data.get(CONF_EXPORT_PRICE)) or 0.0,
        }
    offpeak = _float(data.get(CONF_IMPORT_PRICE))
    peak = _float(data.get(CONF_PEAK_PRICE))
    start, end = _hhmm(data.get(CONF_PEAK_START)), _hhmm(data.get(CONF_PEAK_END))
    return {
        "kind": "tou",
        "export_per_kwh": _float(data.get(CONF_EXPORT_PRICE)) or 0.0,
        "periods": [
            {"start": start, "end": end, "import_per_kwh": peak},
            {"start": end, "end": start, "import_per_kwh": offpeak},
        ],
    }


def _solar(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One array per solar energy meter; the system's peak power, orientation and forecast entity go
    with the first (the add-on sums the arrays), or stand alone when no meter is named."""
    arrays: list[dict[str, Any]] = [{"energy_entity": entity_id} for entity_id in data.get(CONF_SOLAR) or []]
    system = {
        "peak_w": _float(data.get(CONF_PV_PEAK_W)) or None,
        "tilt_deg": _float(data.get(CONF_PV_TILT)),
        "azimuth_deg": _float(data.get(CONF_PV_AZIMUTH)),
        "forecast_entity": data.get(CONF_PV_FORECAST) or None,
    }
    if any(value is not None for value in system.values()):
        if arrays:
            arrays[0] |= system
        else:
            arrays.append(system)
    return arrays


def build_site(hass: HomeAssistant, entry: ConfigEntry, *, home_empty: bool = False) -> dict[str, Any]:
    """The full site document for ``PUT /api/v1/site``; ``home_empty`` is the *Home empty* switch."""
    data = entry.data
    site: dict[str, Any] = {
        "name": hass.config.location_name,
        "timezone": hass.config.time_zone,
        "currency": hass.config.currency,
        # Sent only while on: an occupied home is the add-on's default (and an older add-on's only case).
        "home_empty": True if home_empty else None,
        # Where the sun is: the add-on forecasts PV from the home's location.
        "location": {"latitude": hass.config.latitude, "longitude": hass.config.longitude},
        "mode": entry.options.get(CONF_MODE, MODE_COST),
        "optimization_interval_min": int(entry.options.get(CONF_INTERVAL_MIN, DEFAULT_INTERVAL_MIN)),
        "grid": {
            "import_energy_entity": data.get(CONF_GRID_IMPORT),
            "export_energy_entity": data.get(CONF_GRID_EXPORT),
            "power_entity": data.get(CONF_GRID_POWER),
            "max_import_w": _float(data.get(CONF_MAX_IMPORT_W)),
            "max_export_w": _float(data.get(CONF_MAX_EXPORT_W)),
        },
        "solar": _solar(data),
        "price": _price(data),
        "meters": [
            {"entity_id": entity_id, "name": _friendly_name(hass, entity_id)}
            for entity_id in data.get(CONF_METERS) or []
        ],
        "batteries": [],
        "evs": [],
        "appliances": [],
        "thermal_loads": [],
    }
    for subentry_id, subentry in entry.subentries.items():
        sub = subentry.data
        common = {"id": subentry_id, "name": subentry.title}
        if subentry.subentry_type == SUBENTRY_BATTERY:
            site["batteries"].append(
                common
                | {
                    "capacity_kwh": _float(sub.get(CONF_CAPACITY_KWH)),
                    "max_charge_w": _float(sub.get(CONF_MAX_CHARGE_W)),
                    "max_discharge_w": _float(sub.get(CONF_MAX_DISCHARGE_W)),
                    "min_soc_pct": _float(sub.get(CONF_MIN_SOC)),
                    "max_soc_pct": _float(sub.get(CONF_MAX_SOC)),
                    # The form asks for the round trip (what datasheets state); the add-on applies
                    # its square root on charge and again on discharge.
                    "round_trip_efficiency": _float(sub.get(CONF_EFFICIENCY)),
                    # Sent only when set: 0 is the add-on's default.
                    "wear_cost_per_kwh": _float(sub.get(CONF_WEAR_COST)) or None,
                    "soc_entity": sub.get(CONF_SOC_ENTITY),
                    "energy_in_entity": sub.get(CONF_ENERGY_IN),
                    "energy_out_entity": sub.get(CONF_ENERGY_OUT),
                    "mode": sub.get(CONF_BATTERY_MODE, BATTERY_MODES[0]),
                }
            )
        elif subentry.subentry_type == SUBENTRY_EV:
            site["evs"].append(
                common
                | {
                    "battery_kwh": _float(sub.get(CONF_BATTERY_KWH)),
                    # The power range follows from the charger's electrics, in the add-on.
                    "phases": int(sub.get(CONF_PHASES) or 3),
                    "voltage_v": _float(sub.get(CONF_VOLTAGE)),
                    "min_current_a": _float(sub.get(CONF_MIN_CURRENT)),
                    "max_current_a": _float(sub.get(CONF_MAX_CURRENT)),
                    "soc_entity": sub.get(CONF_SOC_ENTITY),
                    "plugged_entity": sub.get(CONF_PLUGGED_ENTITY),
                    "charger_entity": sub.get(CONF_CHARGER_ENTITY),
                    "departure": _hhmm(sub.get(CONF_DEPARTURE)),
                    "target_soc_pct": _float(sub.get(CONF_TARGET_SOC)),
                }
            )
        elif subentry.subentry_type == SUBENTRY_APPLIANCE:
            site["appliances"].append(
                common
                | {
                    "power_w": _float(sub.get(CONF_POWER_W)),
                    "duration_min": int(sub.get(CONF_DURATION_MIN) or 0) or None,
                    "switch_entity": sub.get(CONF_SWITCH_ENTITY),
                    "finish_by": _hhmm(sub.get(CONF_FINISH_BY)),
                    "smart_start": bool(sub.get(CONF_SMART_START, True)),
                }
            )
        elif subentry.subentry_type == SUBENTRY_THERMAL:
            site["thermal_loads"].append(
                common
                | {
                    "kind": sub.get(CONF_THERMAL_KIND),
                    "power_w": _float(sub.get(CONF_POWER_W)),
                    "switch_entity": sub.get(CONF_SWITCH_ENTITY),
                    "temperature_entity": sub.get(CONF_TEMPERATURE_ENTITY),
                    "min_temp_c": _float(sub.get(CONF_MIN_TEMP)),
                    "max_temp_c": _float(sub.get(CONF_MAX_TEMP)),
                }
            )
    cleaned: dict[str, Any] = _without_none(site)
    return cleaned


def _without_none(value: Any) -> Any:
    """Drop absent values so the add-on applies its own defaults instead of rejecting a null."""
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _friendly_name(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    return str(state.name) if state is not None else entity_id

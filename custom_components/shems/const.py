"""Constants for the SHEMS integration: keys of config entries, subentries, events and services."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "shems"
DEFAULT_TITLE: Final = "SHEMS"
DEFAULT_PORT: Final = 8099

# Connection (config entry data).
CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"
CONF_INSTANCE_ID: Final = "instance_id"

# The home (config entry data), pre-filled from the Energy dashboard preferences.
CONF_GRID_IMPORT: Final = "grid_import_entity"
CONF_GRID_EXPORT: Final = "grid_export_entity"
CONF_GRID_POWER: Final = "grid_power_entity"
CONF_SOLAR: Final = "solar_entities"
CONF_METERS: Final = "meter_entities"
CONF_MAX_IMPORT_W: Final = "max_import_w"
CONF_MAX_EXPORT_W: Final = "max_export_w"
# The solar system, so the plan has a PV forecast before any production is measured.
CONF_PV_PEAK_W: Final = "pv_peak_w"
CONF_PV_TILT: Final = "pv_tilt"
CONF_PV_AZIMUTH: Final = "pv_azimuth"
CONF_PV_FORECAST: Final = "pv_forecast_entity"

# Price source (config entry data).
CONF_PRICE_KIND: Final = "price_kind"
PRICE_ENTITY: Final = "entity"
PRICE_FIXED: Final = "fixed"
PRICE_TOU: Final = "tou"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_EXPORT_PRICE_ENTITY: Final = "export_price_entity"
CONF_IMPORT_PRICE: Final = "import_price"
CONF_EXPORT_PRICE: Final = "export_price"
CONF_PEAK_PRICE: Final = "peak_price"
CONF_PEAK_START: Final = "peak_start"
CONF_PEAK_END: Final = "peak_end"

# Options.
CONF_INTERVAL_MIN: Final = "optimization_interval_min"
CONF_MODE: Final = "mode"
MODE_COST: Final = "cost"
MODE_SELF_CONSUMPTION: Final = "self_consumption"
DEFAULT_INTERVAL_MIN: Final = 15

# Subentry types and their fields.
SUBENTRY_BATTERY: Final = "battery"
SUBENTRY_EV: Final = "ev"
SUBENTRY_APPLIANCE: Final = "appliance"
SUBENTRY_THERMAL: Final = "thermal_load"

CONF_NAME: Final = "name"
CONF_CAPACITY_KWH: Final = "capacity_kwh"
CONF_MAX_CHARGE_W: Final = "max_charge_w"
CONF_MAX_DISCHARGE_W: Final = "max_discharge_w"
CONF_MIN_CHARGE_W: Final = "min_charge_w"
CONF_MIN_SOC: Final = "min_soc_pct"
CONF_MAX_SOC: Final = "max_soc_pct"
CONF_EFFICIENCY: Final = "efficiency"
CONF_WEAR_COST: Final = "wear_cost_per_kwh"
CONF_SOC_ENTITY: Final = "soc_entity"
CONF_ENERGY_IN: Final = "energy_in_entity"
CONF_ENERGY_OUT: Final = "energy_out_entity"
CONF_BATTERY_MODE: Final = "battery_mode"
BATTERY_MODES: Final = ("auto", "hold", "charge", "off")
CONF_BATTERY_KWH: Final = "battery_kwh"
CONF_CHARGER_ENTITY: Final = "charger_entity"  # an output: what starts and stops charging
CONF_PLUGGED_ENTITY: Final = "plugged_entity"  # an input: whether the car is plugged in
CONF_PHASES: Final = "phases"
PHASES: Final = ("1", "3")
CONF_VOLTAGE: Final = "voltage_v"
CONF_MIN_CURRENT: Final = "min_current_a"
CONF_MAX_CURRENT: Final = "max_current_a"
CONF_DEPARTURE: Final = "departure"
CONF_TARGET_SOC: Final = "target_soc_pct"
CONF_POWER_W: Final = "power_w"
CONF_DURATION_MIN: Final = "duration_min"
CONF_SWITCH_ENTITY: Final = "switch_entity"
CONF_FINISH_BY: Final = "finish_by"
CONF_SMART_START: Final = "smart_start"
CONF_THERMAL_KIND: Final = "thermal_kind"
THERMAL_KINDS: Final = ("water_heater", "heat_pump")
CONF_TEMPERATURE_ENTITY: Final = "temperature_entity"
CONF_MIN_TEMP: Final = "min_temp_c"
CONF_MAX_TEMP: Final = "max_temp_c"

# The hub's "Home empty" switch (its entity description key; the site document's field).
HOME_EMPTY: Final = "home_empty"

# Events for automations and blueprints.
EVENT_PLAN_UPDATED: Final = "shems_plan_updated"
EVENT_APPLIANCE_START_DUE: Final = "shems_appliance_start_due"

# Coordinator.
POLL_INTERVAL: Final = timedelta(minutes=5)
STREAM_RETRY_MAX_S: Final = 60.0
STALE_PRICES_AFTER: Final = timedelta(hours=26)

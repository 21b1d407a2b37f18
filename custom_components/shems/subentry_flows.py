"""Config subentry flows: batteries, EVs, appliances and thermal loads, each added, edited and removed
on its own, and each becoming one device with its entities.

Every asset type is described once (its schema and defaults); the add and edit steps share it. A new
battery is pre-filled with charge/discharge meters from the Energy dashboard that no other battery uses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import voluptuous as vol
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers import selector

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
    CONF_FINISH_BY,
    CONF_MAX_CHARGE_W,
    CONF_MAX_CURRENT,
    CONF_MAX_DISCHARGE_W,
    CONF_MAX_SOC,
    CONF_MAX_TEMP,
    CONF_MIN_CURRENT,
    CONF_MIN_SOC,
    CONF_MIN_TEMP,
    CONF_NAME,
    CONF_PHASES,
    CONF_PLUGGED_ENTITY,
    CONF_POWER_W,
    CONF_SMART_START,
    CONF_SOC_ENTITY,
    CONF_SWITCH_ENTITY,
    CONF_TARGET_SOC,
    CONF_TEMPERATURE_ENTITY,
    CONF_THERMAL_KIND,
    CONF_VOLTAGE,
    CONF_WEAR_COST,
    PHASES,
    SUBENTRY_BATTERY,
    THERMAL_KINDS,
)
from .energy_prefs import async_read_energy_prefs
from .validation import energy_sensor_problem


def _number(minimum: float, maximum: float, step: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _entity(domain: str | list[str], device_class: str | None = None) -> selector.EntitySelector:
    config = selector.EntitySelectorConfig(domain=domain)
    if device_class:
        config["device_class"] = device_class
    return selector.EntitySelector(config)


NAME = selector.TextSelector()
TIME = selector.TimeSelector()
SWITCHABLE = ["switch", "input_boolean"]


class AssetSubentryFlow(ConfigSubentryFlow):
    """Add (step ``user``) or edit (step ``reconfigure``) one asset; subclasses give schema and checks."""

    schema: ClassVar[vol.Schema]
    defaults: ClassVar[dict[str, Any]] = {}
    energy_fields: ClassVar[tuple[str, ...]] = ()
    min_max_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()
    watt_fields: ClassVar[tuple[str, ...]] = ()

    async def _async_prefill(self) -> dict[str, Any]:
        return dict(self.defaults)

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for key in self.energy_fields:
            if user_input.get(key) and (problem := energy_sensor_problem(self.hass, user_input[key])):
                errors[key] = problem
        for key in self.watt_fields:
            # Under 100 W is almost surely a value typed in kW: refuse it with that hint.
            if 0 < float(user_input.get(key) or 0) < 100:
                errors[key] = "watts_look_like_kw"
        for low, high in self.min_max_pairs:
            if low in user_input and high in user_input and user_input[low] >= user_input[high]:
                errors[high] = "min_not_below_max"
        name = user_input[CONF_NAME].strip()
        if not name:
            errors[CONF_NAME] = "name_required"
        entry = self._get_entry()
        editing = self._reconfigure_subentry_id if self.source == "reconfigure" else None
        for subentry in entry.subentries.values():
            if subentry.subentry_id != editing and subentry.title.casefold() == name.casefold():
                errors[CONF_NAME] = "name_exists"
        return errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input)
            if not errors:
                data = {**self.defaults, **user_input, CONF_NAME: user_input[CONF_NAME].strip()}
                return self.async_create_entry(title=data[CONF_NAME], data=data)
        suggested = user_input or await self._async_prefill()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(self.schema, suggested),
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input)
            if not errors:
                name = user_input[CONF_NAME].strip()
                # What the form does not show (smart start, battery mode) is kept; an optional field
                # the user emptied (e.g. the plug sensor) is removed, not kept from before.
                shown = {str(key) for key in self.schema.schema}
                kept = {key: value for key, value in subentry.data.items() if key not in shown}
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data={**kept, **user_input, CONF_NAME: name},
                )
        suggested = user_input or dict(subentry.data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(self.schema, suggested),
            errors=errors,
        )


class BatterySubentryFlow(AssetSubentryFlow):
    schema = vol.Schema(
        {
            vol.Required(CONF_NAME): NAME,
            vol.Required(CONF_CAPACITY_KWH): _number(0.1, 1000, 0.1, "kWh"),
            vol.Required(CONF_MAX_CHARGE_W): _number(0, 100000, 100, "W"),
            vol.Required(CONF_MAX_DISCHARGE_W): _number(0, 100000, 100, "W"),
            vol.Required(CONF_MIN_SOC): _number(0, 100, 1, "%"),
            vol.Required(CONF_MAX_SOC): _number(0, 100, 1, "%"),
            vol.Required(CONF_EFFICIENCY): _number(0.5, 1.0, 0.01),
            vol.Optional(CONF_WEAR_COST): _number(0, 1, 0.001),
            vol.Optional(CONF_SOC_ENTITY): _entity("sensor", "battery"),
            vol.Optional(CONF_ENERGY_IN): _entity("sensor", "energy"),
            vol.Optional(CONF_ENERGY_OUT): _entity("sensor", "energy"),
        }
    )
    defaults: ClassVar[dict[str, Any]] = {
        CONF_MIN_SOC: 10,
        CONF_MAX_SOC: 100,
        CONF_EFFICIENCY: 0.95,
        CONF_WEAR_COST: 0.0,
        CONF_BATTERY_MODE: BATTERY_MODES[0],
    }
    energy_fields = (CONF_ENERGY_IN, CONF_ENERGY_OUT)
    min_max_pairs = ((CONF_MIN_SOC, CONF_MAX_SOC),)
    watt_fields = (CONF_MAX_CHARGE_W, CONF_MAX_DISCHARGE_W)

    async def _async_prefill(self) -> dict[str, Any]:
        prefill = dict(self.defaults)
        used = {
            subentry.data.get(CONF_ENERGY_IN)
            for subentry in self._get_entry().subentries.values()
            if subentry.subentry_type == SUBENTRY_BATTERY
        }
        for flows in (await async_read_energy_prefs(self.hass)).batteries:
            if flows.energy_in_entity not in used:
                prefill[CONF_ENERGY_IN] = flows.energy_in_entity
                prefill[CONF_ENERGY_OUT] = flows.energy_out_entity
                break
        return prefill


class EvSubentryFlow(AssetSubentryFlow):
    """The car and its charger: the plug state is an input of its own; the switch is an output only.

    The charger's phases, voltage and current range are entered once: the add-on plans only powers
    the charger can deliver and the EV blueprint converts the plan back to amperes with them.
    """

    schema = vol.Schema(
        {
            vol.Required(CONF_NAME): NAME,
            vol.Required(CONF_BATTERY_KWH): _number(1, 300, 0.5, "kWh"),
            vol.Required(CONF_DEPARTURE): TIME,
            vol.Required(CONF_TARGET_SOC): _number(0, 100, 1, "%"),
            vol.Optional(CONF_SOC_ENTITY): _entity("sensor", "battery"),
            vol.Optional(CONF_PLUGGED_ENTITY): _entity(["binary_sensor", "sensor"]),
            vol.Optional(CONF_CHARGER_ENTITY): _entity(SWITCHABLE),
            vol.Required(CONF_PHASES): selector.SelectSelector(
                selector.SelectSelectorConfig(options=list(PHASES), translation_key="phases")
            ),
            vol.Required(CONF_VOLTAGE): _number(100, 260, 1, "V"),
            vol.Required(CONF_MIN_CURRENT): _number(1, 80, 1, "A"),
            vol.Required(CONF_MAX_CURRENT): _number(1, 80, 1, "A"),
        }
    )
    defaults: ClassVar[dict[str, Any]] = {
        CONF_DEPARTURE: "07:00:00",
        CONF_TARGET_SOC: 80,
        CONF_PHASES: "3",
        CONF_VOLTAGE: 230,
        CONF_MIN_CURRENT: 6,
        CONF_MAX_CURRENT: 16,
    }
    min_max_pairs = ((CONF_MIN_CURRENT, CONF_MAX_CURRENT),)

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        errors = super()._validate(user_input)
        plugged = user_input.get(CONF_PLUGGED_ENTITY)
        if plugged and self.hass.states.get(plugged) is None:
            errors[CONF_PLUGGED_ENTITY] = "entity_not_found"
        return errors


class ApplianceSubentryFlow(AssetSubentryFlow):
    schema = vol.Schema(
        {
            vol.Required(CONF_NAME): NAME,
            vol.Required(CONF_POWER_W): _number(1, 20000, 10, "W"),
            vol.Required(CONF_DURATION_MIN): _number(1, 1440, 1, "min"),
            vol.Optional(CONF_FINISH_BY): TIME,
            vol.Optional(CONF_SWITCH_ENTITY): _entity(SWITCHABLE),
        }
    )
    defaults: ClassVar[dict[str, Any]] = {CONF_DURATION_MIN: 120, CONF_SMART_START: True}
    watt_fields = (CONF_POWER_W,)


class ThermalSubentryFlow(AssetSubentryFlow):
    schema = vol.Schema(
        {
            vol.Required(CONF_NAME): NAME,
            vol.Required(CONF_THERMAL_KIND): selector.SelectSelector(
                selector.SelectSelectorConfig(options=list(THERMAL_KINDS), translation_key="thermal_kind")
            ),
            vol.Required(CONF_POWER_W): _number(1, 30000, 10, "W"),
            vol.Required(CONF_MIN_TEMP): _number(0, 95, 0.5, "°C"),
            vol.Required(CONF_MAX_TEMP): _number(0, 95, 0.5, "°C"),
            vol.Optional(CONF_TEMPERATURE_ENTITY): _entity("sensor", "temperature"),
            vol.Optional(CONF_SWITCH_ENTITY): _entity([*SWITCHABLE, "climate", "water_heater"]),
        }
    )
    defaults: ClassVar[dict[str, Any]] = {
        CONF_THERMAL_KIND: THERMAL_KINDS[0],
        CONF_MIN_TEMP: 45,
        CONF_MAX_TEMP: 60,
    }
    min_max_pairs = ((CONF_MIN_TEMP, CONF_MAX_TEMP),)
    watt_fields = (CONF_POWER_W,)

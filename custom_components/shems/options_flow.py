"""Options: how often the add-on re-plans and what it optimizes for."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from .const import CONF_INTERVAL_MIN, CONF_MODE, DEFAULT_INTERVAL_MIN, MODE_COST, MODE_SELF_CONSUMPTION

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_INTERVAL_MIN, default=DEFAULT_INTERVAL_MIN): selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=5, max=120, step=5, unit_of_measurement="min", mode=selector.NumberSelectorMode.BOX
            )
        ),
        vol.Required(CONF_MODE, default=MODE_COST): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[MODE_COST, MODE_SELF_CONSUMPTION],
                translation_key="mode",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
    }
)


class ShemsOptionsFlow(OptionsFlow):
    """One form; the new options are pushed to the add-on when the entry reloads."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_INTERVAL_MIN: int(user_input[CONF_INTERVAL_MIN]), CONF_MODE: user_input[CONF_MODE]}
            )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, self.config_entry.options),
        )

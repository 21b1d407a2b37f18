"""Config flow for SHEMS: connect Home Assistant to a SHEMS add-on."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import CONF_TOKEN, CONF_URL, DOMAIN

USER_SCHEMA = vol.Schema({vol.Required(CONF_URL): str, vol.Optional(CONF_TOKEN, default=""): str})


class ShemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Manual set-up with the add-on's URL and token."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(title="SHEMS", data=user_input)
        return self.async_show_form(step_id="user", data_schema=USER_SCHEMA)

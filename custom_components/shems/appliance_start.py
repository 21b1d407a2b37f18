"""Start an appliance at its planned time through the switch named in its SHEMS settings.

Why here and not only in the blueprint: the appliance form asks for the switch that starts it, so a
user who named one expects SHEMS to use it without building an automation. It is turned on when the
plan's start is due and the appliance's *Smart start* is on; the ``shems_appliance_start_due`` event
still fires for anything else (the blueprint, a notification).
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import CONF_SMART_START, CONF_SWITCH_ENTITY, SUBENTRY_APPLIANCE

_LOGGER = logging.getLogger(__name__)


async def async_start_appliance(hass: HomeAssistant, subentry: ConfigSubentry | None) -> None:
    """Turn on the appliance's switch if it has one and smart start is on; a failure is logged."""
    if subentry is None or subentry.subentry_type != SUBENTRY_APPLIANCE:
        return
    switch = subentry.data.get(CONF_SWITCH_ENTITY)
    if not switch or not subentry.data.get(CONF_SMART_START, True):
        return
    try:
        await hass.services.async_call("homeassistant", "turn_on", {"entity_id": switch}, blocking=True)
    except HomeAssistantError as err:
        _LOGGER.warning("Could not start %s with %s at its planned time: %s", subentry.title, switch, err)

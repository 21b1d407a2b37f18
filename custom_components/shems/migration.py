"""Config entry migration: entries stored by older versions are brought to what the forms ask today.

1.1 → 1.2: an EV described its charger by a minimum and maximum power, and its "charger switch" was
read as the plug state. Now the charger is described by its phases, voltage and current range (the
same figures the EV blueprint converts with) and the plug state is an input of its own. The powers are
turned into the nearest electrics (more than 7.4 kW means three phases; 6 A minimum at the least);
the switch stays, as what the plan switches. No plug input can be guessed: until one is chosen the
plan assumes the car is plugged in and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_MAX_CHARGE_W,
    CONF_MAX_CURRENT,
    CONF_MIN_CHARGE_W,
    CONF_MIN_CURRENT,
    CONF_PHASES,
    CONF_VOLTAGE,
    SUBENTRY_EV,
)

_LOGGER = logging.getLogger(__name__)
VOLTAGE_V = 230
SINGLE_PHASE_MAX_W = 7400  # 32 A on one phase; above it a charger is three-phase
LOWEST_CURRENT_A = 6  # the IEC 61851 minimum: no car charges below it


def ev_electrics(data: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.1 EV subentry's data in the 1.2 shape."""
    max_w = float(data.get(CONF_MAX_CHARGE_W) or 11000)
    min_w = float(data.get(CONF_MIN_CHARGE_W) or 0)
    phases = 3 if max_w > SINGLE_PHASE_MAX_W else 1
    per_amp = VOLTAGE_V * phases
    min_a = max(LOWEST_CURRENT_A, round(min_w / per_amp))
    max_a = min(80, max(min_a, round(max_w / per_amp)))
    kept = {k: v for k, v in data.items() if k not in (CONF_MAX_CHARGE_W, CONF_MIN_CHARGE_W)}
    return kept | {
        CONF_PHASES: str(phases),
        CONF_VOLTAGE: VOLTAGE_V,
        CONF_MIN_CURRENT: min_a,
        CONF_MAX_CURRENT: max_a,
    }


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring ``entry`` to version 1.2; False (HA then leaves it unloaded) for a version from the future."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        for subentry in list(entry.subentries.values()):
            if subentry.subentry_type == SUBENTRY_EV and CONF_PHASES not in subentry.data:
                hass.config_entries.async_update_subentry(entry, subentry, data=ev_electrics(subentry.data))
        hass.config_entries.async_update_entry(entry, minor_version=2)
        _LOGGER.info("Migrated the SHEMS entry %s to version 1.2", entry.title)
    return True

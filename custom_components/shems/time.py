"""Time: an EV's departure time (when the target state of charge must be reached)."""

from __future__ import annotations

from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import ShemsConfigEntry
from .const import CONF_DEPARTURE, SUBENTRY_EV
from .entity import ShemsAssetControl, add_asset_controls

DEPARTURE = TimeEntityDescription(key="departure", translation_key="departure")


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    add_asset_controls(entry, async_add_entities, SUBENTRY_EV, EvDeparture, DEPARTURE)


class EvDeparture(ShemsAssetControl, TimeEntity):
    @property
    def native_value(self) -> time | None:
        subentry = self.subentry
        raw = subentry.data.get(CONF_DEPARTURE) if subentry else None
        return dt_util.parse_time(str(raw)) if raw else None

    async def async_set_value(self, value: time) -> None:
        await self.async_update_asset({CONF_DEPARTURE: value.strftime("%H:%M:%S")})

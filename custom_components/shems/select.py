"""Select: how a battery may be used (automatic planning, hold, force charge, off)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import BATTERY_MODES, CONF_BATTERY_MODE, SUBENTRY_BATTERY
from .entity import ShemsAssetControl, add_asset_controls

BATTERY_MODE = SelectEntityDescription(
    key="battery_mode", translation_key="battery_mode", options=list(BATTERY_MODES)
)


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    add_asset_controls(entry, async_add_entities, SUBENTRY_BATTERY, BatteryModeSelect, BATTERY_MODE)


class BatteryModeSelect(ShemsAssetControl, SelectEntity):
    @property
    def current_option(self) -> str | None:
        subentry = self.subentry
        return str(subentry.data.get(CONF_BATTERY_MODE, BATTERY_MODES[0])) if subentry else None

    async def async_select_option(self, option: str) -> None:
        await self.async_update_asset({CONF_BATTERY_MODE: option})

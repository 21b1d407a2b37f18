"""Switch: whether SHEMS may choose an appliance's start time (smart start)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import CONF_SMART_START, SUBENTRY_APPLIANCE
from .entity import ShemsAssetControl, add_asset_controls

SMART_START = SwitchEntityDescription(key="smart_start", translation_key="smart_start")


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    add_asset_controls(entry, async_add_entities, SUBENTRY_APPLIANCE, SmartStartSwitch, SMART_START)


class SmartStartSwitch(ShemsAssetControl, SwitchEntity):
    @property
    def is_on(self) -> bool | None:
        subentry = self.subentry
        return bool(subentry.data.get(CONF_SMART_START, True)) if subentry else None

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.async_update_asset({CONF_SMART_START: True})

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_update_asset({CONF_SMART_START: False})

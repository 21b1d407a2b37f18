"""Switches: whether SHEMS may choose an appliance's start time (smart start), and whether the home is
empty (the planner then heats to eco comfort bands)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from . import ShemsConfigEntry
from .const import CONF_SMART_START, HOME_EMPTY, SUBENTRY_APPLIANCE
from .entity import ShemsAssetControl, ShemsEntity, add_asset_controls, hub_device

SMART_START = SwitchEntityDescription(key="smart_start", translation_key="smart_start")
HOME_EMPTY_SWITCH = SwitchEntityDescription(key=HOME_EMPTY, translation_key=HOME_EMPTY)


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [HomeEmptySwitch(coordinator, HOME_EMPTY_SWITCH, device=hub_device(entry), scope="hub")]
    )
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


class HomeEmptySwitch(ShemsEntity, SwitchEntity, RestoreEntity):
    """Nobody is at home: the add-on plans heating to eco bands (water heaters keep their minimum).

    Its state is kept by Home Assistant across restarts; the coordinator reads it back before it
    first sends the site (see ``ShemsCoordinator._restored_home_empty``).
    """

    @property
    def is_on(self) -> bool:
        return self.coordinator.home_empty

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_set(False)

    async def _async_set(self, empty: bool) -> None:
        try:
            await self.coordinator.async_set_home_empty(empty)
        finally:
            self.async_write_ha_state()

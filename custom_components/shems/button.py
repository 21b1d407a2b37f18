"""Button: re-plan now instead of waiting for the next scheduled run."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .api import ShemsError
from .const import DOMAIN
from .entity import ShemsEntity, hub_device

OPTIMIZE_NOW = ButtonEntityDescription(key="optimize_now", translation_key="optimize_now")


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator
    async_add_entities([OptimizeNowButton(coordinator, OPTIMIZE_NOW, device=hub_device(entry), scope="hub")])


class OptimizeNowButton(ShemsEntity, ButtonEntity):
    async def async_press(self) -> None:
        try:
            plan = await self.coordinator.client.optimize()
        except ShemsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="optimize_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self.coordinator.async_set_plan(plan)

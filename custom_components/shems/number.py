"""Number: an EV's target state of charge at departure."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import CONF_TARGET_SOC, SUBENTRY_EV
from .entity import ShemsAssetControl, add_asset_controls

TARGET_SOC = NumberEntityDescription(
    key="target_soc",
    translation_key="target_soc",
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    native_unit_of_measurement=PERCENTAGE,
    mode=NumberMode.SLIDER,
)


# One change at a time: each one pushes the whole site to the add-on.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    add_asset_controls(entry, async_add_entities, SUBENTRY_EV, EvTargetSoc, TARGET_SOC)


class EvTargetSoc(ShemsAssetControl, NumberEntity):
    @property
    def native_value(self) -> float | None:
        subentry = self.subentry
        return (
            float(subentry.data[CONF_TARGET_SOC]) if subentry and CONF_TARGET_SOC in subentry.data else None
        )

    async def async_set_native_value(self, value: float) -> None:
        await self.async_update_asset({CONF_TARGET_SOC: value})

"""Number: an EV's target state of charge at departure."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import CONF_TARGET_SOC, SUBENTRY_EV
from .entity import ShemsAssetControl, asset_device

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
    coordinator = entry.runtime_data.coordinator
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_EV:
            async_add_entities(
                [
                    EvTargetSoc(
                        coordinator,
                        TARGET_SOC,
                        device=asset_device(entry, subentry),
                        scope=subentry_id,
                        subentry=subentry,
                    )
                ],
                config_subentry_id=subentry_id,
            )


class EvTargetSoc(ShemsAssetControl, NumberEntity):
    @property
    def native_value(self) -> float | None:
        subentry = self.subentry
        return (
            float(subentry.data[CONF_TARGET_SOC]) if subentry and CONF_TARGET_SOC in subentry.data else None
        )

    async def async_set_native_value(self, value: float) -> None:
        await self.async_update_asset({CONF_TARGET_SOC: value})

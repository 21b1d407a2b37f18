"""Binary sensors: whether an appliance's planned run is happening now."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import SUBENTRY_APPLIANCE
from .entity import ShemsEntity, add_asset_entities

RUN_NOW = BinarySensorEntityDescription(
    key="run_now", translation_key="run_now", device_class=BinarySensorDeviceClass.RUNNING
)


# Read-only: the coordinator does the fetching.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    add_asset_entities(entry, async_add_entities, ApplianceRunNow, {SUBENTRY_APPLIANCE: (RUN_NOW,)})


class ApplianceRunNow(ShemsEntity, BinarySensorEntity):
    """On while the plan has the appliance running."""

    @property
    def is_on(self) -> bool | None:
        ctx = self.snapshot()
        if ctx.data.plan is None or ctx.asset_id is None:
            return None
        run = ctx.data.plan.appliance(ctx.asset_id)
        if run is None or run.planned_start is None:
            return False
        end = run.planned_end or run.planned_start
        return run.planned_start <= ctx.now < end

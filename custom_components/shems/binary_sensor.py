"""Binary sensors: whether an appliance's planned run is happening now, and whether the add-on reports
a problem (its readiness: store unreachable, broker disconnected, ingestion stopped...)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import SUBENTRY_APPLIANCE
from .entity import ShemsEntity, add_asset_entities, hub_device

RUN_NOW = BinarySensorEntityDescription(
    key="run_now", translation_key="run_now", device_class=BinarySensorDeviceClass.RUNNING
)
ADDON_PROBLEM = BinarySensorEntityDescription(
    key="addon_problem",
    translation_key="addon_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


# Read-only: the coordinator does the fetching.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator
    async_add_entities([AddonProblem(coordinator, ADDON_PROBLEM, device=hub_device(entry), scope="hub")])
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


class AddonProblem(ShemsEntity, BinarySensorEntity):
    """On while the add-on's readiness names a problem; the problems are its attribute."""

    @property
    def is_on(self) -> bool | None:
        readiness = self.coordinator.data.readiness
        return None if readiness is None else not readiness.ready

    @property
    def extra_state_attributes(self) -> dict[str, str]:
        readiness = self.coordinator.data.readiness
        if readiness is None:
            return {}
        return dict(readiness.problems)

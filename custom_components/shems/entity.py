"""Base entity and devices: one hub device per add-on, one device per part of the home and per asset."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .const import (
    CONF_THERMAL_KIND,
    DOMAIN,
    SUBENTRY_APPLIANCE,
    SUBENTRY_BATTERY,
    SUBENTRY_EV,
    SUBENTRY_THERMAL,
)
from .coordinator import ShemsCoordinator, ShemsData
from .models import Meter

MANUFACTURER = "SHEMS"
# What each device is, shown as its model on the device page (the blueprints filter appliances by it).
ASSET_MODELS = {
    SUBENTRY_BATTERY: "Home battery",
    SUBENTRY_EV: "Electric vehicle",
    SUBENTRY_APPLIANCE: "Appliance",
    SUBENTRY_THERMAL: "Thermal load",
}
THERMAL_MODELS = {"water_heater": "Water heater", "heat_pump": "Heat pump"}
PART_MODELS = {"grid": "Grid connection", "solar": "Solar power system"}


def entry_uid(entry: ConfigEntry) -> str:
    return entry.unique_id or entry.entry_id


def hub_device(entry: ConfigEntry) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, entry_uid(entry))},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Energy planner",
        entry_type=DeviceEntryType.SERVICE,
    )


def part_device(entry: ConfigEntry, part: str) -> DeviceInfo:
    """The grid connection or the solar system, named through translations."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry_uid(entry)}_{part}")},
        translation_key=part,
        manufacturer=MANUFACTURER,
        model=PART_MODELS.get(part, part.replace("_", " ").capitalize()),
        via_device=(DOMAIN, entry_uid(entry)),
    )


def asset_device(entry: ConfigEntry, subentry: ConfigSubentry) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry_uid(entry)}_{subentry.subentry_id}")},
        name=subentry.title,
        manufacturer=MANUFACTURER,
        model=asset_model(subentry),
        via_device=(DOMAIN, entry_uid(entry)),
    )


def asset_model(subentry: ConfigSubentry) -> str:
    if subentry.subentry_type == SUBENTRY_THERMAL:
        kind = THERMAL_MODELS.get(str(subentry.data.get(CONF_THERMAL_KIND)))
        if kind is not None:
            return kind
    return ASSET_MODELS.get(subentry.subentry_type, subentry.subentry_type.replace("_", " ").capitalize())


def meter_device(entry: ConfigEntry, meter: Meter) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry_uid(entry)}_meter_{meter.meter_id}")},
        name=meter.name,
        manufacturer=MANUFACTURER,
        model="MQTT meter",
        via_device=(DOMAIN, entry_uid(entry)),
    )


@dataclass(frozen=True, slots=True)
class Context:
    """What a description's value function may look at."""

    data: ShemsData
    asset_id: str | None
    asset: Mapping[str, Any]
    now: datetime
    currency: str


class ShemsEntity(CoordinatorEntity[ShemsCoordinator]):
    """An entity fed by the coordinator, on one device, with a stable unique id."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: ShemsCoordinator,
        description: EntityDescription,
        *,
        device: DeviceInfo,
        scope: str,
        subentry: ConfigSubentry | None = None,
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_device_info = device
        self._attr_unique_id = f"{entry_uid(coordinator.config_entry)}_{scope}_{description.key}"
        self._subentry_id = subentry.subentry_id if subentry is not None else None

    @property
    def subentry(self) -> ConfigSubentry | None:
        if self._subentry_id is None:
            return None
        return self.coordinator.config_entry.subentries.get(self._subentry_id)

    def snapshot(self) -> Context:
        subentry = self.subentry
        return Context(
            data=self.coordinator.data,
            asset_id=self._subentry_id,
            asset=subentry.data if subentry is not None else {},
            now=dt_util.utcnow(),
            currency=self.hass.config.currency,
        )


class ShemsAssetControl(ShemsEntity):
    """A setting of an asset that lives in its subentry and is pushed to the add-on when changed."""

    async def async_update_asset(self, changes: Mapping[str, Any]) -> None:
        subentry = self.subentry
        if subentry is None:  # removed while the entity was still shown
            return
        entry = self.coordinator.config_entry
        self.hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **changes})
        await self.coordinator.async_push_site_or_raise()
        self.async_write_ha_state()


type MakeEntities = Callable[[ConfigSubentry], Sequence[Entity]]


class AssetEntities:
    """Adds each asset's (subentry's) entities once per platform: when the platform is set up, and when
    the subentry is added while the entry runs. No reload, so the entities already there stay available.
    (A removed subentry's devices and entities are removed by Home Assistant's registries.)
    """

    def __init__(self) -> None:
        self._platforms: list[Callable[[ConfigSubentry], None]] = []

    @callback
    def add_platform(
        self, entry: ConfigEntry[Any], async_add_entities: AddConfigEntryEntitiesCallback, make: MakeEntities
    ) -> None:
        added: set[str] = set()

        @callback
        def add(subentry: ConfigSubentry) -> None:
            if subentry.subentry_id in added:
                return
            added.add(subentry.subentry_id)
            if entities := make(subentry):
                async_add_entities(entities, config_subentry_id=subentry.subentry_id)

        self._platforms.append(add)
        for subentry in list(entry.subentries.values()):
            add(subentry)

    @callback
    def sync(self, entry: ConfigEntry[Any]) -> None:
        """Add the entities of subentries that are new since the last call."""
        for add in self._platforms:
            for subentry in list(entry.subentries.values()):
                add(subentry)


def add_asset_entities(
    entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: type[ShemsEntity],
    descriptions: Mapping[str, Sequence[EntityDescription]],
) -> None:
    """Add one ``entity_class`` per description of each subentry's type, on that asset's device, now
    and for subentries added later."""
    coordinator: ShemsCoordinator = entry.runtime_data.coordinator

    def make(subentry: ConfigSubentry) -> list[Entity]:
        return [
            entity_class(
                coordinator,
                description,
                device=asset_device(entry, subentry),
                scope=subentry.subentry_id,
                subentry=subentry,
            )
            for description in descriptions.get(subentry.subentry_type, ())
        ]

    entry.runtime_data.assets.add_platform(entry, async_add_entities, make)


def add_asset_controls(
    entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
    subentry_type: str,
    control: type[ShemsAssetControl],
    description: EntityDescription,
) -> None:
    """Add one ``control`` per subentry of ``subentry_type``, on that asset's device."""
    add_asset_entities(entry, async_add_entities, control, {subentry_type: (description,)})

"""The meters the add-on ingests, as Home Assistant devices with power, energy, voltage and current sensors.

Meters come and go with the add-on's answer: new ones get their entities as they appear, and the devices of
meters it no longer reports leave Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfElectricCurrent, UnitOfElectricPotential, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ShemsConfigEntry
from .const import DOMAIN
from .coordinator import ShemsCoordinator
from .entity import ShemsEntity, entry_uid, meter_device
from .models import Meter


@dataclass(frozen=True, kw_only=True)
class MeterSensorDescription(SensorEntityDescription):
    value_fn: Callable[[Meter], float | None]


METER_SENSORS: tuple[MeterSensorDescription, ...] = (
    MeterSensorDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        value_fn=lambda meter: meter.power_w,
    ),
    MeterSensorDescription(
        key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda meter: meter.energy_kwh,
    ),
    MeterSensorDescription(
        key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_registry_enabled_default=False,
        value_fn=lambda meter: meter.voltage_v,
    ),
    MeterSensorDescription(
        key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_registry_enabled_default=False,
        value_fn=lambda meter: meter.current_a,
    ),
)


def track_meters(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors of every meter the add-on reports, now and whenever a new one appears."""
    coordinator = entry.runtime_data.coordinator
    known: set[str] = set()

    @callback
    def add_new_meters() -> None:
        if not coordinator.last_update_success:
            return
        gone = known - set(coordinator.data.meters)
        if gone:
            remove_meter_devices(hass, entry, gone)
            known.difference_update(gone)
        new = [meter for meter_id, meter in coordinator.data.meters.items() if meter_id not in known]
        if not new:
            return
        known.update(meter.meter_id for meter in new)
        async_add_entities(
            MeterSensor(coordinator, description, meter) for meter in new for description in METER_SENSORS
        )

    add_new_meters()
    entry.async_on_unload(coordinator.async_add_listener(add_new_meters))


@callback
def remove_meter_devices(hass: HomeAssistant, entry: ShemsConfigEntry, meter_ids: set[str]) -> None:
    """Meters the add-on no longer reports: their devices (and entities) leave Home Assistant too."""
    registry = dr.async_get(hass)
    for meter_id in meter_ids:
        device = registry.async_get_device(identifiers={(DOMAIN, f"{entry_uid(entry)}_meter_{meter_id}")})
        if device is not None:
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


class MeterSensor(ShemsEntity, SensorEntity):
    """A reading of a meter the add-on ingests over MQTT (selectable in the Energy dashboard)."""

    entity_description: MeterSensorDescription

    def __init__(
        self, coordinator: ShemsCoordinator, description: MeterSensorDescription, meter: Meter
    ) -> None:
        super().__init__(
            coordinator,
            description,
            device=meter_device(coordinator.config_entry, meter),
            scope=f"meter_{meter.meter_id}",
        )
        self._meter_id = meter.meter_id
        self._attr_translation_key = f"meter_{description.key}"

    @property
    def available(self) -> bool:
        return super().available and self._meter_id in self.coordinator.data.meters

    @property
    def native_value(self) -> float | None:
        meter = self.coordinator.data.meters.get(self._meter_id)
        return self.entity_description.value_fn(meter) if meter is not None else None

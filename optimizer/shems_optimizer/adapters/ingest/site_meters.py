"""The store devices that the site document's Home Assistant entities feed, with stable ids.

* ``site-grid`` (grid): ``grid.power_entity`` (+ import / − export) and ``grid.import_energy_entity``;
* ``site-grid-export`` (grid): ``grid.export_energy_entity``, the export counter;
* ``site-pv-<n>`` (pv, n = 1, 2… in ``solar`` order): ``solar[n-1].power_entity`` and ``.energy_entity``;
* ``site-battery-<id>`` (battery): ``batteries[].power_entity`` (+ charge / − discharge) and
  ``energy_in_entity``, the charge counter;
* ``site-battery-<id>-discharge`` (battery): ``energy_out_entity``, the discharge counter;
* ``site-meter-<entity id>`` (load): ``meters[].entity_id``, power or energy from its unit.

Power entities must report a power unit (W, kW) and energy entities an energy unit (Wh, kWh): an
entity in the wrong field is refused by the ingester with its id in the message, never stored with a
factor of 1000 wrong. The devices carry ``source: site`` and their flow (see
:mod:`~shems_optimizer.app.inputs.home_history`); they only measure, so no command is ever routed to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shems_optimizer.adapters.ingest.homeassistant import EntityBinding
from shems_optimizer.adapters.ingest.units import Quantity
from shems_optimizer.app.records.models import Device, DeviceType

SOURCE = "site"


@dataclass(frozen=True)
class SiteMeter:
    device_id: str
    type: DeviceType
    name: str
    flow: str | None  # "grid", "pv", "battery"; None for a sub-meter of some consumer
    group: str
    outward_counter: bool = False
    entities: tuple[EntityBinding, ...] = field(default_factory=tuple)

    def device(self, home_id: str) -> Device:
        attributes: dict[str, Any] = {
            "source": SOURCE,
            "group": self.group,
            "outward_counter": self.outward_counter,
            "entities": [b.entity_id for b in self.entities],
        }
        if self.flow is not None:
            attributes["flow"] = self.flow
        return Device(self.device_id, home_id, self.type, self.name, attributes=attributes)


def _bindings(device_id: str, *pairs: tuple[Any, Quantity | None]) -> tuple[EntityBinding, ...]:
    return tuple(EntityBinding(entity, device_id, quantity) for entity, quantity in pairs if entity)


def site_meters(site: Mapping[str, Any]) -> list[SiteMeter]:
    """Every device the site's entities feed (devices without any entity are left out)."""
    meters: list[SiteMeter] = []

    def add(meter: SiteMeter) -> None:
        if meter.entities:
            meters.append(meter)

    grid = site.get("grid") or {}
    add(
        SiteMeter(
            "site-grid",
            DeviceType.GRID,
            "Grid",
            "grid",
            "grid",
            entities=_bindings(
                "site-grid",
                (grid.get("power_entity"), Quantity.POWER),
                (grid.get("import_energy_entity"), Quantity.ENERGY),
            ),
        )
    )
    add(
        SiteMeter(
            "site-grid-export",
            DeviceType.GRID,
            "Grid export",
            "grid",
            "grid",
            outward_counter=True,
            entities=_bindings("site-grid-export", (grid.get("export_energy_entity"), Quantity.ENERGY)),
        )
    )
    for index, solar in enumerate(site.get("solar") or []):
        device_id = f"site-pv-{index + 1}"
        add(
            SiteMeter(
                device_id,
                DeviceType.PV,
                f"Solar {index + 1}",
                "pv",
                device_id,
                entities=_bindings(
                    device_id,
                    (solar.get("power_entity"), Quantity.POWER),
                    (solar.get("energy_entity"), Quantity.ENERGY),
                ),
            )
        )
    for battery in site.get("batteries") or []:
        device_id = f"site-battery-{battery['id']}"
        name = str(battery.get("name") or battery["id"])
        add(
            SiteMeter(
                device_id,
                DeviceType.BATTERY,
                name,
                "battery",
                device_id,
                entities=_bindings(
                    device_id,
                    (battery.get("power_entity"), Quantity.POWER),
                    (battery.get("energy_in_entity"), Quantity.ENERGY),
                ),
            )
        )
        add(
            SiteMeter(
                f"{device_id}-discharge",
                DeviceType.BATTERY,
                f"{name} discharge",
                "battery",
                device_id,
                outward_counter=True,
                entities=_bindings(
                    f"{device_id}-discharge", (battery.get("energy_out_entity"), Quantity.ENERGY)
                ),
            )
        )
    for meter in site.get("meters") or []:
        entity = str(meter["entity_id"])
        device_id = f"site-meter-{entity}"
        add(
            SiteMeter(
                device_id,
                DeviceType.LOAD,
                str(meter.get("name") or entity),
                None,
                device_id,
                entities=_bindings(device_id, (entity, None)),
            )
        )
    return _without_repeated_entities(meters)


def _without_repeated_entities(meters: list[SiteMeter]) -> list[SiteMeter]:
    """An entity named twice feeds only its first device (one entity, one meaning)."""
    seen: set[str] = set()
    out = []
    for meter in meters:
        kept = tuple(b for b in meter.entities if b.entity_id not in seen)
        seen.update(b.entity_id for b in kept)
        if kept:
            out.append(
                SiteMeter(
                    meter.device_id,
                    meter.type,
                    meter.name,
                    meter.flow,
                    meter.group,
                    meter.outward_counter,
                    kept,
                )
            )
    return out


def bindings(meters: list[SiteMeter]) -> list[EntityBinding]:
    return [binding for meter in meters for binding in meter.entities]

"""Read Home Assistant's Energy dashboard preferences to pre-fill the SHEMS home.

A typical user already told HA which sensors meter the grid, the solar system, a battery and individual
devices; the config flow offers exactly those so the user confirms instead of typing entity ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.energy.data import async_get_manager
from homeassistant.core import HomeAssistant


@dataclass(frozen=True, slots=True)
class BatteryFlows:
    energy_in_entity: str
    energy_out_entity: str


@dataclass(frozen=True, slots=True)
class EnergyPrefill:
    """What the Energy dashboard already knows about the home (empty when it is not set up)."""

    grid_import: tuple[str, ...] = ()
    grid_export: tuple[str, ...] = ()
    grid_power: str | None = None
    solar: tuple[str, ...] = ()
    batteries: tuple[BatteryFlows, ...] = ()
    devices: tuple[str, ...] = ()
    price_entity: str | None = None
    export_price_entity: str | None = None
    import_price: float | None = None
    export_price: float | None = None


async def async_read_energy_prefs(hass: HomeAssistant) -> EnergyPrefill:
    """Collect the Energy dashboard's sources; statistic ids of external statistics are skipped."""
    manager = await async_get_manager(hass)
    prefs = manager.data
    if prefs is None:
        return EnergyPrefill()

    def is_entity(stat_id: str | None) -> bool:
        return bool(stat_id) and "." in str(stat_id) and ":" not in str(stat_id)

    grid_import: list[str] = []
    grid_export: list[str] = []
    grid_power: str | None = None
    solar: list[str] = []
    batteries: list[BatteryFlows] = []
    price_entity: str | None = None
    export_price_entity: str | None = None
    import_price: float | None = None
    export_price: float | None = None
    for source in prefs["energy_sources"]:
        if source["type"] == "grid":
            for flow_from in source["flow_from"]:
                if is_entity(flow_from["stat_energy_from"]):
                    grid_import.append(flow_from["stat_energy_from"])
                price_entity = price_entity or flow_from.get("entity_energy_price")
                if import_price is None:
                    import_price = flow_from.get("number_energy_price")
            for flow_to in source["flow_to"]:
                if is_entity(flow_to["stat_energy_to"]):
                    grid_export.append(flow_to["stat_energy_to"])
                export_price_entity = export_price_entity or flow_to.get("entity_energy_price")
                if export_price is None:
                    export_price = flow_to.get("number_energy_price")
            for power in source.get("power", []):
                rate = power.get("stat_rate")
                if grid_power is None and is_entity(rate):
                    grid_power = rate
        elif source["type"] == "solar":
            if is_entity(source["stat_energy_from"]):
                solar.append(source["stat_energy_from"])
        elif source["type"] == "battery":
            if is_entity(source["stat_energy_to"]) and is_entity(source["stat_energy_from"]):
                batteries.append(
                    BatteryFlows(
                        energy_in_entity=source["stat_energy_to"],
                        energy_out_entity=source["stat_energy_from"],
                    )
                )
    devices = tuple(
        device["stat_consumption"]
        for device in prefs["device_consumption"]
        if is_entity(device["stat_consumption"])
    )
    return EnergyPrefill(
        grid_import=tuple(grid_import),
        grid_export=tuple(grid_export),
        grid_power=grid_power,
        solar=tuple(solar),
        batteries=tuple(batteries),
        devices=devices,
        price_entity=price_entity,
        export_price_entity=export_price_entity,
        import_price=import_price,
        export_price=export_price,
    )

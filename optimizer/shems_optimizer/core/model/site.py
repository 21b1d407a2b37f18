"""The home as a whole: grid connection, PV, and the list of controllable assets."""

from __future__ import annotations

from dataclasses import dataclass, field

from shems_optimizer.core.model.assets import (
    Appliance,
    Battery,
    ElectricVehicle,
    ThermalLoad,
    _finite,
    check_power,
)
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.tariff import Tariff


@dataclass(frozen=True)
class Grid:
    """The connection to the public grid."""

    import_limit_kw: float = 17.0
    export_limit_kw: float = 17.0
    # Prices when the series carries none (time-of-use or fixed; market prices come with the series).
    tariff: Tariff | None = None
    # EUR per kW of the highest import power in the horizon (0: no demand charge).
    peak_demand_charge_eur_per_kw: float = 0.0

    def __post_init__(self) -> None:
        check_power("grid", "import_limit_kw", self.import_limit_kw)
        check_power("grid", "export_limit_kw", self.export_limit_kw)
        _finite("grid", "peak_demand_charge_eur_per_kw", self.peak_demand_charge_eur_per_kw)
        if self.peak_demand_charge_eur_per_kw < 0:
            raise ConfigError("grid.peak_demand_charge_eur_per_kw", "must be >= 0")


@dataclass(frozen=True)
class PV:
    """Solar production; its forecast comes with the series (``pv_kw``)."""

    # True: the inverter may be told to produce less than it could (e.g. at negative sell prices).
    curtailable: bool = False


@dataclass(frozen=True)
class Site:
    """Everything the planner needs to know about a home that does not change every step."""

    name: str = "home"
    timezone: str = "UTC"
    country: str | None = None  # ISO 3166 code: public holidays for tariffs and forecasts
    currency: str = "EUR"  # of every price and cost
    grid: Grid = field(default_factory=Grid)
    pv: PV = field(default_factory=PV)
    batteries: tuple[Battery, ...] = ()
    evs: tuple[ElectricVehicle, ...] = ()
    appliances: tuple[Appliance, ...] = ()
    thermal: tuple[ThermalLoad, ...] = ()

    def __post_init__(self) -> None:
        names: dict[str, str] = {}
        for kind, assets in (
            ("batteries", self.batteries),
            ("evs", self.evs),
            ("appliances", self.appliances),
            ("thermal", self.thermal),
        ):
            for asset in assets:
                if not asset.name:
                    raise ConfigError(f"{kind}", "every asset needs a non-empty name")
                if asset.name in names:
                    raise ConfigError(
                        f"{kind}[{asset.name}].name",
                        f"the name is already used by one of {names[asset.name]}; names must be unique",
                    )
                names[asset.name] = kind

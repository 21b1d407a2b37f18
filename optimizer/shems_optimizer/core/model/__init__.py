"""Typed description of a home: the site, its grid connection and its controllable assets."""

from shems_optimizer.core.model.assets import (
    Appliance,
    Battery,
    ElectricVehicle,
    EnergyAppliance,
    ProfileAppliance,
    ThermalLoad,
)
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import PV, Grid, Site
from shems_optimizer.core.model.tariff import (
    Fixed,
    Market,
    Period,
    PriceSeries,
    Season,
    Tariff,
    TariffError,
    TimeOfUse,
)

__all__ = [
    "PV",
    "Appliance",
    "Battery",
    "ConfigError",
    "ElectricVehicle",
    "EnergyAppliance",
    "Fixed",
    "Grid",
    "Market",
    "Period",
    "PriceSeries",
    "ProfileAppliance",
    "Season",
    "Series",
    "Site",
    "Tariff",
    "TariffError",
    "ThermalLoad",
    "TimeOfUse",
]

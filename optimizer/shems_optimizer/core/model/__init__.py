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
from shems_optimizer.core.model.site import PV, Grid, Site, TariffPeriod, TimeOfUseTariff

__all__ = [
    "PV",
    "Appliance",
    "Battery",
    "ConfigError",
    "ElectricVehicle",
    "EnergyAppliance",
    "Grid",
    "ProfileAppliance",
    "Series",
    "Site",
    "TariffPeriod",
    "ThermalLoad",
    "TimeOfUseTariff",
]

"""Controllable assets of a home: batteries, EVs, deferrable appliances and thermal loads.

Units are fixed by the field names (kW, kWh, EUR/kWh, °C, fractions 0..1 for SOC) so a value can
never be read in the wrong unit. Every class checks its own physics in ``__post_init__`` and raises
:class:`ConfigError` naming the field; the YAML/JSON loader adds the position in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shems_optimizer.core.model.errors import ConfigError

# Above these a home asset's figure is almost certainly given in W or Wh instead of kW or kWh.
MAX_HOME_POWER_KW = 250.0
MAX_HOME_ENERGY_KWH = 1000.0


def check_power(owner: str, name: str, value: float, *, allow_zero: bool = True) -> None:
    _check_amount(owner, name, value, allow_zero, ("kW", "W", "Powers"), MAX_HOME_POWER_KW)


def check_energy(owner: str, name: str, value: float, *, allow_zero: bool = False) -> None:
    _check_amount(owner, name, value, allow_zero, ("kWh", "Wh", "Energies"), MAX_HOME_ENERGY_KWH)


def _check_amount(
    owner: str, name: str, value: float, allow_zero: bool, units: tuple[str, str, str], limit: float
) -> None:
    """A finite, non-negative amount below what a home can have: above it, the unit was likely wrong."""
    unit, smaller, plural = units
    _finite(owner, name, value)
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{owner}.{name}", f"must be {'>= 0' if allow_zero else '> 0'} {unit}, got {value}")
    if value > limit:
        raise ConfigError(
            f"{owner}.{name}",
            f"{value:g} {unit} is implausible for a home (limit {limit:g} {unit}); "
            f"was it given in {smaller}? {plural} are in {unit}",
        )


def check_fraction(owner: str, name: str, value: float, *, allow_zero: bool = True) -> None:
    _finite(owner, name, value)
    if value < 0 or value > 1 or (value == 0 and not allow_zero):
        hint = " (give SOC as a fraction, e.g. 0.8 for 80 %)" if value > 1 else ""
        raise ConfigError(f"{owner}.{name}", f"must be between 0 and 1, got {value}{hint}")


def check_aware(owner: str, name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ConfigError(f"{owner}.{name}", f"{value.isoformat()} has no time zone; give an offset")


def _finite(owner: str, name: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{owner}.{name}", f"must be a finite number, got {value!r}")


def _efficiency(owner: str, name: str, value: float) -> None:
    _finite(owner, name, value)
    if not 0.5 <= value <= 1.0:
        raise ConfigError(f"{owner}.{name}", f"efficiency must be between 0.5 and 1, got {value}")


@dataclass(frozen=True)
class Battery:
    """A stationary battery. Powers are AC-side (what the grid balance sees)."""

    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    initial_soc: float
    soc_min: float = 0.1
    soc_max: float = 1.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    # Cost of wear for every kWh that passes through the battery, counted on charge and on discharge.
    wear_cost_eur_per_kwh: float = 0.0
    # Soft goal: at least this SOC at the end of the horizon (None: no goal).
    terminal_soc: float | None = None
    # Alternatively value energy left at the end (EUR/kWh); used when there is no terminal_soc.
    terminal_value_eur_per_kwh: float = 0.0
    # False: the battery only serves the house; export is limited to the PV surplus.
    may_export: bool = True

    # What people call it (the name they gave); ``name`` is the internal id. Empty: use ``name``.
    label: str = ""

    def __post_init__(self) -> None:
        owner = f"batteries[{self.name}]"
        check_energy(owner, "capacity_kwh", self.capacity_kwh)
        check_power(owner, "max_charge_kw", self.max_charge_kw)
        check_power(owner, "max_discharge_kw", self.max_discharge_kw)
        for field in ("initial_soc", "soc_min", "soc_max"):
            check_fraction(owner, field, getattr(self, field))
        if self.soc_min > self.soc_max:
            raise ConfigError(f"{owner}.soc_min", f"{self.soc_min} is above soc_max {self.soc_max}")
        if self.terminal_soc is not None:
            check_fraction(owner, "terminal_soc", self.terminal_soc)
        _efficiency(owner, "charge_efficiency", self.charge_efficiency)
        _efficiency(owner, "discharge_efficiency", self.discharge_efficiency)
        _finite(owner, "wear_cost_eur_per_kwh", self.wear_cost_eur_per_kwh)
        if self.wear_cost_eur_per_kwh < 0:
            raise ConfigError(f"{owner}.wear_cost_eur_per_kwh", "must be >= 0")
        _finite(owner, "terminal_value_eur_per_kwh", self.terminal_value_eur_per_kwh)


@dataclass(frozen=True)
class ElectricVehicle:
    """An EV charged at home. Only the charger's side is planned (no vehicle-to-grid)."""

    name: str
    capacity_kwh: float
    soc_now: float
    target_soc: float
    max_charge_kw: float
    departure: datetime | None = None
    # None: already there (if plugged_in) or not expected within the horizon.
    arrival: datetime | None = None
    min_charge_kw: float = 0.0
    plugged_in: bool = True
    charge_efficiency: float = 0.9

    # What people call it (the name they gave); ``name`` is the internal id. Empty: use ``name``.
    label: str = ""

    def __post_init__(self) -> None:
        owner = f"evs[{self.name}]"
        check_energy(owner, "capacity_kwh", self.capacity_kwh)
        check_fraction(owner, "soc_now", self.soc_now)
        check_fraction(owner, "target_soc", self.target_soc)
        check_power(owner, "max_charge_kw", self.max_charge_kw, allow_zero=False)
        check_power(owner, "min_charge_kw", self.min_charge_kw)
        if self.min_charge_kw > self.max_charge_kw:
            raise ConfigError(
                f"{owner}.min_charge_kw",
                f"{self.min_charge_kw} kW is above max_charge_kw {self.max_charge_kw}",
            )
        _efficiency(owner, "charge_efficiency", self.charge_efficiency)
        check_aware(owner, "departure", self.departure)
        check_aware(owner, "arrival", self.arrival)
        if self.arrival is not None and self.departure is not None and self.departure <= self.arrival:
            raise ConfigError(
                f"{owner}.departure",
                f"departure {self.departure.isoformat()} is not after arrival {self.arrival.isoformat()}",
            )


@dataclass(frozen=True)
class ProfileAppliance:
    """A programme that runs once without interruption (dishwasher, washing machine, dryer).

    ``profile_kw[i]`` is the mean power during the i-th ``profile_step`` of the programme. The
    planner picks a start time; the whole programme must fit between ``earliest_start`` and
    ``latest_finish`` (soft goal: if it cannot - also when the window is shorter than the programme -
    the plan says so instead of running it later).
    """

    name: str
    profile_kw: tuple[float, ...]
    profile_step: timedelta = timedelta(minutes=15)
    earliest_start: datetime | None = None
    latest_finish: datetime | None = None

    # What people call it (the name they gave); ``name`` is the internal id. Empty: use ``name``.
    label: str = ""

    def __post_init__(self) -> None:
        owner = f"appliances[{self.name}]"
        if not self.profile_kw:
            raise ConfigError(f"{owner}.profile_kw", "the power profile is empty")
        for i, value in enumerate(self.profile_kw):
            check_power(owner, f"profile_kw[{i}]", value)
        if self.profile_step <= timedelta(0):
            raise ConfigError(f"{owner}.profile_step", "must be positive")
        check_aware(owner, "earliest_start", self.earliest_start)
        check_aware(owner, "latest_finish", self.latest_finish)

    @property
    def duration(self) -> timedelta:
        return self.profile_step * len(self.profile_kw)

    @property
    def energy_kwh(self) -> float:
        return sum(self.profile_kw) * self.profile_step.total_seconds() / 3600.0


@dataclass(frozen=True)
class EnergyAppliance:
    """A load that needs an amount of energy by a deadline and may pause (water heater, pool pump).

    When ``min_power_kw > 0`` the load is on/off-like: it runs at ``min..max`` kW or not at all.
    ``min_on``/``min_off`` stop it from flapping.
    """

    name: str
    energy_kwh: float
    max_power_kw: float
    min_power_kw: float = 0.0
    earliest_start: datetime | None = None
    latest_finish: datetime | None = None
    min_on: timedelta = timedelta(0)
    min_off: timedelta = timedelta(0)

    # What people call it (the name they gave); ``name`` is the internal id. Empty: use ``name``.
    label: str = ""

    def __post_init__(self) -> None:
        owner = f"appliances[{self.name}]"
        check_energy(owner, "energy_kwh", self.energy_kwh, allow_zero=True)
        check_power(owner, "max_power_kw", self.max_power_kw, allow_zero=False)
        check_power(owner, "min_power_kw", self.min_power_kw)
        if self.min_power_kw > self.max_power_kw:
            raise ConfigError(
                f"{owner}.min_power_kw", f"{self.min_power_kw} kW is above max_power_kw {self.max_power_kw}"
            )
        check_aware(owner, "earliest_start", self.earliest_start)
        check_aware(owner, "latest_finish", self.latest_finish)
        if (
            self.earliest_start is not None
            and self.latest_finish is not None
            and self.latest_finish <= self.earliest_start
        ):
            raise ConfigError(f"{owner}.latest_finish", "must be after earliest_start")
        for field in ("min_on", "min_off"):
            if getattr(self, field) < timedelta(0):
                raise ConfigError(f"{owner}.{field}", "must not be negative")

    @property
    def is_on_off(self) -> bool:
        return self.min_power_kw > 0 or self.min_on > timedelta(0) or self.min_off > timedelta(0)


@dataclass(frozen=True)
class ThermalLoad:
    """A heat pump or electric water heater seen as one thermal mass (first-order model).

    ``T[t+1] = T[t] + Δt/C · (COP·P[t] − UA·(T[t] − T_ambient[t]) − draw_kw)`` with C in kWh/K and UA in
    kW/K. The comfort band is a soft goal. ``ambient_c`` is used when the series has no outdoor
    temperature (or for a water tank indoors, always when ``uses_outdoor_temperature`` is False).
    """

    name: str
    max_power_kw: float
    cop: float
    heat_capacity_kwh_per_k: float
    loss_kw_per_k: float
    initial_temp_c: float
    min_temp_c: float
    max_temp_c: float
    ambient_c: float = 20.0
    uses_outdoor_temperature: bool = False
    # Constant heat taken out (hot-water use, kW thermal) on top of the losses.
    draw_kw: float = 0.0

    # What people call it (the name they gave); ``name`` is the internal id. Empty: use ``name``.
    label: str = ""

    def __post_init__(self) -> None:
        owner = f"thermal[{self.name}]"
        check_power(owner, "max_power_kw", self.max_power_kw, allow_zero=False)
        for field in (
            "cop",
            "heat_capacity_kwh_per_k",
            "loss_kw_per_k",
            "initial_temp_c",
            "min_temp_c",
            "max_temp_c",
            "ambient_c",
            "draw_kw",
        ):
            _finite(owner, field, getattr(self, field))
        if not 0.5 <= self.cop <= 10:
            raise ConfigError(f"{owner}.cop", f"must be between 0.5 and 10, got {self.cop}")
        if self.heat_capacity_kwh_per_k <= 0:
            raise ConfigError(f"{owner}.heat_capacity_kwh_per_k", "must be > 0")
        if self.loss_kw_per_k < 0:
            raise ConfigError(f"{owner}.loss_kw_per_k", "must be >= 0")
        if self.min_temp_c > self.max_temp_c:
            raise ConfigError(
                f"{owner}.min_temp_c", f"{self.min_temp_c} °C is above max_temp_c {self.max_temp_c}"
            )
        if self.draw_kw < 0:
            raise ConfigError(f"{owner}.draw_kw", "must be >= 0")


Appliance = ProfileAppliance | EnergyAppliance

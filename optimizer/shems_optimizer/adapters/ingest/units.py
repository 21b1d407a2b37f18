"""Unit conversion for incoming telemetry: everything is stored as W, kWh, V and A.

Units are matched case-sensitively on their SI spelling (``kW`` not ``KW``) except for a few common
variants devices actually send; anything else is rejected with a message naming the source (entity
or field), because guessing a factor of 1000 wrong silently corrupts every plan.
"""

from __future__ import annotations

import enum


class UnitError(ValueError):
    """A value arrived in a unit SHEMS does not know for that quantity."""


class Quantity(enum.Enum):
    POWER = "power"
    ENERGY = "energy"
    VOLTAGE = "voltage"
    CURRENT = "current"


# Factor to the stored unit (W, kWh, V, A).
_FACTORS: dict[Quantity, dict[str, float]] = {
    Quantity.POWER: {
        "W": 1.0,
        "w": 1.0,
        "kW": 1000.0,
        "kw": 1000.0,
        "KW": 1000.0,
        "MW": 1_000_000.0,
        "mW": 0.001,
    },
    Quantity.ENERGY: {"Wh": 0.001, "kWh": 1.0, "KWh": 1.0, "kwh": 1.0, "MWh": 1000.0, "GJ": 277.777777778},
    Quantity.VOLTAGE: {"V": 1.0, "mV": 0.001, "kV": 1000.0},
    Quantity.CURRENT: {"A": 1.0, "mA": 0.001},
}

STORED_UNIT: dict[Quantity, str] = {
    Quantity.POWER: "W",
    Quantity.ENERGY: "kWh",
    Quantity.VOLTAGE: "V",
    Quantity.CURRENT: "A",
}


def factor(quantity: Quantity, unit: str | None, source: str) -> float:
    """Multiplier from ``unit`` to SHEMS's stored unit; raises :class:`UnitError` naming ``source``."""
    if unit is None or unit == "":
        raise UnitError(
            f"{source}: no unit of measurement for {quantity.value}; expected one of {known(quantity)}"
        )
    try:
        return _FACTORS[quantity][unit]
    except KeyError:
        raise UnitError(
            f"{source}: unknown {quantity.value} unit {unit!r}; expected one of {known(quantity)}"
        ) from None


def known(quantity: Quantity) -> str:
    return ", ".join(sorted({u for u in _FACTORS[quantity] if u[0].isupper() or u[0] in "km"}))


def quantity_for_unit(unit: str | None) -> Quantity | None:
    """Which quantity a unit measures (W -> power, kWh -> energy...), or None if unknown."""
    if unit is None:
        return None
    for quantity, units in _FACTORS.items():
        if unit in units:
            return quantity
    return None

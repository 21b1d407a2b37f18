"""Retail tariffs that turn spot prices (or nothing) into buy and sell prices, exactly.

Fixed and time-of-use tariffs need no forecast: their price at any future time is known. A spot tariff
is linear in the spot price (retail = multiplier x spot + adder), so its forecast inherits the spot
forecast's quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FixedTariff:
    eur_per_kwh: float

    def prices(self, index: pd.DatetimeIndex, spot: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(index), float(self.eur_per_kwh))

    @property
    def needs_spot(self) -> bool:
        return False


@dataclass(frozen=True)
class TimeOfUsePeriod:
    """A price from ``start`` to ``end`` local time (``end`` may be before ``start``: wraps midnight),
    on the given weekdays (0 = Monday; ``None`` = every day)."""

    start: time
    end: time
    eur_per_kwh: float
    weekdays: frozenset[int] | None = None

    def covers(self, local: pd.DatetimeIndex) -> np.ndarray:
        minutes = (local.hour * 60 + local.minute).to_numpy()
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        wraps = start >= end
        inside = ((minutes >= start) | (minutes < end)) if wraps else ((minutes >= start) & (minutes < end))
        if self.weekdays is not None:
            inside &= np.isin(local.day_of_week.to_numpy(), sorted(self.weekdays))
        return np.asarray(inside, dtype=bool)


@dataclass(frozen=True)
class TimeOfUseTariff:
    """Periods are checked in order; the first that covers a step sets its price, else ``default``."""

    timezone: str
    periods: tuple[TimeOfUsePeriod, ...]
    default_eur_per_kwh: float

    def prices(self, index: pd.DatetimeIndex, spot: np.ndarray | None = None) -> np.ndarray:
        local = index.tz_convert(self.timezone)
        out = np.full(len(index), float(self.default_eur_per_kwh))
        assigned = np.zeros(len(index), dtype=bool)
        for period in self.periods:
            hit = period.covers(local) & ~assigned
            out[hit] = period.eur_per_kwh
            assigned |= hit
        return out

    @property
    def needs_spot(self) -> bool:
        return False


@dataclass(frozen=True)
class SpotTariff:
    """``multiplier x spot + adder_eur_per_kwh`` (e.g. buy = spot + 0.20, sell = spot)."""

    adder_eur_per_kwh: float = 0.0
    multiplier: float = 1.0

    def prices(self, index: pd.DatetimeIndex, spot: np.ndarray | None = None) -> np.ndarray:
        if spot is None:
            raise ValueError("a spot tariff needs spot prices for every step")
        if len(spot) != len(index):
            raise ValueError(f"spot prices have {len(spot)} values for {len(index)} steps")
        return np.asarray(self.multiplier * np.asarray(spot, dtype=float) + self.adder_eur_per_kwh)

    @property
    def needs_spot(self) -> bool:
        return True


Tariff = FixedTariff | TimeOfUseTariff | SpotTariff

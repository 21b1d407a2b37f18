"""Per-step inputs of one planning run: forecasts of load and PV, prices, outdoor temperature.

A :class:`Series` is always aligned to a :class:`~shems_optimizer.core.timegrid.TimeGrid`: one value per
step, already averaged over the step. :meth:`Series.from_samples` does that alignment from samples at
any resolution (timestamps, not positions), repairs short gaps and refuses anything it cannot repair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.timegrid import FloatArray, TimeGrid, step_average

# Gaps up to this long are filled by linear interpolation (and reported); longer ones are an error.
MAX_REPAIRED_GAP = timedelta(hours=2)
# A load or PV forecast above this is almost certainly in W rather than kW.
MAX_SERIES_KW = 250.0
# Negative load/PV down to this (standby noise) is read as 0; below it is an error.
MAX_NOISE_KW = 0.1


@dataclass(frozen=True, eq=False)
class Series:
    """Forecasts and prices for every step of ``grid`` (arrays of length ``grid.steps``).

    Prices may be negative. When ``buy_eur_per_kwh``/``sell_eur_per_kwh`` are None, the site's
    time-of-use tariff supplies them (see :meth:`prices`).
    """

    grid: TimeGrid
    load_kw: FloatArray
    pv_kw: FloatArray
    buy_eur_per_kwh: FloatArray | None = None
    sell_eur_per_kwh: FloatArray | None = None
    outdoor_temp_c: FloatArray | None = None
    # What was repaired on the way in (interpolated gaps, ...), in words; copied into the plan.
    repairs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        steps = self.grid.steps
        for name in ("load_kw", "pv_kw", "buy_eur_per_kwh", "sell_eur_per_kwh", "outdoor_temp_c"):
            value = getattr(self, name)
            if value is None:
                continue
            array = np.asarray(value, dtype=np.float64)
            if array.shape != (steps,):
                raise ConfigError(
                    f"series.{name}", f"has {array.size} values but the horizon has {steps} steps"
                )
            bad = np.flatnonzero(~np.isfinite(array))
            if bad.size:
                raise ConfigError(
                    f"series.{name}",
                    f"missing or non-numeric value at {self.grid.starts[int(bad[0])].isoformat()} "
                    f"({bad.size} step(s) in all)",
                )
            object.__setattr__(self, name, array)
        for name in ("load_kw", "pv_kw"):
            array = getattr(self, name)
            # Small negatives are meter/inverter standby noise (e.g. -1.5 W of PV at night): read as 0.
            if np.any(array < -MAX_NOISE_KW):
                at = self.grid.starts[int(np.argmax(array < -MAX_NOISE_KW))]
                raise ConfigError(f"series.{name}", f"negative power at {at.isoformat()}")
            if np.any(array > MAX_SERIES_KW):
                raise ConfigError(
                    f"series.{name}",
                    f"peak {float(array.max()):g} kW is implausible for a home; was it given in W? "
                    "(name the column *_w for watts)",
                )
            object.__setattr__(self, name, np.maximum(array, 0.0))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        grid: TimeGrid,
        *,
        load_kw: Sequence[float] | FloatArray,
        pv_kw: Sequence[float] | FloatArray | None = None,
        buy_eur_per_kwh: Sequence[float] | FloatArray | None = None,
        sell_eur_per_kwh: Sequence[float] | FloatArray | None = None,
        outdoor_temp_c: Sequence[float] | FloatArray | None = None,
    ) -> Series:
        """Values already one per step (no repair)."""

        def arr(value: Sequence[float] | FloatArray | None) -> FloatArray | None:
            return None if value is None else np.asarray(value, dtype=np.float64)

        pv = arr(pv_kw)
        return cls(
            grid=grid,
            load_kw=np.asarray(load_kw, dtype=np.float64),
            pv_kw=np.zeros(grid.steps) if pv is None else pv,
            buy_eur_per_kwh=arr(buy_eur_per_kwh),
            sell_eur_per_kwh=arr(sell_eur_per_kwh),
            outdoor_temp_c=arr(outdoor_temp_c),
        )

    @classmethod
    def from_samples(
        cls,
        grid: TimeGrid,
        timestamps: Sequence[datetime],
        columns: Mapping[str, Sequence[float] | FloatArray],
    ) -> Series:
        """Align timestamped samples (any resolution) to ``grid``.

        ``columns`` uses the series field names (``load_kw``, ``pv_kw``, ``buy_eur_per_kwh``,
        ``sell_eur_per_kwh``, ``outdoor_temp_c``); ``load_kw`` is required. Each sample holds until
        the next timestamp. NaN gaps up to :data:`MAX_REPAIRED_GAP` are interpolated and reported.
        """
        known = {"load_kw", "pv_kw", "buy_eur_per_kwh", "sell_eur_per_kwh", "outdoor_temp_c"}
        unknown = sorted(set(columns) - known)
        if unknown:
            raise ConfigError(f"series.{unknown[0]}", f"unknown column; expected some of {sorted(known)}")
        if "load_kw" not in columns:
            raise ConfigError("series.load_kw", "the load forecast is required")
        if not timestamps:
            raise ConfigError("series.timestamp", "no rows")
        for moment in timestamps:
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ConfigError("series.timestamp", f"{moment.isoformat()} has no time zone offset")
        seconds = np.array([t.timestamp() for t in timestamps], dtype=np.float64)
        order = np.argsort(seconds, kind="stable")
        seconds = seconds[order]
        if np.any(np.diff(seconds) == 0):
            dup = timestamps[int(order[int(np.argmax(np.diff(seconds) == 0))])]
            raise ConfigError("series.timestamp", f"duplicate timestamp {dup.isoformat()}")
        length = float(np.median(np.diff(seconds))) if seconds.size > 1 else grid.hours[0] * 3600
        end = seconds[-1] + length
        if seconds[0] > grid.epoch_seconds[0] + 1e-6 or end < grid.epoch_seconds[-1] - 1e-6:
            raise ConfigError(
                "series.timestamp",
                f"the series covers {_iso(seconds[0], grid)} .. {_iso(end, grid)} but the horizon is "
                f"{grid.start.isoformat()} .. {grid.end.isoformat()}; it is too short",
            )
        repairs: list[str] = []
        aligned: dict[str, FloatArray] = {}
        for name, raw in columns.items():
            values = np.asarray(raw, dtype=np.float64)
            if values.shape != seconds.shape:
                raise ConfigError(f"series.{name}", f"has {values.size} values for {seconds.size} timestamps")
            values = values[order]
            values = _repair_gaps(name, seconds, values, grid, repairs)
            aligned[name] = step_average(seconds, values, grid, end)
        return cls(
            grid=grid,
            load_kw=aligned["load_kw"],
            pv_kw=aligned.get("pv_kw", np.zeros(grid.steps)),
            buy_eur_per_kwh=aligned.get("buy_eur_per_kwh"),
            sell_eur_per_kwh=aligned.get("sell_eur_per_kwh"),
            outdoor_temp_c=aligned.get("outdoor_temp_c"),
            repairs=tuple(repairs),
        )

    # ------------------------------------------------------------------ views
    def prices(self, site: Site) -> tuple[FloatArray, FloatArray]:
        """(buy, sell) per kWh per step: the series' own, else the site's (time-of-use or fixed) tariff."""
        buy, sell = self.buy_eur_per_kwh, self.sell_eur_per_kwh
        if buy is None or sell is None:
            tariff = site.grid.tariff
            if tariff is None:
                missing = "buy_eur_per_kwh" if buy is None else "sell_eur_per_kwh"
                raise ConfigError(
                    f"series.{missing}", "no price in the series and no time-of-use tariff in grid.tariff"
                )
            index = pd.DatetimeIndex(pd.to_datetime(list(self.grid.starts), utc=True))
            if buy is None:
                buy = tariff.buy_prices(index)
            if sell is None:
                sell = tariff.sell_prices(index)
        return buy, sell


def _iso(seconds: float, grid: TimeGrid) -> str:
    return datetime.fromtimestamp(seconds, grid.tz).isoformat()


def _repair_gaps(
    name: str, seconds: FloatArray, values: FloatArray, grid: TimeGrid, repairs: list[str]
) -> FloatArray:
    """Interpolate short NaN runs inside the horizon's span; refuse long ones."""
    missing = ~np.isfinite(values)
    if not missing.any():
        return values
    # Only samples that touch the horizon matter.
    relevant = (seconds < grid.epoch_seconds[-1]) & (np.append(seconds[1:], math.inf) > grid.epoch_seconds[0])
    if not (missing & relevant).any():
        return np.where(missing, 0.0, values)
    good = ~missing
    if not good.any():
        raise ConfigError(f"series.{name}", "every value is missing")
    idx = np.flatnonzero(missing & relevant)
    # Split into runs and check each run's length in time.
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    for run in runs:
        first, last = int(run[0]), int(run[-1])
        gap_start = seconds[first]
        gap_end = seconds[last + 1] if last + 1 < seconds.size else seconds[last] + (seconds[1] - seconds[0])
        if first == 0 or last == seconds.size - 1:
            raise ConfigError(
                f"series.{name}",
                f"missing values at the edge of the data from {_iso(gap_start, grid)}; cannot fill",
            )
        if gap_end - gap_start > MAX_REPAIRED_GAP.total_seconds() + 1e-6:
            raise ConfigError(
                f"series.{name}",
                f"missing values from {_iso(gap_start, grid)} to {_iso(gap_end, grid)} "
                f"(longer than {int(MAX_REPAIRED_GAP.total_seconds() // 3600)} h); cannot fill",
            )
        repairs.append(
            f"{name}: filled {run.size} missing value(s) from {_iso(gap_start, grid)} by interpolation"
        )
    filled = values.copy()
    filled[missing] = np.interp(seconds[missing], seconds[good], values[good])
    return filled

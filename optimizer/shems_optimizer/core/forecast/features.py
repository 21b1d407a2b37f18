"""Feature building on a regular UTC grid: local calendar, same-local-time lags, recent levels.

Why positions instead of timestamps: the backtest asks for thousands of forecasts; indexing numpy arrays
by position keeps each one to microseconds. DST is handled by shifting lags in *local* time: "the same
time yesterday" of 08:00 on the day after a DST change is 08:00 local the day before, which is 23 or
25 hours earlier, not 24.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shems_optimizer.core.model.calendar import holiday_flags


@dataclass(frozen=True)
class Grid:
    """A regular UTC time grid with its local-time helpers, shared by all features of one series."""

    index: pd.DatetimeIndex
    timezone: str
    step: pd.Timedelta
    offsets: np.ndarray  # UTC offset of each step, in whole steps
    steps_per_day: int

    @classmethod
    def build(cls, index: pd.DatetimeIndex, timezone: str) -> Grid:
        if index.tz is None:
            raise ValueError("grid index must be timezone-aware")
        if len(index) < 2:
            raise ValueError("grid needs at least two timestamps")
        index = index.as_unit("ns")
        step = pd.Timedelta(index[1] - index[0])
        local = index.tz_convert(timezone)
        # tz_localize(None) keeps the local wall time; wall - utc is the offset. Vectorised.
        wall = local.tz_localize(None).asi8
        utc = index.tz_convert("UTC").tz_localize(None).asi8
        offsets = np.asarray(np.round((wall - utc) / step.value), dtype=np.int64)
        return cls(
            index=index,
            timezone=timezone,
            step=step,
            offsets=offsets,
            steps_per_day=int(pd.Timedelta(days=1) / step),
        )

    def extended(self, steps: int) -> Grid:
        """The same grid with ``steps`` more steps at its end (for forecast targets)."""
        if steps <= 0:
            return self
        index = pd.date_range(self.index[0], periods=len(self.index) + steps, freq=self.step)
        return Grid.build(index, self.timezone)


def same_local_time_positions(grid: Grid, targets: np.ndarray, days: np.ndarray | int) -> np.ndarray:
    """Position of the same local wall time ``days`` days before each target position (-1 if none)."""
    base = targets - np.asarray(days) * grid.steps_per_day
    valid = (base >= 0) & (base < len(grid.offsets))
    clipped = np.clip(base, 0, len(grid.offsets) - 1)
    safe_targets = np.clip(targets, 0, len(grid.offsets) - 1)
    shifted = base + grid.offsets[safe_targets] - grid.offsets[clipped]
    out = np.where(valid & (shifted >= 0), shifted, -1)
    return np.asarray(out, dtype=np.int64)


def take(values: np.ndarray, positions: np.ndarray, available_before: np.ndarray | None = None) -> np.ndarray:
    """``values[positions]`` with NaN where the position is -1 or not yet known at the origin."""
    safe = np.clip(positions, 0, len(values) - 1)
    out = values[safe].astype(float)
    invalid = positions < 0
    if available_before is not None:
        invalid |= positions >= available_before
    out[invalid] = np.nan
    return np.asarray(out, dtype=float)


def trailing_mean(values: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values before each end position, ignoring NaN (NaN if all missing)."""
    finite = np.isfinite(values)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    hi = np.clip(ends, 0, len(values))
    lo = np.clip(ends - window, 0, len(values))
    count = ccount[hi] - ccount[lo]
    total = csum[hi] - csum[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class Calendar:
    """Local calendar features for every position of a grid."""

    tod_sin: np.ndarray
    tod_cos: np.ndarray
    weekday: np.ndarray
    holiday: np.ndarray
    doy_sin: np.ndarray
    doy_cos: np.ndarray

    @classmethod
    def build(cls, grid: Grid, country: str | None) -> Calendar:
        local = grid.index.tz_convert(grid.timezone)
        minutes = (local.hour * 60 + local.minute).to_numpy(dtype=float)
        angle = 2 * np.pi * minutes / 1440.0
        doy = 2 * np.pi * local.day_of_year.to_numpy(dtype=float) / 365.25
        return cls(
            tod_sin=np.sin(angle),
            tod_cos=np.cos(angle),
            weekday=local.day_of_week.to_numpy(dtype=float),
            holiday=holiday_flags(local, country),
            doy_sin=np.sin(doy),
            doy_cos=np.cos(doy),
        )

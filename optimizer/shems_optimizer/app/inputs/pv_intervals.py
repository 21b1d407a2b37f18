"""A PV forecast as intervals of mean power, and those intervals on the planning grid.

Providers (read from Home Assistant by :mod:`shems_optimizer.adapters.homeassistant.pv_provider`)
give power or energy per period of their own length; :func:`on_index` weighs them onto the steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PvInterval:
    start: datetime
    end: datetime
    watts: float  # mean power over [start, end)


def on_index(intervals: Sequence[PvInterval], index: pd.DatetimeIndex, step: timedelta) -> np.ndarray:
    """Mean W over each [t, t + step) of ``index`` (UTC), weighted by overlap; NaN where the intervals
    cover less than half of the step."""
    starts = index.to_pydatetime()
    power = np.zeros(len(index))
    covered = np.zeros(len(index))
    if len(index) == 0:
        return power
    first = starts[0]
    step_s = step.total_seconds()
    for interval in intervals:
        lo = max(0, int((interval.start - first).total_seconds() // step_s))
        hi = min(len(index), math.ceil((interval.end - first).total_seconds() / step_s))
        for position in range(lo, hi):
            begin = starts[position]
            overlap = (min(interval.end, begin + step) - max(interval.start, begin)).total_seconds()
            if overlap > 0:
                power[position] += interval.watts * overlap
                covered[position] += overlap
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(covered >= step_s / 2, power / np.maximum(covered, 1e-9), np.nan)

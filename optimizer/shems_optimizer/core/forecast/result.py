"""The probabilistic forecast every forecaster returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class QuantileForecast:
    """P10/P50/P90 of one quantity over a horizon, with the method used and why.

    ``method`` names the model that produced the values (e.g. ``gradient_boosting`` or
    ``profile_fallback``); ``notes`` explain fallbacks in plain words ("only 3 days of history: ...").
    The quantiles are ordered (p10 <= p50 <= p90) and finite at every step.
    """

    quantity: str
    index: pd.DatetimeIndex
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    method: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n = len(self.index)
        for name in ("p10", "p50", "p90"):
            values = getattr(self, name)
            if len(values) != n:
                raise ValueError(f"{self.quantity} forecast: {name} has {len(values)} values for {n} steps")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{self.quantity} forecast: {name} contains NaN or infinite values")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"p10": self.p10, "p50": self.p50, "p90": self.p90}, index=self.index)


def ordered(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, lower: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort crossing quantiles per step (independent quantile models may cross) and apply a floor."""
    stacked = np.sort(np.vstack([p10, p50, p90]), axis=0)
    if lower is not None:
        stacked = np.maximum(stacked, lower)
    return stacked[0], stacked[1], stacked[2]

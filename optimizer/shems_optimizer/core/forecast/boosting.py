"""Fitting and using the three quantile models (P10, P50, P90) both forecasters are built on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from shems_optimizer.core.forecast.threads import single_threaded

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
Models = tuple[HistGradientBoostingRegressor, ...]


@dataclass(frozen=True)
class BoostingConfig:
    """How a forecaster's quantile models are trained; the defaults suit 30-min household load."""

    min_history_days: float = 7.0
    train_window_days: float = 182.0
    train_origin_stride_hours: float = 7.0  # not a divisor of 24: origins at every hour of day
    train_horizon_hours: float = 48.0
    max_iter: int = 120
    band_max_iter: int = 50  # P10/P90 need less precision than the median the planner uses
    learning_rate: float = 0.08
    min_samples_leaf: int = 60
    random_state: int = 0


@dataclass(frozen=True)
class FitSummary:
    """What the last fit used: data up to when, how many rows, which method, and a note for users."""

    trained_until: pd.Timestamp
    rows: int
    method: str
    note: str


def fit_quantile_models(features: np.ndarray, target: np.ndarray, config: BoostingConfig) -> Models:
    """P10/P50/P90 gradient-boosted models; P10/P90 with fewer trees (the planner uses P50).

    A feature with no value at all in the training window (e.g. the last-2-hours PV ratio when every
    training origin fell at night) is set to 0 there: the library cannot bin an all-missing column.
    """
    features = features.copy()
    empty = ~np.isfinite(features).any(axis=0)
    features[:, empty] = 0.0
    models = []
    for q in QUANTILES:
        model = HistGradientBoostingRegressor(
            loss="quantile",
            quantile=q,
            max_iter=config.max_iter if q == 0.5 else config.band_max_iter,
            learning_rate=config.learning_rate,
            min_samples_leaf=config.min_samples_leaf,
            early_stopping=False,
            random_state=config.random_state,
        )
        with single_threaded():
            model.fit(features, target)
        models.append(model)
    return tuple(models)


def predict_quantiles(models: Models, features: np.ndarray, bands: bool) -> list[np.ndarray]:
    """P10, P50, P90 predictions; without ``bands`` only the median is computed (P10 = P90 = P50)."""
    with single_threaded():
        if bands:
            return [np.asarray(m.predict(features), dtype=float) for m in models]
        median = np.asarray(models[1].predict(features), dtype=float)
    return [median, median, median]


class QuantileModels:
    """What both forecasters hold: their three fitted models (none yet) and the last fit's summary."""

    def __init__(self) -> None:
        self._models: Models = ()
        self.summary: FitSummary | None = None

    @property
    def trained(self) -> bool:
        return bool(self._models)

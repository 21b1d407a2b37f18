"""Fitting and using the three quantile models (P10, P50, P90) both forecasters are built on."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from shems_optimizer.core.forecast.threads import single_threaded

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
Models = tuple[HistGradientBoostingRegressor, ...]


def fit_quantile_models(
    features: np.ndarray,
    target: np.ndarray,
    max_iter: int,
    band_max_iter: int,
    learning_rate: float,
    min_samples_leaf: int,
    random_state: int,
) -> Models:
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
            max_iter=max_iter if q == 0.5 else band_max_iter,
            learning_rate=learning_rate,
            min_samples_leaf=min_samples_leaf,
            early_stopping=False,
            random_state=random_state,
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

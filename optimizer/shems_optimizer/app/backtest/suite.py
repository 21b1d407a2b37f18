"""Forecasts from any origin of a backtest, with models retrained on a fixed schedule.

Why a schedule anchored at the first origin: the forecast evaluation and the MPC simulation walk the
same period; with training cut-offs fixed (anchor + k x ``retrain_every``) both reuse the same fitted
models, and no model ever sees data at or after the origin it forecasts from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.load import LoadForecaster, LoadForecasterConfig
from shems_optimizer.core.forecast.price import (
    DayAheadPublication,
    PriceForecasterConfig,
    SpotPriceForecaster,
)
from shems_optimizer.core.forecast.pv import PVForecaster, PVForecasterConfig
from shems_optimizer.core.forecast.result import QuantileForecast


@dataclass(frozen=True, eq=False)
class Forecasts:
    load: QuantileForecast
    pv: QuantileForecast | None
    spot: QuantileForecast | None


@dataclass
class ForecastSuite:
    ctx: SeriesContext
    anchor: int
    retrain_steps: int
    spot: pd.Series | None = None  # EUR/kWh, UTC, full history (the suite never reads past the origin)
    spot_on_grid: np.ndarray | None = None
    publication: DayAheadPublication = field(default_factory=DayAheadPublication)
    load_config: LoadForecasterConfig = field(default_factory=LoadForecasterConfig)
    pv_config: PVForecasterConfig = field(default_factory=PVForecasterConfig)
    price_config: PriceForecasterConfig = field(default_factory=PriceForecasterConfig)
    fits: int = 0
    fit_seconds: float = 0.0
    _models: dict[int, tuple[LoadForecaster, PVForecaster | None]] = field(default_factory=dict)
    _price: SpotPriceForecaster | None = None

    def cutoff(self, origin: int) -> int:
        """Training cut-off of the models that forecast from ``origin`` (never after it)."""
        k = max(0, (origin - self.anchor) // self.retrain_steps)
        return min(self.anchor + k * self.retrain_steps, origin)

    def medians(self, origins: list[int], steps: int) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
        """P50 load and PV for many origins, batched per model (each origin uses its own cut-off)."""
        out: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        groups: dict[int, list[int]] = {}
        for origin in origins:
            groups.setdefault(self.cutoff(origin), []).append(origin)
        for group in groups.values():
            load_model, pv_model = self.models_for(group[0])
            batch = np.asarray(group)
            load = load_model.predict_medians(self.ctx, batch, steps)
            pv = pv_model.predict_medians(self.ctx, batch, steps) if pv_model is not None else None
            for row, origin in enumerate(group):
                out[origin] = (load[row], None if pv is None else pv[row])
        return out

    def models_for(self, origin: int) -> tuple[LoadForecaster, PVForecaster | None]:
        cutoff = self.cutoff(origin)
        models = self._models.get(cutoff)
        if models is None:
            import time

            began = time.perf_counter()
            load = LoadForecaster(self.load_config)
            load.fit(self.ctx, cutoff)
            pv = None
            if self.ctx.pv is not None and self.ctx.location is not None:
                pv = PVForecaster(self.pv_config)
                pv.fit(self.ctx, cutoff)
            models = (load, pv)
            self._models[cutoff] = models
            self.fits += 1
            self.fit_seconds += time.perf_counter() - began
        return models

    def forecast(self, origin: int, steps: int, bands: bool = True) -> Forecasts:
        """Forecasts from ``origin``; ``bands=False`` skips P10/P90 (the planner uses the median)."""
        load_model, pv_model = self.models_for(origin)
        load = load_model.predict(self.ctx, origin, steps, bands)
        pv = pv_model.predict(self.ctx, origin, steps, bands) if pv_model is not None else None
        return Forecasts(load, pv, self.forecast_spot(origin, steps))

    def forecast_spot(self, origin: int, steps: int) -> QuantileForecast | None:
        if self.spot is None:
            return None
        if self._price is None:
            self._price = SpotPriceForecaster(self.ctx.grid.timezone, self.price_config)
        index = self.ctx.grid.index[origin : origin + steps]
        known_until = self.publication.known_until(index[0])
        exact = None if self.spot_on_grid is None else self.spot_on_grid[origin : origin + steps]
        return self._price.forecast(self.spot, index, known_until, exact=exact)

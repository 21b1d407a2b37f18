"""Household load forecaster: gradient-boosted quantile models on calendar and lagged-load features.

Why direct multi-horizon: one model predicts every step of the next 48 h from what is known at the
origin (same local time on the last available day and a week earlier, the median of the last seven
days at that time, recent levels, calendar, temperature when given), with the lead time as a feature.
Quantile loss gives P10/P50/P90 directly; P50 minimises absolute error, the figure users compare.
With less than ``min_history_days`` of history it falls back to a same-time-of-day profile (or the
recent median level with under a day) and says so in the forecast's notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.boosting import (
    BoostingConfig,
    FitSummary,
    QuantileModels,
    fit_quantile_models,
    predict_quantiles,
)
from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.features import same_local_time_positions, take, trailing_mean
from shems_optimizer.core.forecast.result import QuantileForecast, ordered


@dataclass(frozen=True)
class LoadForecasterConfig(BoostingConfig):
    """How the load model is trained. Defaults are tuned on a year of 30-min household data."""


class LoadForecaster(QuantileModels):
    """Fit on the past of a :class:`SeriesContext`, then forecast from any later origin."""

    def __init__(self, config: LoadForecasterConfig | None = None) -> None:
        super().__init__()
        self.config = config or LoadForecasterConfig()
        self._use_temperature = False

    def fit(self, ctx: SeriesContext, until: int) -> FitSummary:
        """Train on measured load strictly before position ``until``."""
        cfg = self.config
        spd = ctx.grid.steps_per_day
        known = np.isfinite(ctx.load[:until])
        when = ctx.grid.index[min(until, len(ctx.grid.index) - 1)]
        if known.sum() < cfg.min_history_days * spd:
            self._models = ()
            days = known.sum() / spd
            self.summary = FitSummary(
                when,
                0,
                "profile_fallback",
                f"only {days:.1f} days of load history (model needs {cfg.min_history_days:g})",
            )
            return self.summary
        step_h = ctx.grid.step / pd.Timedelta(hours=1)
        stride = max(1, round(cfg.train_origin_stride_hours / step_h))
        first = max(spd, until - round(cfg.train_window_days * spd))
        horizon = round(cfg.train_horizon_hours / step_h)
        origins = np.arange(until - horizon, first - 1, -stride)[::-1]
        origins = origins[origins > 0]
        if len(origins) == 0:
            origins = np.array([until - 1])
        temps = ctx.temperature
        self._use_temperature = temps is not None and np.isfinite(temps[:until]).mean() > 0.5
        features, targets = self._features(ctx, origins, horizon)
        y = take(ctx.load, targets, np.full(len(targets), until))
        keep = np.isfinite(y)
        features, y = features[keep], y[keep]
        self._models = fit_quantile_models(features, y, cfg)
        self.summary = FitSummary(when, len(y), "gradient_boosting", "")
        return self.summary

    def predict(self, ctx: SeriesContext, origin: int, steps: int, bands: bool = True) -> QuantileForecast:
        """Forecast ``steps`` steps from position ``origin`` using only data before ``origin``."""
        if origin + steps > len(ctx.grid.index):
            raise ValueError(f"horizon of {steps} steps runs past the grid ({len(ctx.grid.index)} steps)")
        index = ctx.grid.index[origin : origin + steps]
        if not self._models:
            return self._fallback(ctx, origin, steps, index)
        features, _ = self._features(ctx, np.array([origin]), steps)
        preds = predict_quantiles(self._models, features, bands)
        p10, p50, p90 = ordered(preds[0], preds[1], preds[2], lower=0.0)
        return QuantileForecast("load_W", index, p10, p50, p90, "gradient_boosting")

    def predict_medians(self, ctx: SeriesContext, origins: np.ndarray, steps: int) -> np.ndarray:
        """P50 for many origins in one pass (rows = origins); what a backtest's planner needs."""
        if not self._models:
            return np.vstack([self.predict(ctx, int(o), steps).p50 for o in origins])
        features, _ = self._features(ctx, np.asarray(origins), steps)
        median = predict_quantiles(self._models, features, bands=False)[1]
        return np.asarray(np.maximum(median, 0.0).reshape(len(origins), steps), dtype=float)

    def _features(
        self, ctx: SeriesContext, origins: np.ndarray, horizon: int
    ) -> tuple[np.ndarray, np.ndarray]:
        grid, cal, y = ctx.grid, ctx.calendar, ctx.load
        spd = grid.steps_per_day
        lead = np.tile(np.arange(horizon), len(origins))
        o = np.repeat(origins, horizon)
        targets = o + lead
        k = lead // spd + 1
        lag_day = take(y, same_local_time_positions(grid, targets, k), o)
        lag_week = take(y, same_local_time_positions(grid, targets, 7 * (lead // (7 * spd) + 1)), o)
        profile_values = np.vstack(
            [take(y, same_local_time_positions(grid, targets, k + j), o) for j in range(7)]
        )
        older = np.vstack([take(y, same_local_time_positions(grid, targets, k + j), o) for j in range(7, 21)])
        weekly = np.vstack(
            [
                take(y, same_local_time_positions(grid, targets, 7 * (lead // (7 * spd) + 1 + j)), o)
                for j in range(4)
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            profile = np.nanmedian(profile_values, axis=0)
            profile_mean = np.nanmean(profile_values, axis=0)
            profile_long = np.nanmedian(np.vstack([profile_values, older]), axis=0)
            weekly_mean = np.nanmean(weekly, axis=0)
        step_h = grid.step / pd.Timedelta(hours=1)
        level_day = trailing_mean(y, o, spd)
        level_2h = trailing_mean(y, o, max(1, round(2 / step_h)))
        level_week = trailing_mean(y, o, 7 * spd)
        safe_t = np.clip(targets, 0, len(grid.index) - 1)
        columns = [
            lag_day,
            lag_week,
            profile,
            profile_mean,
            profile_long,
            weekly_mean,
            level_day,
            level_2h,
            level_week,
            lead * step_h,
            cal.tod_sin[safe_t],
            cal.tod_cos[safe_t],
            cal.weekday[safe_t],
            cal.holiday[safe_t],
            cal.doy_sin[safe_t],
            cal.doy_cos[safe_t],
        ]
        if self._use_temperature and ctx.temperature is not None:
            columns.append(ctx.temperature[safe_t])
        return np.column_stack(columns), targets

    def _fallback(
        self, ctx: SeriesContext, origin: int, steps: int, index: pd.DatetimeIndex
    ) -> QuantileForecast:
        """Same-time-of-day profile over the last days available; the recent median with under a day."""
        y = ctx.load
        history = y[:origin][np.isfinite(y[:origin])]
        if len(history) == 0:
            raise SeriesError(
                "no load history before the forecast origin: at least one measured step is needed"
            )
        targets = origin + np.arange(steps)
        o = np.full(steps, origin)
        spd = ctx.grid.steps_per_day
        k = np.arange(steps) // spd + 1
        lags = np.vstack([take(y, same_local_time_positions(ctx.grid, targets, k + j), o) for j in range(7)])
        days = len(history) / spd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            p50 = np.nanmedian(lags, axis=0)
            p10 = np.nanquantile(lags, 0.1, axis=0)
            p90 = np.nanquantile(lags, 0.9, axis=0)
        level = float(np.median(history))
        missing = ~np.isfinite(p50)
        if missing.all():
            note = f"only {days:.1f} days of load history: forecasting the recent median level"
            method = "level_fallback"
        else:
            note = f"only {days:.1f} days of load history: forecasting a same-time-of-day profile"
            method = "profile_fallback"
        lo, hi = float(np.quantile(history, 0.1)), float(np.quantile(history, 0.9))
        p50 = np.where(missing, level, p50)
        p10 = np.where(np.isfinite(p10), p10, lo)
        p90 = np.where(np.isfinite(p90), p90, hi)
        q10, q50, q90 = ordered(p10, p50, p90, lower=0.0)
        return QuantileForecast("load_W", index, q10, q50, q90, method, (note,))

"""PV forecaster: a site-specific correction of a provider forecast, or a scaled clear-sky curve.

Why a correction: forecasts users already have in HA (Forecast.Solar, Solcast, Open-Meteo) are
systematically off for a given roof (orientation, shading, inverter clipping, soiling). Quantile
gradient boosting learns actual PV from the provider value, the sun's position, the clear-sky curve and
how the provider did over the last days. Without a provider column the same model learns from the sun
and recent production alone. With under ``min_history_days`` of PV history the forecast is the
clear-sky curve scaled by the ratio of recent production to clear sky, or the provider's own values
when there is one. The result is never negative and exactly zero at night.
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
from shems_optimizer.core.forecast.features import same_local_time_positions, take
from shems_optimizer.core.forecast.result import QuantileForecast, ordered


@dataclass(frozen=True)
class PVForecasterConfig(BoostingConfig):
    """How the PV model is trained: a year of history, fewer but larger leaves than for load."""

    train_window_days: float = 366.0
    train_origin_stride_hours: float = 11.0  # not a divisor of 24: origins at every hour of day
    max_iter: int = 200
    min_samples_leaf: int = 40
    recent_days: float = 3.0


class PVForecaster(QuantileModels):
    """Fit on the past PV (and the provider's forecast, if any), then forecast from any later origin."""

    def __init__(self, config: PVForecasterConfig | None = None) -> None:
        super().__init__()
        self.config = config or PVForecasterConfig()
        self._use_provider = False
        self._peak_w = 0.0

    def fit(self, ctx: SeriesContext, until: int) -> FitSummary:
        """Train on measured PV strictly before position ``until``."""
        cfg = self.config
        _require_sun(ctx)
        assert ctx.night is not None
        spd = ctx.grid.steps_per_day
        when = ctx.grid.index[min(until, len(ctx.grid.index) - 1)]
        pv = ctx.pv
        if pv is None:
            self._models = ()
            self.summary = FitSummary(when, 0, "no_pv_history", "no pv_W column")
            return self.summary
        day_known = np.isfinite(pv[:until]) & ~ctx.night[:until]
        finite_pv = pv[:until][np.isfinite(pv[:until])]
        self._peak_w = float(finite_pv.max()) if len(finite_pv) else 0.0
        day_steps_per_day = max(1.0, float((~ctx.night[:until]).mean()) * spd)
        days = day_known.sum() / day_steps_per_day
        if days < cfg.min_history_days:
            self._models = ()
            self.summary = FitSummary(
                when,
                0,
                "clear_sky_fallback",
                f"only {days:.1f} days of PV history (model needs {cfg.min_history_days:g})",
            )
            return self.summary
        provider = ctx.pv_provider
        self._use_provider = provider is not None and np.isfinite(provider[:until]).sum() >= spd
        step_h = ctx.grid.step / pd.Timedelta(hours=1)
        stride = max(1, round(cfg.train_origin_stride_hours / step_h))
        horizon = round(cfg.train_horizon_hours / step_h)
        first = max(spd, until - round(cfg.train_window_days * spd))
        if self._use_provider:
            # Provider features depend on the target step only: train once on every past day step.
            targets = np.arange(max(0, until - round(cfg.train_window_days * spd)), until)
            features = self._provider_features(ctx, targets)
        else:
            origins = np.arange(until - horizon, first - 1, -stride)[::-1]
            origins = origins[origins > 0]
            if len(origins) == 0:
                origins = np.array([until - 1])
            features, targets = self._features(ctx, origins, horizon)
        y = take(pv, targets, np.full(len(targets), until))
        safe_t = np.clip(targets, 0, len(ctx.night) - 1)
        keep = np.isfinite(y) & ~ctx.night[safe_t]
        features, y = features[keep], y[keep]
        self._models = fit_quantile_models(features, y, cfg)
        method = "provider_correction" if self._use_provider else "clear_sky_model"
        self.summary = FitSummary(when, len(y), method, "")
        return self.summary

    def predict(self, ctx: SeriesContext, origin: int, steps: int, bands: bool = True) -> QuantileForecast:
        """Forecast ``steps`` steps from ``origin`` (PV before ``origin``; provider values at targets)."""
        _require_sun(ctx)
        assert ctx.night is not None
        if origin + steps > len(ctx.grid.index):
            raise ValueError(f"horizon of {steps} steps runs past the grid ({len(ctx.grid.index)} steps)")
        index = ctx.grid.index[origin : origin + steps]
        night = ctx.night[origin : origin + steps]
        if self._models:
            features, _ = self._features(ctx, np.array([origin]), steps)
            preds = predict_quantiles(self._models, features, bands)
            method = "provider_correction" if self._use_provider else "clear_sky_model"
            notes: tuple[str, ...] = ()
        else:
            preds, method, notes = self._fallback(ctx, origin, steps)
        cap = self._peak_w * 1.1 if self._peak_w > 0 else None
        p10, p50, p90 = ordered(preds[0], preds[1], preds[2], lower=0.0)
        if cap is not None:
            p10, p50, p90 = (np.minimum(p, cap) for p in (p10, p50, p90))
        p10, p50, p90 = (np.where(night, 0.0, p) for p in (p10, p50, p90))
        return QuantileForecast("pv_W", index, p10, p50, p90, method, notes)

    def predict_medians(self, ctx: SeriesContext, origins: np.ndarray, steps: int) -> np.ndarray:
        """P50 for many origins in one pass (rows = origins), with the same clipping as :meth:`predict`."""
        if not self._models:
            return np.vstack([self.predict(ctx, int(o), steps, bands=False).p50 for o in origins])
        assert ctx.night is not None
        features, targets = self._features(ctx, np.asarray(origins), steps)
        median = np.maximum(predict_quantiles(self._models, features, bands=False)[1], 0.0)
        if self._peak_w > 0:
            median = np.minimum(median, self._peak_w * 1.1)
        median = np.where(ctx.night[np.clip(targets, 0, len(ctx.night) - 1)], 0.0, median)
        return median.reshape(len(origins), steps)

    def _provider_features(self, ctx: SeriesContext, targets: np.ndarray) -> np.ndarray:
        """The provider's value at the step and its neighbours, its clear-sky index for the step and the
        day, the clear-sky curve and the sun's position (a roof's orientation and shading show here)."""
        assert ctx.clear_sky is not None and ctx.elevation is not None
        assert ctx.pv_provider is not None and ctx.provider_day_index is not None
        cal = ctx.calendar
        t = np.clip(targets, 0, len(ctx.grid.index) - 1)
        provider = np.maximum(ctx.pv_provider, 0.0)
        before = np.clip(t - 1, 0, len(provider) - 1)
        after = np.clip(t + 1, 0, len(provider) - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            clear_index = np.where(ctx.clear_sky[t] > 20, provider[t] / ctx.clear_sky[t], np.nan)
        return np.column_stack(
            [
                provider[t],
                provider[before],
                provider[after],
                clear_index,
                ctx.provider_day_index[t],
                ctx.clear_sky[t],
                ctx.elevation[t],
                cal.tod_sin[t],
                cal.tod_cos[t],
                cal.doy_sin[t],
                cal.doy_cos[t],
            ]
        )

    def _features(
        self, ctx: SeriesContext, origins: np.ndarray, horizon: int
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._use_provider:
            lead = np.tile(np.arange(horizon), len(origins))
            targets = np.asarray(np.repeat(origins, horizon) + lead, dtype=np.int64)
            return self._provider_features(ctx, targets), targets
        assert ctx.clear_sky is not None and ctx.elevation is not None and ctx.pv is not None
        grid, cal = ctx.grid, ctx.calendar
        spd = grid.steps_per_day
        lead = np.tile(np.arange(horizon), len(origins))
        o = np.repeat(origins, horizon)
        targets = o + lead
        safe_t = np.clip(targets, 0, len(grid.index) - 1)
        recent = max(1, round(self.config.recent_days * spd))
        nowcast = max(1, round(2 / (grid.step / pd.Timedelta(hours=1))))
        step_h = grid.step / pd.Timedelta(hours=1)
        columns = [
            ctx.clear_sky[safe_t],
            ctx.elevation[safe_t],
            cal.tod_sin[safe_t],
            cal.tod_cos[safe_t],
            cal.doy_sin[safe_t],
            cal.doy_cos[safe_t],
            lead * step_h,
        ]
        columns += [
            _trailing_ratio(ctx.pv, ctx.clear_sky, o, recent),
            _trailing_ratio(ctx.pv, ctx.clear_sky, o, nowcast),
            take(ctx.pv, same_local_time_positions(grid, targets, lead // spd + 1), o),
        ]
        return np.column_stack(columns), targets

    def _fallback(
        self, ctx: SeriesContext, origin: int, steps: int
    ) -> tuple[list[np.ndarray], str, tuple[str, ...]]:
        assert ctx.clear_sky is not None
        spd = ctx.grid.steps_per_day
        sl = slice(origin, origin + steps)
        provider = ctx.pv_provider[sl] if ctx.pv_provider is not None else None
        if provider is not None and np.isfinite(provider).any():
            p50 = np.where(np.isfinite(provider), np.maximum(provider, 0.0), 0.0)
            note = "too little PV history to learn a correction: using the provider forecast as is"
            return [0.7 * p50, p50, 1.2 * p50], "provider_as_is", (note,)
        if ctx.pv is None or not np.isfinite(ctx.pv[:origin]).any():
            raise SeriesError(
                "no PV history and no pv_forecast_W before the forecast origin: "
                "cannot scale a clear-sky curve"
            )
        ratios = []
        for day in range(14):
            end = origin - day * spd
            if end <= 0:
                break
            ratio = _trailing_ratio(ctx.pv, ctx.clear_sky, np.array([end]), spd)[0]
            if np.isfinite(ratio):
                ratios.append(ratio)
        if not ratios:
            raise SeriesError("no daytime PV measured in the last 14 days: cannot scale a clear-sky curve")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            recent = ratios[: max(1, round(self.config.recent_days))]
            scale = float(np.mean(recent))
        clear = ctx.clear_sky[sl]
        note = f"PV forecast from the clear-sky curve scaled by recent production ({scale:.2f} W per W/m²)"
        return (
            [min(ratios) * clear, scale * clear, max(ratios) * clear],
            "clear_sky_fallback",
            (note,),
        )


def _trailing_ratio(actual: np.ndarray, reference: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """sum(actual) / sum(reference) over the ``window`` steps before each end, where both are known."""
    both = np.isfinite(actual) & np.isfinite(reference)
    a = np.concatenate([[0.0], np.cumsum(np.where(both, actual, 0.0))])
    r = np.concatenate([[0.0], np.cumsum(np.where(both, reference, 0.0))])
    hi = np.clip(ends, 0, len(actual))
    lo = np.clip(ends - window, 0, len(actual))
    num, den = a[hi] - a[lo], r[hi] - r[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / np.where(den > 1e-6, den, 1.0), np.nan)


def _require_sun(ctx: SeriesContext) -> None:
    if ctx.location is None or ctx.night is None or ctx.clear_sky is None:
        raise SeriesError("PV forecasting needs the site's location (latitude and longitude)")

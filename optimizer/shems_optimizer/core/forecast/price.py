"""Spot price forecaster: published day-ahead prices where they exist, a calendar profile beyond.

Why this shape: day-ahead auctions publish tomorrow's prices around 13:00 market time, so a plan made in
the afternoon knows 24-35 h exactly and a morning plan only the rest of today. Beyond that, prices follow
a strong daily and weekly shape around a level that drifts over days. The forecast is the recent level
(mean of the last ``level_days`` of known prices) plus the median deviation from the daily mean at that
local hour and day type (working day, Saturday, Sunday/holiday) over the last ``profile_days``; P10/P90
come from the spread of the deviations from the trailing weekly level over the same days.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.result import QuantileForecast, ordered
from shems_optimizer.core.model.calendar import holiday_flags


@dataclass(frozen=True)
class DayAheadPublication:
    """When tomorrow's prices become known: ``publish_time`` in ``market_timezone`` each day."""

    market_timezone: str = "Europe/Berlin"
    publish_time: time = time(13, 0)

    def known_until(self, origin: pd.Timestamp) -> pd.Timestamp:
        """End (exclusive, UTC) of the prices published by ``origin``."""
        local = origin.tz_convert(self.market_timezone)
        day = local.normalize()
        days_ahead = 2 if local.time() >= self.publish_time else 1
        end = (day.tz_localize(None) + pd.Timedelta(days=days_ahead)).tz_localize(self.market_timezone)
        return end.tz_convert("UTC")


@dataclass(frozen=True)
class PriceForecasterConfig:
    profile_days: int = 28
    level_days: int = 7
    country: str | None = None


class SpotPriceForecaster:
    """Forecast EUR/kWh spot prices on any UTC index from a history of (possibly 15-min) prices."""

    def __init__(self, timezone: str, config: PriceForecasterConfig | None = None) -> None:
        self.timezone = timezone
        self.config = config or PriceForecasterConfig()
        self._cache: dict[tuple[int, int], _Profile] = {}

    def forecast(
        self,
        prices: pd.Series,
        index: pd.DatetimeIndex,
        known_until: pd.Timestamp,
        exact: np.ndarray | None = None,
    ) -> QuantileForecast:
        """Prices at each step of ``index``: exact where ``t < known_until`` and published, else profile.

        ``prices`` holds spot prices (EUR/kWh, UTC index); values at or after ``known_until`` are ignored,
        so a backtest can pass the full history without leaking the future. ``exact`` may give the
        prices already aligned to ``index`` (NaN where unknown) to skip the alignment.
        """
        cfg = self.config
        profile = self._profile(prices, known_until)
        target_local = index.tz_convert(self.timezone)
        target_keys = target_local.hour.to_numpy() * 3 + _day_type(target_local, cfg.country)
        p10, p50, p90 = profile.p10[target_keys], profile.p50[target_keys], profile.p90[target_keys]
        if exact is None:
            from shems_optimizer.core.forecast.series import align_prices

            exact = align_prices(prices[prices.index < known_until], index).to_numpy(dtype=float)
        is_known = (index < known_until) & np.isfinite(exact)
        notes: list[str] = []
        if not is_known.all():
            first = index[~is_known][0]
            notes.append(
                f"published prices end at {first.isoformat()}: later steps use the recent level and "
                f"the {cfg.profile_days}-day hourly profile"
            )
        q10, q50, q90 = ordered(
            np.where(is_known, exact, p10), np.where(is_known, exact, p50), np.where(is_known, exact, p90)
        )
        method = "day_ahead" if is_known.all() else ("profile" if not is_known.any() else "day_ahead+profile")
        return QuantileForecast("spot_eur_per_kwh", index, q10, q50, q90, method, tuple(notes))

    def _profile(self, prices: pd.Series, known_until: pd.Timestamp) -> _Profile:
        key = (id(prices), known_until.value)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        cfg = self.config
        window = prices[
            (prices.index < known_until)
            & (prices.index >= known_until - pd.Timedelta(days=cfg.profile_days + cfg.level_days))
        ].dropna()
        if window.empty:
            raise SeriesError(
                f"no spot prices in the {cfg.profile_days + cfg.level_days} days before "
                f"{known_until.isoformat()}: cannot forecast prices"
            )
        hourly = window.resample("1h").mean().dropna()
        local = pd.DatetimeIndex(hourly.index).tz_convert(self.timezone)
        daily_mean = hourly.groupby(local.date).transform("mean")
        deviation = (hourly - daily_mean).to_numpy()
        spread = (hourly - hourly.rolling(f"{cfg.level_days}D").mean()).to_numpy()
        keys = local.hour.to_numpy() * 3 + _day_type(local, cfg.country)
        recent = hourly[hourly.index > hourly.index[-1] - pd.Timedelta(days=cfg.level_days)]
        level = float(recent.mean())
        p10, p50, p90 = np.full(72, level), np.full(72, level), np.full(72, level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            for k in range(72):
                sel = keys == k
                if not sel.any():
                    sel = (keys // 3) == k // 3  # same hour, any day type
                if not sel.any():
                    continue
                p50[k] = level + float(np.nanmedian(deviation[sel]))
                p10[k] = min(p50[k], level + float(np.nanquantile(spread[sel], 0.1)))
                p90[k] = max(p50[k], level + float(np.nanquantile(spread[sel], 0.9)))
        profile = _Profile(p10, p50, p90)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = profile
        return profile


@dataclass(frozen=True, eq=False)
class _Profile:
    """Forecast per (local hour x 3 + day type) key."""

    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


def _day_type(local: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    weekday = local.day_of_week.to_numpy()
    kind = np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    return np.asarray(np.where(holiday_flags(local, country) > 0, 2, kind), dtype=np.int64)

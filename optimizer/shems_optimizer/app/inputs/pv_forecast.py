"""The PV forecast the planner uses: the forecasting package's PV forecaster on the site's data.

What is used, best first:

1. **Location + PV history** (and the provider's forecast from ``solar[].forecast_entity`` when there is
   one): :class:`~shems_optimizer.core.forecast.pv.PVForecaster` learns a site-specific correction of the
   provider, or a model of production from the sun and recent days. With under a week of history it
   scales the clear-sky curve by recent production (or takes the provider as is) and says so.
2. **Location + provider, no history**: the provider's forecast as is.
3. **Location + ``solar[].peak_w``, nothing measured yet**: the clear-sky curve for the peak power,
   derated by :data:`DERATE` for inverter, temperature and wiring losses and the panels' orientation.
   Clouds are unknown, so cloudy days are over-estimated; the plan's note says so.
4. **No location**: no PV forecast; the note names the field to set.
5. **No solar arrays** in the site and no PV measured: no PV forecast, and the note says just that.

The model is retrained at most once a day (and when the location or the provider's presence changes);
forecasts are made at 15 minutes and averaged over the grid's steps, so any horizon and step length
work (a 48-hour plan, a 7-day hourly prediction). Where the provider's forecast ends before the horizon
does, its last covered day is repeated. It runs in the planner's worker thread, never in the event loop.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shems_optimizer.app.inputs.pv_intervals import PvInterval, on_index
from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.pv import PVForecaster
from shems_optimizer.core.forecast.solar import Location, mean_over_steps
from shems_optimizer.core.timegrid import TimeGrid

from .forecast_words import method_words

_LOGGER = logging.getLogger(__name__)
STEP = timedelta(minutes=15)
RETRAIN_EVERY = timedelta(days=1)
DERATE = 0.80  # clear-sky fallback: AC output per W of peak at 1,000 W/m² of horizontal irradiance
NO_ARRAYS_NOTE = "no PV forecast yet: the site has no solar panels, so no production is planned"
NO_LOCATION_NOTE = (
    "no PV forecast yet: the home's location is not known; set it in Home Assistant (Settings → "
    "System → General) or give the site a latitude and longitude, so solar production can be forecast"
)


@dataclass(frozen=True)
class PvResult:
    kw: list[float] | None  # per grid step; None: no forecast (the planner assumes no production)
    note: str


def site_location(site: Mapping[str, Any]) -> Location | None:
    location = site.get("location")
    if not isinstance(location, Mapping):
        return None
    return Location(float(location["latitude"]), float(location["longitude"]))


def site_peak_w(site: Mapping[str, Any]) -> float | None:
    peaks = [float(s["peak_w"]) for s in site.get("solar") or [] if s.get("peak_w")]
    return sum(peaks) if peaks else None


def site_arrays(site: Mapping[str, Any]) -> list[tuple[float, tuple[float, float] | None]]:
    """(peak W, (tilt, azimuth) or None for "unknown orientation") of every array with a peak power."""
    arrays = []
    for array in site.get("solar") or []:
        if not array.get("peak_w"):
            continue
        tilt, azimuth = array.get("tilt_deg"), array.get("azimuth_deg")
        plane = None
        if tilt is not None or azimuth is not None:
            plane = (
                float(tilt if tilt is not None else 30.0),
                float(azimuth if azimuth is not None else 180.0),
            )
        arrays.append((float(array["peak_w"]), plane))
    return arrays


def step_means(values: pd.Series, grid: TimeGrid) -> list[float]:
    """Overlap-weighted mean of 15-minute values over each grid step (steps of any length)."""
    out = []
    times = values.index
    array = values.to_numpy(dtype=float)
    for step_start, step_end in zip(grid.starts, grid.ends, strict=True):
        lo = pd.Timestamp(step_start) - pd.Timedelta(STEP)
        mask = (times > lo) & (times < pd.Timestamp(step_end))
        total = weight = 0.0
        for moment, value in zip(times[mask], array[mask], strict=True):
            begin, end = moment.to_pydatetime(), (moment + pd.Timedelta(STEP)).to_pydatetime()
            overlap = (min(end, step_end) - max(begin, step_start)).total_seconds()
            if overlap > 0 and math.isfinite(value):
                total += value * overlap
                weight += overlap
        out.append(float(total / weight) if weight > 0 else 0.0)
    return out


def _extend_by_days(values: np.ndarray, steps_per_day: int) -> tuple[np.ndarray, int]:
    """Fill the NaN tail after the last known value with the value a day earlier; (array, filled)."""
    known = np.flatnonzero(np.isfinite(values))
    if len(known) == 0:
        return values, 0
    out = values.copy()
    filled = 0
    for position in range(int(known[-1]) + 1, len(out)):
        earlier = position - steps_per_day
        if earlier >= 0 and np.isfinite(out[earlier]):
            out[position] = out[earlier]
            filled += 1
    return out, filled


class PvForecast:
    def __init__(self) -> None:
        self._model = PVForecaster()
        self._trained_at: datetime | None = None
        self._trained_for: tuple[Location, bool] | None = None
        self._lock = threading.Lock()

    def forecast(
        self,
        site: Mapping[str, Any],
        history: Sequence[tuple[datetime, float]],
        provider: Sequence[PvInterval],
        grid: TimeGrid,
    ) -> PvResult:
        if not site.get("solar") and not history:
            return PvResult(None, NO_ARRAYS_NOTE)
        location = site_location(site)
        if location is None:
            return PvResult(None, NO_LOCATION_NOTE)
        peak_w = site_peak_w(site)
        timezone = str(site.get("timezone", "UTC"))
        start = pd.Timestamp(grid.start).tz_convert("UTC").floor("15min")
        end = pd.Timestamp(grid.end).tz_convert("UTC").ceil("15min")
        first = min(
            (pd.Timestamp(t).tz_convert("UTC") for t, _ in history), default=start - pd.Timedelta(days=1)
        )
        first = min(first, start - pd.Timedelta(days=1))
        index = pd.date_range(first, end - pd.Timedelta(STEP), freq=STEP)
        origin = int(index.searchsorted(start))
        frame = pd.DataFrame({"load_W": np.full(len(index), np.nan)}, index=index)
        notes: list[str] = []
        if history:
            by_time = {pd.Timestamp(t).tz_convert("UTC"): w for t, w in history}
            pv = np.array([by_time.get(t, np.nan) if i < origin else np.nan for i, t in enumerate(index)])
            frame["pv_W"] = pv
        if provider:
            values, filled = _extend_by_days(on_index(provider, index, STEP), 96)
            if np.isfinite(values[origin:]).any():
                frame["pv_forecast_W"] = values
                if filled:
                    notes.append(
                        f"the provider's forecast ends early: its last day is repeated for {filled} steps"
                    )
        ctx = SeriesContext.build(frame, timezone, location=location)
        steps = len(index) - origin
        try:
            with self._lock:
                key = (location, "pv_forecast_W" in frame.columns)
                stale = self._trained_at is None or start.to_pydatetime() - self._trained_at >= RETRAIN_EVERY
                if stale or self._trained_for != key:
                    summary = self._model.fit(ctx, until=origin)
                    self._trained_at, self._trained_for = start.to_pydatetime(), key
                    _LOGGER.info(
                        "PV forecaster trained", extra={"method": summary.method, "rows": summary.rows}
                    )
                result = self._model.predict(ctx, origin, steps, bands=False)
        except SeriesError:
            why = "no solar production measured yet and no solar forecast service"
            return self._clear_sky(index[origin:], ctx, origin, peak_w, grid, why, site_arrays(site))
        watts = pd.Series(result.p50, index=result.index)
        note = f"PV forecast: {method_words(result.method)}" + (
            f" ({'; '.join([*result.notes, *notes])})" if result.notes or notes else ""
        )
        return PvResult([w / 1000 for w in step_means(watts, grid)], note)

    @staticmethod
    def _clear_sky(
        future: pd.DatetimeIndex,
        ctx: SeriesContext,
        origin: int,
        peak_w: float | None,
        grid: TimeGrid,
        why: str,
        arrays: Sequence[tuple[float, tuple[float, float] | None]] = (),
    ) -> PvResult:
        if peak_w is None:
            return PvResult(
                None,
                f"no PV forecast yet ({why}): give the solar array's peak power or a solar forecast "
                "sensor to plan with solar production before there is history",
            )
        assert ctx.location is not None
        total = np.zeros(len(future))
        oriented = False
        for array_peak_w, plane in arrays:
            oriented = oriented or plane is not None
            irradiance = mean_over_steps(future, pd.Timedelta(STEP), ctx.location, "ghi", plane)
            total += array_peak_w * DERATE * irradiance / 1000.0
        watts = pd.Series(total, index=future)
        note = (
            f"PV forecast: clear-sky curve for {peak_w:.0f} W peak × {DERATE:.2f} derating"
            + (" on the panels' tilt and orientation" if oriented else "")
            + " (no PV history yet; cloudy days will produce less)"
        )
        return PvResult([w / 1000 for w in step_means(watts, grid)], note)

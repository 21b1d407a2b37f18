"""The load forecast the planner uses: the forecasting package's load forecaster on the stored history.

History is the home's 15-minute mean power (:mod:`~shems_optimizer.app.inputs.home_history`: its
consumer devices, or the energy balance of grid, PV and battery meters). The model is
retrained at most once a day (it takes seconds; plans are made every few minutes); in between the
trained model forecasts from the latest history. With under a week of history the forecaster's own
profile fallback is used and the plan's notes say so. Without any history the planner keeps its flat
fallback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.load import LoadForecaster
from shems_optimizer.core.timegrid import TimeGrid

from .forecast_words import method_words

_LOGGER = logging.getLogger(__name__)
STEP = timedelta(minutes=15)
RETRAIN_EVERY = timedelta(days=1)


class LoadForecast:
    def __init__(self) -> None:
        self._model = LoadForecaster()
        self._trained_at: datetime | None = None
        self._lock = threading.Lock()

    def forecast(
        self, history: Sequence[tuple[datetime, float]], grid: TimeGrid, timezone: str
    ) -> tuple[list[float], str] | None:
        """kW per grid step and a note saying how it was made, or ``None`` without history."""
        if not history:
            return None
        start = grid.start
        first = min(t for t, _ in history)
        # Everything in UTC: the store's times are UTC, the grid's are in the site's time zone.
        index = pd.date_range(
            pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(start - STEP).tz_convert("UTC"), freq=STEP
        )
        if len(index) < 2:
            return None
        by_time = {pd.Timestamp(t).tz_convert("UTC"): w for t, w in history}
        values = np.array([by_time.get(t, np.nan) for t in index], dtype=float)
        frame = pd.DataFrame({"load_W": values}, index=index)
        steps = grid.steps
        # The grid may use other step lengths later on; forecast at 15 min and average per step.
        horizon = int((grid.end - start) / STEP)
        ctx = SeriesContext.build(frame, timezone, extra_steps=horizon)
        origin = len(index)
        with self._lock:
            if self._trained_at is None or start - self._trained_at >= RETRAIN_EVERY:
                summary = self._model.fit(ctx, until=origin)
                self._trained_at = start
                _LOGGER.info(
                    "load forecaster trained", extra={"method": summary.method, "rows": summary.rows}
                )
            result = self._model.predict(ctx, origin, horizon, bands=False)
        watts = pd.Series(result.p50, index=result.index)
        out = []
        for step_start, step_end in zip(grid.starts, grid.ends, strict=True):
            window = watts[(watts.index >= step_start) & (watts.index < step_end)]
            out.append(float(window.mean()) / 1000 if len(window) else float(watts.iloc[-1]) / 1000)
        note = f"load forecast: {method_words(result.method)}" + (
            f" ({'; '.join(result.notes)})" if result.notes else ""
        )
        assert len(out) == steps
        return out, note

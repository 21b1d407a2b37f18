"""One series laid out for forecasting: the grid, its calendar and the measured arrays.

Built once per series (a backtest builds one for the whole year) and shared by the load and PV
forecasters, so each forecast only indexes arrays. Positions past the last measurement exist on the grid
(the forecast targets) and hold NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.features import Calendar, Grid
from shems_optimizer.core.forecast.solar import Location, is_night, mean_over_steps


@dataclass(frozen=True, eq=False)
class SeriesContext:
    grid: Grid
    calendar: Calendar
    load: np.ndarray
    pv: np.ndarray | None
    pv_provider: np.ndarray | None
    temperature: np.ndarray | None
    location: Location | None
    clear_sky: np.ndarray | None
    elevation: np.ndarray | None
    night: np.ndarray | None
    provider_day_index: np.ndarray | None
    measured_steps: int

    @classmethod
    def build(
        cls,
        frame: pd.DataFrame,
        timezone: str,
        country: str | None = None,
        location: Location | None = None,
        extra_steps: int = 0,
    ) -> SeriesContext:
        """``frame``: regular UTC index with ``load_W`` and optional ``pv_W``, ``pv_forecast_W``,
        ``temperature_C``. ``extra_steps`` appends future steps for forecasts past the data."""
        base = Grid.build(pd.DatetimeIndex(frame.index), timezone)
        grid = base.extended(extra_steps)
        n = len(grid.index)

        def column(name: str) -> np.ndarray | None:
            if name not in frame.columns:
                return None
            out = np.full(n, np.nan)
            out[: len(frame)] = frame[name].to_numpy(dtype=float)
            return out

        clear = elevation = night = None
        if location is not None:
            clear = mean_over_steps(grid.index, grid.step, location, "ghi")
            elevation = mean_over_steps(grid.index, grid.step, location, "elevation")
            night = is_night(grid.index, grid.step, location)
        provider = column("pv_forecast_W")
        day_index = None
        if provider is not None and clear is not None:
            # The provider's expected share of clear sky over each local day: sunny vs cloudy forecast.
            local_days = grid.index.tz_convert(timezone).date
            provider_sum = pd.Series(np.nan_to_num(provider)).groupby(local_days).transform("sum").to_numpy()
            clear_sum = pd.Series(clear).groupby(local_days).transform("sum").to_numpy()
            day_index = provider_sum / np.maximum(clear_sum, 1.0)
        load = column("load_W")
        if load is None:
            raise ValueError("series has no load_W column")
        return cls(
            grid=grid,
            calendar=Calendar.build(grid, country),
            load=load,
            pv=column("pv_W"),
            pv_provider=provider,
            temperature=column("temperature_C"),
            location=location,
            clear_sky=clear,
            elevation=elevation,
            night=night,
            provider_day_index=day_index,
            measured_steps=len(frame),
        )

    def position(self, when: pd.Timestamp) -> int:
        """Grid position of a timestamp (must lie on the grid)."""
        pos = int(self.grid.index.get_indexer(pd.DatetimeIndex([when]))[0])
        if pos < 0:
            raise ValueError(f"{when} is not on the series grid ({self.grid.step} steps)")
        return pos
